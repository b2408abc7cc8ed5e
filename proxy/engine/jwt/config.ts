// Compiles envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication once per config: providers (keys built,
// token locations indexed, a bounded cache of verified tokens each), rules (a RouteMatch and a requirement) and the
// requirement tree. A field the engine doesn't implement, set, is a NACK naming it.
import { compileRouteMatch, type RouteMatch } from "../config/route-match.js";
import { join, onlyKnown, type Obj, type Reader } from "../config/read.js";
import { parseJwks, type Jwk } from "./jwks.js";
import { normalAudience } from "./token.js";
import { JwtCache } from "./cache.js";
import { compileLocations, type Locations } from "./locations.js";

export interface Provider {
  name: string;
  /** "": any issuer. */
  issuer: string;
  /** Normalised (normalAudience); undefined: any. */
  audiences: ReadonlySet<string> | undefined;
  keys: readonly Jwk[];
  forward: boolean;
  /** This provider's token locations (its own, else Authorization: Bearer and ?access_token). */
  locations: Locations;
  payloadHeader: string | undefined;
  padPayload: boolean;
  payloadInMetadata: string | undefined;
  headerInMetadata: string | undefined;
  spaceDelimited: ReadonlySet<string>;
  clockSkew: number;
  claimToHeaders: readonly { header: string; claim: string }[];
  clearRouteCache: boolean;
  cache: JwtCache;
}

/** A JwtRequirement, resolved: provider names to providers, requirement_map names to their requirement. */
export type Requirement =
  | { kind: "provider"; provider: Provider; audiences: ReadonlySet<string> | undefined }
  /** requires_any; allow_missing / allow_missing_or_failed among its alternatives are flags of it (Envoy's). */
  | { kind: "any"; children: Requirement[]; allowMissing: boolean; allowFailed: boolean }
  | { kind: "all"; children: Requirement[] }
  /** allow_missing / allow_missing_or_failed with no provider: any provider's token, found by its issuer. */
  | { kind: "allow"; failed: boolean };

export interface JwtAuthnConfig {
  providers: readonly Provider[];
  /** Every provider's locations, for the requirements that name none. */
  locations: Locations;
  rules: readonly { match: RouteMatch; requires: Requirement | undefined }[];
  bypassCorsPreflight: boolean;
  stripFailureResponse: boolean;
}

const PROVIDER_FIELDS = [
  "issuer",
  "audiences",
  "local_jwks",
  "forward",
  "from_headers",
  "from_params",
  "from_cookies",
  "forward_payload_header",
  "pad_forward_payload_header",
  "payload_in_metadata",
  "normalize_payload_in_metadata",
  "header_in_metadata",
  "clock_skew_seconds",
  "jwt_cache_config",
  "claim_to_headers",
  "clear_route_cache",
];
const TOP_FIELDS = ["providers", "rules", "bypass_cors_preflight", "requirement_map", "strip_failure_response"];
/** Envoy's default jwt_cache_size (JwtCacheConfig) and clock skew (jwt_verify_lib's kClockSkewInSecond). */
const DEFAULT_CACHE_SIZE = 100;
const DEFAULT_CLOCK_SKEW = 60;

function strings(r: Reader, o: Obj, key: string, path: string): string[] {
  return r
    .list(o, key, path)
    .map((v, i) => (typeof v === "string" ? v : r.fail(join(join(path, key), i), "expected a string")));
}

function jwksText(r: Reader, o: Obj, path: string): string {
  const src = r.optObj(o, "local_jwks", path);
  if (!src) {
    if (o.remote_jwks !== undefined)
      r.fail(
        join(path, "remote_jwks"),
        "not supported by this proxy (the control plane inlines the keys as local_jwks)",
      );
    return r.fail(join(path, "local_jwks"), "is required");
  }
  const sp = join(path, "local_jwks");
  onlyKnown(r, src, sp, ["inline_string", "inline_bytes"], "local_jwks");
  const text = r.str(src, "inline_string", sp);
  const bytes = r.str(src, "inline_bytes", sp);
  if (text !== undefined && bytes !== undefined) r.fail(sp, "one of inline_string and inline_bytes, not both");
  if (text !== undefined) return text;
  return bytes === undefined
    ? r.fail(sp, "inline_string or inline_bytes is required")
    : Buffer.from(bytes, "base64").toString("utf8");
}

