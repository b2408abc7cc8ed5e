// One request against a JwtRequirement (Envoy's verifier.cc and authenticator.cc): each token found at the
// requirement's locations is parsed (or found in the provider's cache), its issuer, time window and audiences checked,
// then its signature; a good one's payload goes to the headers and metadata the provider names, and the token is
// removed unless `forward`. Every token a request carries must verify, unless allow_missing_or_failed.
import type { FilterCallbacks } from "../filters/api.js";
import type { Obj } from "../config/read.js";
import type { JwtAuthnConfig, Provider, Requirement } from "./config.js";
import { verifySignature } from "./jwks.js";
import { extractTokens, issuerAllowed, withoutParam, type FoundToken } from "./locations.js";
import { audiencesAllowed, checkTime, own, parseJwt, type Jwt } from "./token.js";
import type { JwtStatus } from "./status.js";

export interface Verification {
  readonly s: FilterCallbacks;
  readonly config: JwtAuthnConfig;
  readonly now: number;
  /** Dynamic metadata gathered from good tokens, set when the request passes. */
  metadata: Obj | undefined;
  clearRouteCache: boolean;
  count(stat: "jwt_cache_hit" | "jwt_cache_miss"): void;
}

/** The provider a token of this issuer belongs to, when the requirement names none: the first with that issuer, else
 * the first with none. */
function byIssuer(config: JwtAuthnConfig, iss: string): Provider | undefined {
  return config.providers.find((p) => p.issuer === iss) ?? config.providers.find((p) => p.issuer === "");
}

/** A claim by its name, `a.b.c` walking nested objects (Envoy's StructUtils). */
function claim(payload: Obj, name: string): unknown {
  let v: unknown = payload;
  for (const part of name.split(".")) {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
    v = own(v as Obj, part);
  }
  return v;
}

/** A claim as claim_to_headers writes it: strings, numbers (integers without a fraction), booleans; nothing else. */
function claimText(v: unknown): string | undefined {
  if (typeof v === "string") return v || undefined;
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number" && Number.isFinite(v)) return Number.isInteger(v) && v >= 0 ? String(v) : v.toFixed(6);
  return undefined;
}

function normalized(p: Provider, payload: Obj): Obj {
  if (!p.spaceDelimited.size) return payload;
  const out: Obj = { ...payload };
  for (const c of p.spaceDelimited) {
    const v = own(payload, c);
    if (typeof v === "string") out[c] = v.split(" ").filter((x) => x);
  }
  return out;
}

function removeToken(v: Verification, t: FoundToken): void {
  if (t.where === "header") v.s.setRequestHeader(t.name, undefined);
  else if (t.where === "param") v.s.setRequestQuery(withoutParam(v.s.view.query, t.name));
  // a cookie stays, as in Envoy
}

/** A good token's effects (Envoy's handleGoodJwt). */
function accept(v: Verification, p: Provider, t: FoundToken, jwt: Jwt): void {
  if (p.payloadHeader) {
    const b64 = jwt.payloadB64;
    v.s.setRequestHeader(p.payloadHeader, p.padPayload ? b64.padEnd(Math.ceil(b64.length / 4) * 4, "=") : b64);
  }
  for (const c of p.claimToHeaders) {
    const text = claimText(claim(jwt.payload, c.claim));
    if (text !== undefined) v.s.setRequestHeader(c.header, text);
  }
  if (!p.forward) removeToken(v, t);
  if (p.headerInMetadata) (v.metadata ??= {})[p.headerInMetadata] = jwt.header;
  if (p.payloadInMetadata) (v.metadata ??= {})[p.payloadInMetadata] = normalized(p, jwt.payload);
  if (p.clearRouteCache) v.clearRouteCache = true;
}

function verifyToken(
  v: Verification,
  t: FoundToken,
  fixed: Provider | undefined,
  auds: ReadonlySet<string> | undefined,
): JwtStatus {
  let jwt = fixed?.cache.get(t.value);
  const hit = jwt !== undefined;
  if (fixed) v.count(hit ? "jwt_cache_hit" : "jwt_cache_miss");
  if (!jwt) {
    const parsed = parseJwt(t.value);
    if (typeof parsed === "string") return parsed;
    jwt = parsed;
  }
  if (!issuerAllowed(t, jwt.iss)) return "JwtUnknownIssuer";
  const p = fixed ?? byIssuer(v.config, jwt.iss);
  if (!p) return "JwtUnknownIssuer";
  const time = checkTime(jwt, v.now, p.clockSkew);
  if (time !== "Ok") return time;
  if (!audiencesAllowed(auds ?? p.audiences, jwt)) return "JwtAudienceNotAllowed";
  if (!hit) {
    const sig = verifySignature(p.keys, jwt.alg, jwt.kid, jwt.signed, jwt.signature);
    if (sig !== "Ok") return sig;
    fixed?.cache.set(t.value, jwt);
  }
  accept(v, p, t, jwt);
  return "Ok";
}

/** The request headers a provider writes: a client's own are removed first, so they only ever come from a good token. */
function sanitize(v: Verification, providers: readonly Provider[]): void {
  for (const p of providers) {
    if (p.payloadHeader) v.s.setRequestHeader(p.payloadHeader, undefined);
    for (const c of p.claimToHeaders) v.s.setRequestHeader(c.header, undefined);
  }
}

function tokens(v: Verification, req: Requirement & { kind: "provider" | "allow" }): JwtStatus {
  const fixed = req.kind === "provider" ? req.provider : undefined;
  sanitize(v, fixed ? [fixed] : v.config.providers);
  const found = extractTokens(fixed ? fixed.locations : v.config.locations, v.s.view);
  const allowFailed = req.kind === "allow" && req.failed;
  if (!found.length) return req.kind === "allow" ? "Ok" : "JwtMissed";
  for (const t of found) {
    const status = verifyToken(v, t, fixed, req.kind === "provider" ? req.audiences : undefined);
    if (status !== "Ok" && !allowFailed) return status;
  }
  return "Ok";
}

/** The requirement's verdict. requires_any: the first that passes, else (Envoy's aggregation) a failure other than a
 * missing token or an unknown issuer, else an unknown issuer, else JwtMissed; then allow_missing_or_failed makes it Ok,
 * and allow_missing a JwtMissed. requires_all: the first failure. */
export function verifyRequirement(v: Verification, req: Requirement): JwtStatus {
  if (req.kind === "provider" || req.kind === "allow") return tokens(v, req);
  if (req.kind === "all") {
    for (const c of req.children) {
      const status = verifyRequirement(v, c);
      if (status !== "Ok") return status;
    }
    return "Ok";
  }
  let final: JwtStatus = "JwtMissed";
  for (const c of req.children) {
    const status = verifyRequirement(v, c);
    if (status === "Ok") return "Ok";
    if ((status !== "JwtMissed" && status !== "JwtUnknownIssuer") || final === "JwtMissed") final = status;
  }
  if (req.allowFailed || (req.allowMissing && final === "JwtMissed")) return "Ok";
  return final;
}
