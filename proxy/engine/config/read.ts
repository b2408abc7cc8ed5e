// Helpers for reading proto3-JSON (snake_case) resources with a field path in every error.
import { compileRe2, compileSubstitution, type Re2, type Substitution } from "../../xds/regex.js";
import { headerNameError, headerValueError } from "../../xds/header-field.js";
export type Obj = Record<string, unknown>;

const NON_ASCII = /[\u0080-\uffff]/;

/**
 * A config string as the codecs hold header text: one character per byte (latin1), here its UTF-8 bytes, which is
 * what Envoy sends. Written as latin1, a character above U+00FF would keep its low byte only: U+010A would become LF
 * and U+010D CR, and inject a header or a request past the CR/LF/NUL check. ASCII comes back as it is.
 */
export function wireString(v: string): string {
  return NON_ASCII.test(v) ? Buffer.from(v, "utf8").toString("latin1") : v;
}

/** Header text (one character per byte) read back as the UTF-8 it carries, for matchers that compare characters. */
export function fromWire(v: string): string {
  return NON_ASCII.test(v) ? Buffer.from(v, "latin1").toString("utf8") : v;
}

/** The decode boundary's one narrowing: a JSON object (not null, not a list). */
export function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** A resource's name for its errors, before it is read: `#index` when it has none. */
export function nameOf(raw: unknown, key: string, index: number): string {
  const v = isObj(raw) ? raw[key] : undefined;
  return typeof v === "string" ? v : `#${index}`;
}

function isOneOf<T extends string>(names: readonly T[], v: unknown): v is T {
  return typeof v === "string" && names.some((n) => n === v);
}

export class ConfigError extends Error {
  constructor(
    readonly kind: string,
    readonly resource: string,
    readonly path: string,
    readonly detail: string,
  ) {
    super(`${kind} "${resource}": ${path ? `${path}: ` : ""}${detail}`);
    this.name = "ConfigError";
  }
}

/** The resource being read: its kind and name, so every error can name both. */
export class Reader {
  constructor(
    readonly kind: string,
    readonly resource: string,
  ) {}

  fail(path: string, detail: string): never {
    throw new ConfigError(this.kind, this.resource, path, detail);
  }

  obj(v: unknown, path: string): Obj {
    return isObj(v) ? v : this.fail(path, "expected an object");
  }

  optObj(o: Obj, key: string, path: string): Obj | undefined {
    const v = o[key];
    return v === undefined || v === null ? undefined : this.obj(v, join(path, key));
  }

  list(o: Obj, key: string, path: string): unknown[] {
    const v = o[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) this.fail(join(path, key), "expected a list");
    return v;
  }

  str(o: Obj, key: string, path: string): string | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") this.fail(join(path, key), "expected a string");
    return v;
  }

  reqStr(o: Obj, key: string, path: string): string {
    const v = this.str(o, key, path);
    if (v === undefined || v === "") this.fail(join(path, key), "is required");
    return v;
  }

  /**
   * A string that ends up in a header (or the request line): CR, LF and NUL are refused, as Envoy's
   * HTTP_HEADER_VALUE rule does, since they would inject a header or a request. It comes back as wireString() has it.
   */
  headerValue(o: Obj, key: string, path: string): string | undefined {
    const v = this.str(o, key, path);
    if (v === undefined) return undefined;
    const err = headerValueError(v);
    return err ? this.fail(join(path, key), err) : wireString(v);
  }

  /** A header name to add or remove: a token (Envoy's HTTP_HEADER_NAME). */
  headerName(v: unknown, path: string): string {
    if (typeof v !== "string" || v === "") this.fail(path, "expected a header name");
    const err = headerNameError(v);
    return err ? this.fail(path, err) : v;
  }

  num(o: Obj, key: string, path: string): number | undefined {
    let v = o[key];
    if (v === undefined || v === null) return undefined;
    if (isObj(v) && "value" in v) v = v.value; // wrapper as {value}
    if (typeof v === "string" && /^-?\d+(\.\d+)?$/.test(v)) v = Number(v); // 64-bit ints arrive as strings
    if (typeof v !== "number" || !Number.isFinite(v)) this.fail(join(path, key), "expected a number");
    return v;
  }

  bool(o: Obj, key: string, path: string): boolean | undefined {
    let v = o[key];
    if (v === undefined || v === null) return undefined;
    if (isObj(v) && "value" in v) v = v.value;
    if (typeof v !== "boolean") this.fail(join(path, key), "expected a boolean");
    return v;
  }

  /** A google.protobuf.Duration: "1.5s" or {seconds, nanos}. Returns milliseconds. */
  duration(o: Obj, key: string, path: string): number | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    const ms = parseDuration(v);
    if (ms === undefined) this.fail(join(path, key), `invalid duration ${JSON.stringify(v)}`);
    return ms;
  }

  enumName<T extends string>(o: Obj, key: string, path: string, names: readonly T[], dflt: T): T {
    const v = o[key];
    if (v === undefined || v === null) return dflt;
    const byNumber = typeof v === "number" ? names[v] : undefined;
    if (byNumber !== undefined) return byNumber;
    if (isOneOf(names, v)) return v;
    return this.fail(join(path, key), `unknown value ${JSON.stringify(v)} (expected one of ${names.join(", ")})`);
  }

  /** A RE2 pattern, compiled by the linear-time engine discovery validates with (xds/regex.ts). */
  regex(source: unknown, path: string, ignoreCase = false): Re2 {
    if (typeof source !== "string") this.fail(path, "expected a regex string");
    const re = compileRe2(source, ignoreCase);
    return typeof re === "string" ? this.fail(path, `invalid regex: ${re}`) : re;
  }

  /** A regex_rewrite substitution for `re` (`\1`..`\9` as Envoy's, RE2's rewrite strings). */
  substitution(source: string, re: Re2, path: string): Substitution {
    const s = compileSubstitution(source, re.groups);
    return typeof s === "string" ? this.fail(path, s) : s;
  }
}

