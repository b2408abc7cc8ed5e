// envoy.type.matcher.v3.MetadataMatcher over a request's dynamic metadata (RequestView.metadata: what filters before
// RBAC found, jwt_authn's token payload among them), with Envoy's ValueMatcher: null_match, double_match,
// string_match, bool_match, present_match, list_match (one_of), or_match. A value the path doesn't reach is
// Envoy's empty Value: only null_match and an inverted matcher take it. Compiled once per config.
import type { RequestView } from "../config/types.js";
import { stringMatcher } from "../config/matchers.js";
import { join, type Obj, type Reader } from "../config/read.js";

type ValueTest = (v: unknown) => boolean;

function only(r: Reader, o: Obj, path: string, known: readonly string[]): void {
  for (const k of Object.keys(o)) if (!known.includes(k)) r.fail(join(path, k), "not supported");
}

/** An own property: a path segment named `__proto__` or `constructor` reaches only what the payload says. */
const at = (o: unknown, key: string): unknown =>
  o !== null && typeof o === "object" && !Array.isArray(o) && Object.hasOwn(o, key)
    ? (o as Record<string, unknown>)[key]
    : undefined;

function doubleMatcher(r: Reader, o: Obj, path: string): ValueTest {
  only(r, o, path, ["exact", "range"]);
  const exact = r.num(o, "exact", path);
  if (exact !== undefined) return (v) => v === exact;
  const range = r.optObj(o, "range", path) ?? r.fail(path, "exact or range is required");
  const rp = join(path, "range");
  only(r, range, rp, ["start", "end"]);
  const start = r.num(range, "start", rp) ?? -Infinity;
  const end = r.num(range, "end", rp) ?? Infinity;
  return (v) => typeof v === "number" && v >= start && v < end;
}

export function valueMatcher(r: Reader, raw: unknown, path: string): ValueTest {
  const o = r.obj(raw, path);
  const keys = Object.keys(o).filter((k) => o[k] !== undefined && o[k] !== null);
  if (keys.length !== 1) r.fail(path, "exactly one match pattern is required");
  const key = keys[0] as string;
  const p = join(path, key);
  switch (key) {
    case "null_match":
      return (v) => v === undefined || v === null;
    case "double_match":
      return doubleMatcher(r, r.obj(o[key], p), p);
    case "string_match": {
      const m = stringMatcher(r, r.obj(o[key], p), p);
      return (v) => typeof v === "string" && m(v);
    }
    case "bool_match": {
      const b = r.bool(o, key, path);
      return (v) => v === b;
    }
    case "present_match": {
      const want = r.bool(o, key, path) ?? false;
      return (v) => want && v !== undefined;
    }
    case "list_match": {
      const lm = r.obj(o[key], p);
      only(r, lm, p, ["one_of"]);
      const one = valueMatcher(r, lm.one_of ?? r.fail(join(p, "one_of"), "is required"), join(p, "one_of"));
      return (v) => Array.isArray(v) && v.some(one);
    }
    case "or_match": {
      const om = r.obj(o[key], p);
      only(r, om, p, ["value_matchers"]);
      const list = r.list(om, "value_matchers", p);
      if (list.length < 2) r.fail(join(p, "value_matchers"), "at least 2 are required");
      const tests = list.map((x, i) => valueMatcher(r, x, join(join(p, "value_matchers"), i)));
      return (v) => tests.some((t) => t(v));
    }
    default:
      return r.fail(p, "not supported");
  }
}

/** envoy.type.matcher.v3.MetadataMatcher: the value at `path` in the `filter`'s metadata. */
export function metadataMatcher(r: Reader, o: Obj, path: string): (view: RequestView | undefined) => boolean {
  only(r, o, path, ["filter", "path", "value", "invert"]);
  const filter = r.reqStr(o, "filter", path);
  const segments = r.list(o, "path", path).map((s, i) => {
    const sp = join(join(path, "path"), i);
    const so = r.obj(s, sp);
    only(r, so, sp, ["key"]);
    return r.reqStr(so, "key", sp);
  });
  if (!segments.length) r.fail(join(path, "path"), "at least one segment is required");
  const test = valueMatcher(r, o.value ?? r.fail(join(path, "value"), "is required"), join(path, "value"));
  const invert = r.bool(o, "invert", path) ?? false;
  return (view) => {
    let v: unknown = view?.metadata?.get(filter);
    for (const s of segments) v = at(v, s);
    return test(v) !== invert;
  };
}
