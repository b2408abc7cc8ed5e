// Parses a JWT as jwt_verify_lib's Jwt::parseFromString does, with its statuses, and checks its time window and
// audiences (verifyTimeConstraint, CheckAudience). Everything that can fail on hostile input returns a status: a
// token never throws. Signatures are jwks.ts's.
import { isObj, type Obj } from "../config/read.js";
import { KNOWN_ALGS } from "./jwks.js";
import type { JwtStatus } from "./status.js";

export interface Jwt {
  alg: string;
  kid: string;
  iss: string;
  aud: string[];
  /** Seconds since the epoch; 0 when absent. */
  exp: number;
  nbf: number;
  header: Obj;
  payload: Obj;
  /** The payload as it came (base64url), for forward_payload_header. */
  payloadB64: string;
  /** What the signature signs: `header.payload`. */
  signed: Buffer;
  signature: Buffer;
}

const B64URL = /^[A-Za-z0-9_-]*={0,2}$/;

function b64(part: string): Buffer | undefined {
  if (!B64URL.test(part)) return undefined;
  const bare = part.replace(/=+$/, "");
  if (bare.length % 4 === 1) return undefined;
  return Buffer.from(bare, "base64url");
}

function json(buf: Buffer): Obj | undefined {
  try {
    const v: unknown = JSON.parse(buf.toString("utf8"));
    return isObj(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** An own property (never the prototype's: a claim named `__proto__` or `constructor` is only what the token says). */
export function own(o: Obj, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

/** A NumericDate claim: 0 when absent, else a non-negative integer, or the status naming what is wrong. */
function numericDate(payload: Obj, key: "exp" | "nbf" | "iat"): number | JwtStatus {
  const v = own(payload, key);
  if (v === undefined) return 0;
  const name = key === "exp" ? "Exp" : key === "nbf" ? "Nbf" : "Iat";
  if (typeof v !== "number") return `JwtPayloadParseError${name}NotInteger`;
  if (!Number.isFinite(v) || v < 0 || v > Number.MAX_SAFE_INTEGER) return `JwtPayloadParseError${name}OutOfRange`;
  return Math.floor(v);
}

export function parseJwt(token: string): Jwt | JwtStatus {
  const parts = token.split(".");
  if (parts.length !== 3) return "JwtBadFormat";
  const [h64, p64, s64] = parts as [string, string, string];
  const hb = b64(h64);
  if (!hb) return "JwtHeaderParseErrorBadBase64";
  const header = json(hb);
  if (!header) return "JwtHeaderParseErrorBadJson";
  const alg = own(header, "alg");
  if (typeof alg !== "string") return "JwtHeaderBadAlg";
  if (!KNOWN_ALGS.has(alg)) return "JwtHeaderNotImplementedAlg";
  const kid = own(header, "kid");
  if (kid !== undefined && typeof kid !== "string") return "JwtHeaderBadKid";
  const pb = b64(p64);
  if (!pb) return "JwtPayloadParseErrorBadBase64";
  const payload = json(pb);
  if (!payload) return "JwtPayloadParseErrorBadJson";
  const iss = own(payload, "iss");
  if (iss !== undefined && typeof iss !== "string") return "JwtPayloadParseErrorIssNotString";
  const sub = own(payload, "sub");
  if (sub !== undefined && typeof sub !== "string") return "JwtPayloadParseErrorSubNotString";
  const iat = numericDate(payload, "iat");
  if (typeof iat === "string") return iat;
  const nbf = numericDate(payload, "nbf");
  if (typeof nbf === "string") return nbf;
  const exp = numericDate(payload, "exp");
  if (typeof exp === "string") return exp;
  const jti = own(payload, "jti");
  if (jti !== undefined && typeof jti !== "string") return "JwtPayloadParseErrorJtiNotString";
  const audRaw = own(payload, "aud");
  let aud: string[] = [];
  if (typeof audRaw === "string") aud = [audRaw];
  else if (Array.isArray(audRaw) && audRaw.every((a) => typeof a === "string")) aud = audRaw as string[];
  else if (audRaw !== undefined) return "JwtPayloadParseErrorAudNotString";
  const signature = b64(s64);
  if (!signature) return "JwtSignatureParseErrorBadBase64";
  if (alg === "EdDSA" && signature.length !== 64) return "JwtEd25519SignatureWrongLength";
  return {
    alg,
    kid: kid ?? "",
    iss: iss ?? "",
    aud,
    exp,
    nbf,
    header,
    payload,
    payloadB64: p64,
    signed: Buffer.from(`${h64}.${p64}`, "latin1"),
    signature,
  };
}

/** jwt_verify_lib's verifyTimeConstraint, in whole seconds with the provider's clock skew. */
export function checkTime(jwt: Jwt, nowSeconds: number, skewSeconds: number): JwtStatus {
  if (nowSeconds + skewSeconds < jwt.nbf) return "JwtNotYetValid";
  if (jwt.exp && nowSeconds > jwt.exp + skewSeconds) return "JwtExpired";
  return "Ok";
}

/** CheckAudience's normal form: without an http(s):// scheme and a trailing slash. */
export function normalAudience(a: string): string {
  const bare = a.startsWith("https://") ? a.slice(8) : a.startsWith("http://") ? a.slice(7) : a;
  return bare.endsWith("/") ? bare.slice(0, -1) : bare;
}

/** No configured audiences: any. Otherwise one of the token's must be among them. */
export function audiencesAllowed(allowed: ReadonlySet<string> | undefined, jwt: Jwt): boolean {
  if (!allowed) return true;
  for (const a of jwt.aud) if (allowed.has(normalAudience(a))) return true;
  return false;
}
