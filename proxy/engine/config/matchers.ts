// Compiles Envoy's StringMatcher, HeaderMatcher and QueryParameterMatcher into plain tests.
import type { HeaderMatcher, ValueTest } from "./types.js";
import { join, type Obj, type Reader } from "./read.js";

/** envoy.type.matcher.v3.StringMatcher */
export function stringMatcher(r: Reader, m: Obj, path: string): (v: string) => boolean {
  const ignoreCase = r.bool(m, "ignore_case", path) ?? false;
  const norm = ignoreCase ? (s: string) => s.toLowerCase() : (s: string) => s;
  const exact = r.str(m, "exact", path);
  if (exact !== undefined) {
    const e = norm(exact);
    return (v) => norm(v) === e;
  }
  const prefix = r.str(m, "prefix", path);
  if (prefix !== undefined) {
    const p = norm(prefix);
    return (v) => norm(v).startsWith(p);
  }
  const suffix = r.str(m, "suffix", path);
  if (suffix !== undefined) {
    const s = norm(suffix);
    return (v) => norm(v).endsWith(s);
  }
  const contains = r.str(m, "contains", path);
  if (contains !== undefined) {
    const c = norm(contains);
    return (v) => norm(v).includes(c);
  }
  const safe = r.optObj(m, "safe_regex", path);
  if (safe) {
    const re = r.regex(safe.regex, join(join(path, "safe_regex"), "regex"), ignoreCase);
    return (v) => re.full(v);
  }
  return r.fail(path, "no match pattern (exact, prefix, suffix, contains or safe_regex)");
}

/** envoy.config.route.v3.HeaderMatcher */
export function headerMatcher(r: Reader, m: Obj, path: string): HeaderMatcher {
  const name = r.reqStr(m, "name", path).toLowerCase();
  const invert = r.bool(m, "invert_match", path) ?? false;
  const missingAsEmpty = r.bool(m, "treat_missing_header_as_empty", path) ?? false;
  let test: (v: string) => boolean;
  let presentOnly = false;
  const exact = r.str(m, "exact_match", path);
  const sm = r.optObj(m, "string_match", path);
  const safe = r.optObj(m, "safe_regex_match", path);
  const range = r.optObj(m, "range_match", path);
  if (exact !== undefined) test = (v) => v === exact;
  else if (sm) test = stringMatcher(r, sm, join(path, "string_match"));
  else if (safe) {
    const re = r.regex(safe.regex, join(join(path, "safe_regex_match"), "regex"));
    test = (v) => re.full(v);
  } else if (m.prefix_match !== undefined) {
    const p = r.str(m, "prefix_match", path) ?? "";
    test = (v) => v.startsWith(p);
  } else if (m.suffix_match !== undefined) {
    const s = r.str(m, "suffix_match", path) ?? "";
    test = (v) => v.endsWith(s);
  } else if (m.contains_match !== undefined) {
    const c = r.str(m, "contains_match", path) ?? "";
    test = (v) => v.includes(c);
  } else if (range) {
    const start = r.num(range, "start", join(path, "range_match")) ?? 0;
    const end = r.num(range, "end", join(path, "range_match")) ?? 0;
    test = (v) => /^-?\d+$/.test(v) && Number(v) >= start && Number(v) < end;
  } else {
    // present_match, or no matcher at all: the header must be present (Envoy's default).
    const present = r.bool(m, "present_match", path) ?? true;
    presentOnly = true;
    test = present ? () => true : () => false;
    if (!present) {
      const t: ValueTest = (v) => (v === undefined) !== invert;
      return { name, test: t };
    }
  }
  const t: ValueTest = (v) => {
    if (v === undefined) {
      if (!missingAsEmpty || presentOnly) return invert;
      v = "";
    }
    return test(v) !== invert;
  };
  return { name, test: t };
}

/** envoy.config.route.v3.QueryParameterMatcher */
export function queryMatcher(r: Reader, m: Obj, path: string): { name: string; test: ValueTest } {
  const name = r.reqStr(m, "name", path);
  const sm = r.optObj(m, "string_match", path);
  if (sm) {
    const t = stringMatcher(r, sm, join(path, "string_match"));
    return { name, test: (v) => v !== undefined && t(v) };
  }
  return { name, test: (v) => v !== undefined };
}