export function join(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

export function parseDuration(v: unknown): number | undefined {
  if (typeof v === "string") {
    const m = /^(-?\d+(?:\.\d+)?)s$/.exec(v.trim());
    return m ? Number(m[1]) * 1000 : undefined;
  }
  if (isObj(v)) {
    const s = Number(v.seconds ?? 0);
    const n = Number(v.nanos ?? 0);
    return Number.isFinite(s) && Number.isFinite(n) ? s * 1000 + n / 1e6 : undefined;
  }
  return undefined;
}

/** envoy.type.v3.FractionalPercent → a probability in [0, 1]. */
export function fraction(r: Reader, o: Obj | undefined, path: string): number {
  if (!o) return 0;
  const n = r.num(o, "numerator", path) ?? 0;
  const d = r.enumName(o, "denominator", path, ["HUNDRED", "TEN_THOUSAND", "MILLION"] as const, "HUNDRED");
  const div = d === "HUNDRED" ? 100 : d === "TEN_THOUSAND" ? 10_000 : 1_000_000;
  return Math.min(1, Math.max(0, n / div));
}

/** The `@type` of a google.protobuf.Any, without its `type.googleapis.com/` prefix. */
export function anyType(o: Obj | undefined): string | undefined {
  const t = o?.["@type"];
  if (typeof t !== "string") return undefined;
  const slash = t.lastIndexOf("/");
  return slash >= 0 ? t.slice(slash + 1) : t;
}

/**
 * A ConfigSource (rds, eds_cluster_config): this proxy takes every resource over its one ADS stream, so `ads` or
 * `self`; a path, a gRPC service of its own or another API are refused, never replaced by ADS unsaid.
 */
export function adsSource(r: Reader, cs: Obj | undefined, path: string): void {
  if (!cs) return;
  onlyKnown(r, cs, path, ["ads", "self", "resource_api_version", "initial_fetch_timeout"], "ConfigSource");
  // This proxy waits for the resource however long it takes, as initial_fetch_timeout 0s (Istio's) asks.
  if ((r.duration(cs, "initial_fetch_timeout", path) ?? 0) > 0)
    r.fail(join(path, "initial_fetch_timeout"), "only 0s (wait for the resource) is supported by this proxy");
}

/** Fails on any key of `o` outside `known`, naming the first one. */
export function onlyKnown(r: Reader, o: Obj, path: string, known: readonly string[], what: string): void {
  for (const k of Object.keys(o)) {
    if (k === "@type" || known.includes(k) || isDefault(o[k])) continue;
    r.fail(
      join(path, k),
      `not supported by this proxy (${known.length ? `${what} supports ${known.join(", ")}` : `${what}: none of its fields are`})`,
    );
  }
}

/** Unset as protobuf sees it: absent, a scalar at its default (a decoded message may spell out `priority: 0`), or an
 * empty list. A message is set even when empty (`use_downstream_protocol_config: {}` chooses a oneof's branch). */
function isDefault(v: unknown): boolean {
  return v === undefined || v === null || v === 0 || v === false || v === "" || (Array.isArray(v) && v.length === 0);
}