function provider(r: Reader, name: string, o: Obj, path: string): Provider {
  onlyKnown(r, o, path, PROVIDER_FIELDS, "JwtProvider");
  const audiences = strings(r, o, "audiences", path).map(normalAudience);
  const headers = r.list(o, "from_headers", path).map((h, i) => {
    const hp = join(join(path, "from_headers"), i);
    const ho = r.obj(h, hp);
    onlyKnown(r, ho, hp, ["name", "value_prefix"], "JwtHeader");
    return {
      name: r.headerName(ho.name, join(hp, "name")).toLowerCase(),
      prefix: r.headerValue(ho, "value_prefix", hp) ?? "",
    };
  });
  const payloadHeader = o.forward_payload_header
    ? r.headerName(o.forward_payload_header, join(path, "forward_payload_header"))
    : undefined;
  const normalize = r.optObj(o, "normalize_payload_in_metadata", path);
  const np = join(path, "normalize_payload_in_metadata");
  if (normalize) onlyKnown(r, normalize, np, ["space_delimited_claims"], "NormalizePayload");
  const cacheConfig = r.optObj(o, "jwt_cache_config", path);
  if (cacheConfig) onlyKnown(r, cacheConfig, join(path, "jwt_cache_config"), ["jwt_cache_size"], "JwtCacheConfig");
  const cacheSize =
    (cacheConfig && r.num(cacheConfig, "jwt_cache_size", join(path, "jwt_cache_config"))) || DEFAULT_CACHE_SIZE;
  const claimToHeaders = r.list(o, "claim_to_headers", path).map((c, i) => {
    const cp = join(join(path, "claim_to_headers"), i);
    const co = r.obj(c, cp);
    onlyKnown(r, co, cp, ["header_name", "claim_name"], "JwtClaimToHeader");
    return {
      header: r.headerName(co.header_name, join(cp, "header_name")).toLowerCase(),
      claim: r.reqStr(co, "claim_name", cp),
    };
  });
  const issuer = r.str(o, "issuer", path) ?? "";
  const p = {
    name,
    issuer,
    audiences: audiences.length ? new Set(audiences) : undefined,
    // A JWKS that doesn't parse leaves the provider without keys: its tokens fail, as Envoy's (not a NACK).
    keys: parseJwks(jwksText(r, o, path)),
    forward: r.bool(o, "forward", path) ?? false,
    payloadHeader: payloadHeader?.toLowerCase(),
    padPayload: r.bool(o, "pad_forward_payload_header", path) ?? false,
    payloadInMetadata: r.str(o, "payload_in_metadata", path) || undefined,
    headerInMetadata: r.str(o, "header_in_metadata", path) || undefined,
    spaceDelimited: new Set(normalize ? strings(r, normalize, "space_delimited_claims", np) : []),
    clockSkew: r.num(o, "clock_skew_seconds", path) || DEFAULT_CLOCK_SKEW,
    claimToHeaders,
    clearRouteCache: r.bool(o, "clear_route_cache", path) ?? false,
    cache: new JwtCache(cacheSize),
  };
  const from = { headers, params: strings(r, o, "from_params", path), cookies: strings(r, o, "from_cookies", path) };
  return { ...p, locations: compileLocations([{ ...p, from }]) };
}

interface Scope {
  providers: ReadonlyMap<string, Provider>;
  map: Obj;
  mapPath: string;
  /** requirement_map names being resolved: a loop is refused. */
  resolving: Set<string>;
}

