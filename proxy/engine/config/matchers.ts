// Compiles Envoy's StringMatcher, HeaderMatcher and QueryParameterMatcher into plain tests.
import type { HeaderMatcher, ValueTest } from "./types.js";
import { fromWire, join, wireString, type Obj, type Reader } from "./read.js";

/**
 * What a matcher is compared with. "text": a JS string (a certificate's SAN, an SNI). "wire": header text as the codecs
 * hold it, one character per byte: literals are compared as their UTF-8 bytes, a regex sees the value decoded as UTF-8
 * (as Envoy's RE2 does), and ignore_case folds ASCII only (Envoy's absl::EqualsIgnoreCase). Without this, a non-ASCII
 * matcher never matched a client's UTF-8 bytes.
 */
export type MatchOn = "text" | "wire";

const asciiLower = (s: string) => s.replace(/[A-Z]+/g, (m) => m.toLowerCase());

/** envoy.type.matcher.v3.StringMatcher */
export function stringMatcher(r: Reader, m: Obj, path: string, on: MatchOn = "text"): (v: string) => boolean {
  const ignoreCase = r.bool(m, "ignore_case", path) ?? false;
  const wire = on === "wire";
  const lower = wire ? asciiLower : (s: string) => s.toLowerCase();
  const norm = ignoreCase ? lower : (s: string) => s;
  const lit = (key: string) => {
    const v = r.str(m, key, path);
    return v === undefined ? undefined : norm(wire ? wireString(v) : v);
  };
  const exact = lit("exact");
  if (exact !== undefined) return (v) => norm(v) === exact;
  const prefix = lit("prefix");
  if (prefix !== undefined) return (v) => norm(v).startsWith(prefix);
  const suffix = lit("suffix");
  if (suffix !== undefined) return (v) => norm(v).endsWith(suffix);
  const contains = lit("contains");
  if (contains !== undefined) return (v) => norm(v).includes(contains);
  const safe = r.optObj(m, "safe_regex", path);
  if (safe) {
    const re = r.regex(safe.regex, join(join(path, "safe_regex"), "regex"), ignoreCase);
    return wire ? (v) => re.full(fromWire(v)) : (v) => re.full(v);
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
  const lit = (key: string) => wireString(r.str(m, key, path) ?? "");
  if (exact !== undefined) {
    const e = wireString(exact);
    test = (v) => v === e;
  } else if (sm) test = stringMatcher(r, sm, join(path, "string_match"), "wire");
  else if (safe) {
    const re = r.regex(safe.regex, join(join(path, "safe_regex_match"), "regex"));
    test = (v) => re.full(fromWire(v));
  } else if (m.prefix_match !== undefined) {
    const p = lit("prefix_match");
    test = (v) => v.startsWith(p);
  } else if (m.suffix_match !== undefined) {
    const s = lit("suffix_match");
    test = (v) => v.endsWith(s);
  } else if (m.contains_match !== undefined) {
    const c = lit("contains_match");
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
    const t = stringMatcher(r, sm, join(path, "string_match"), "wire");
    return { name, test: (v) => v !== undefined && t(v) };
  }
  return { name, test: (v) => v !== undefined };
}