function requirement(r: Reader, raw: unknown, path: string, s: Scope): Requirement {
  const o = r.obj(raw, path);
  const keys = Object.keys(o).filter((k) => o[k] !== undefined && o[k] !== null);
  if (keys.length !== 1)
    r.fail(
      path,
      "exactly one of provider_name, provider_and_audiences, requires_any, requires_all, allow_missing, allow_missing_or_failed",
    );
  const key = keys[0] as string;
  const kp = join(path, key);
  const named = (name: string, np: string): Provider =>
    s.providers.get(name) ?? r.fail(np, `provider "${name}" is not configured`);
  switch (key) {
    case "provider_name":
      return {
        kind: "provider",
        provider: named(r.reqStr(o, key, path), kp),
        audiences: undefined,
      };
    case "provider_and_audiences": {
      const pa = r.obj(o[key], kp);
      onlyKnown(r, pa, kp, ["provider_name", "audiences"], "ProviderWithAudiences");
      const auds = strings(r, pa, "audiences", kp).map(normalAudience);
      const provider = named(r.reqStr(pa, "provider_name", kp), join(kp, "provider_name"));
      return {
        kind: "provider",
        provider,
        audiences: auds.length ? new Set(auds) : undefined,
      };
    }
    case "requires_any":
    case "requires_all": {
      const list = r.obj(o[key], kp);
      onlyKnown(r, list, kp, ["requirements"], "JwtRequirement list");
      const items = r
        .list(list, "requirements", kp)
        .map((x, i) => ({ x: r.obj(x, join(join(kp, "requirements"), i)), i }));
      if (items.length < 2) r.fail(join(kp, "requirements"), "at least 2 are required");
      if (key === "requires_all") {
        const children = items.map(({ x, i }) => requirement(r, x, join(join(kp, "requirements"), i), s));
        return { kind: "all", children };
      }
      // Envoy's AnyVerifier: allow_missing / allow_missing_or_failed are not alternatives but how it ends.
      const missing = items.some(({ x }) => x.allow_missing != null);
      const failed = items.some(({ x }) => x.allow_missing_or_failed != null);
      const rest = items.filter(({ x }) => x.allow_missing == null && x.allow_missing_or_failed == null);
      if (!rest.length) return { kind: "allow", failed };
      const children = rest.map(({ x, i }) => requirement(r, x, join(join(kp, "requirements"), i), s));
      return { kind: "any", children, allowMissing: missing, allowFailed: failed };
    }
    case "allow_missing":
      return { kind: "allow", failed: false };
    case "allow_missing_or_failed":
      return { kind: "allow", failed: true };
    default:
      return r.fail(kp, "not supported");
  }
}

function named(r: Reader, name: string, path: string, s: Scope): Requirement {
  const raw = s.map[name];
  if (raw === undefined || !Object.hasOwn(s.map, name))
    return r.fail(path, `requirement "${name}" is not in requirement_map`);
  if (s.resolving.has(name)) return r.fail(path, `requirement "${name}" refers to itself`);
  s.resolving.add(name);
  const req = requirement(r, raw, join(s.mapPath, name), s);
  s.resolving.delete(name);
  return req;
}

/** envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication */
export function compileJwtAuthn(r: Reader, o: Obj, path: string): JwtAuthnConfig {
  onlyKnown(r, o, path, TOP_FIELDS, "JwtAuthentication");
  const pp = join(path, "providers");
  const providers = new Map(
    Object.entries(r.optObj(o, "providers", path) ?? {}).map(([name, raw]) => {
      const p = join(pp, name);
      return [name, provider(r, name, r.obj(raw, p), p)] as const;
    }),
  );
  const scope: Scope = {
    providers,
    map: r.optObj(o, "requirement_map", path) ?? {},
    mapPath: join(path, "requirement_map"),
    resolving: new Set(),
  };
  const rules = r.list(o, "rules", path).map((raw, i) => {
    const rp = join(join(path, "rules"), i);
    const ro = r.obj(raw, rp);
    onlyKnown(r, ro, rp, ["match", "requires", "requirement_name"], "RequirementRule");
    const m = r.optObj(ro, "match", rp) ?? r.fail(join(rp, "match"), "is required");
    const name = r.str(ro, "requirement_name", rp);
    const requires =
      ro.requires != null
        ? requirement(r, ro.requires, join(rp, "requires"), scope)
        : name
          ? named(r, name, join(rp, "requirement_name"), scope)
          : undefined;
    return { match: compileRouteMatch(r, m, join(rp, "match")), requires };
  });
  const all = [...providers.values()];
  return {
    providers: all,
    locations: compileLocations(all.map((p) => ({ issuer: p.issuer, from: p.locations.from }))),
    rules,
    bypassCorsPreflight: r.bool(o, "bypass_cors_preflight", path) ?? false,
    stripFailureResponse: r.bool(o, "strip_failure_response", path) ?? false,
  };
}
