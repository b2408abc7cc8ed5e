// A JSON Web Key Set (RFC 7517) compiled once per config into node:crypto KeyObjects, and the signature check of
// jwt_verify_lib (verifyJwtWithoutTimeChecking): RS256/384/512 and PS256/384/512 with RSA keys, ES256/384/512 with
// EC keys of the matching curve, EdDSA with Ed25519 keys. HMAC ("oct") keys are not implemented: they are left out,
// so an HS* token finds no key and fails. A request never builds a key.
import { constants, createPublicKey, verify as cryptoVerify, type KeyObject } from "node:crypto";
import { isObj } from "../config/read.js";
import type { JwtStatus } from "./status.js";

export interface Jwk {
  kid: string;
  alg: string;
  kty: "RSA" | "EC" | "OKP";
  /** EC: P-256, P-384, P-521; OKP: Ed25519. */
  crv: string;
  key: KeyObject;
}

/** The algorithms jwt_verify_lib knows (HS* among them: known, but with no key here, never verified). */
export const KNOWN_ALGS: ReadonlySet<string> = new Set([
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "HS256",
  "HS384",
  "HS512",
]);

const EC_CURVE: Record<string, string> = { ES256: "P-256", ES384: "P-384", ES512: "P-521" };
const HASH: Record<string, string> = { "256": "sha256", "384": "sha384", "512": "sha512" };
const str = (v: unknown): string => (typeof v === "string" ? v : "");
/** A key's number: base64url, not empty (Node would read "!!" as an empty number and build a useless key). */
const b64 = (v: unknown): v is string => typeof v === "string" && /^[A-Za-z0-9_-]+$/.test(v);

function oneKey(raw: unknown): Jwk | undefined {
  if (!isObj(raw)) return undefined;
  const kty = raw.kty;
  const alg = str(raw.alg);
  const kid = str(raw.kid);
  let crv = str(raw.crv);
  if (kty === "RSA") {
    if (alg && !alg.startsWith("RS") && !alg.startsWith("PS")) return undefined;
    if (!b64(raw.n) || !b64(raw.e)) return undefined;
    return { kty, alg, kid, crv: "", key: createPublicKey({ key: { kty, n: raw.n, e: raw.e }, format: "jwk" }) };
  }
  if (kty === "EC") {
    if (alg && !EC_CURVE[alg]) return undefined;
    if (!crv) crv = EC_CURVE[alg] ?? "";
    if (!Object.values(EC_CURVE).includes(crv) || (alg && EC_CURVE[alg] !== crv)) return undefined;
    if (!b64(raw.x) || !b64(raw.y)) return undefined;
    return { kty, alg, kid, crv, key: createPublicKey({ key: { kty, crv, x: raw.x, y: raw.y }, format: "jwk" }) };
  }
  if (kty === "OKP") {
    if ((alg && alg !== "EdDSA") || crv !== "Ed25519" || !b64(raw.x)) return undefined;
    return { kty, alg, kid, crv, key: createPublicKey({ key: { kty, crv, x: raw.x }, format: "jwk" }) };
  }
  return undefined;
}

/** The usable keys of a JWKS document; none when it isn't one. A key that doesn't build is left out. */
export function parseJwks(text: string): Jwk[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return [];
  }
  const keys = isObj(doc) ? doc.keys : undefined;
  if (!Array.isArray(keys)) return [];
  const out: Jwk[] = [];
  for (const k of keys) {
    try {
      const jwk = oneKey(k);
      if (jwk) out.push(jwk);
    } catch {
      // a malformed key (bad base64, off-curve point): not usable, as jwt_verify_lib would not load it
    }
  }
  return out;
}

/** One key against one signature; undefined when the key's type can't serve the algorithm. */
function verifyWith(jwk: Jwk, alg: string, data: Buffer, sig: Buffer): boolean | undefined {
  const hash = HASH[alg.slice(2)];
  try {
    if (jwk.kty === "RSA" && hash && alg.startsWith("RS")) return cryptoVerify(hash, data, jwk.key, sig);
    if (jwk.kty === "RSA" && hash && alg.startsWith("PS")) {
      const pss = {
        key: jwk.key,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
      };
      return cryptoVerify(hash, data, pss, sig);
    }
    if (jwk.kty === "EC" && hash && EC_CURVE[alg] === jwk.crv)
      return cryptoVerify(hash, data, { key: jwk.key, dsaEncoding: "ieee-p1363" }, sig);
    if (jwk.kty === "OKP" && alg === "EdDSA") return cryptoVerify(null, data, jwk.key, sig);
  } catch {
    return false; // a signature of the wrong shape for the key
  }
  return undefined;
}

/**
 * jwt_verify_lib's key choice: a key whose kid differs from the token's (both set) or whose alg differs is skipped;
 * any other that verifies the signature makes it Ok. None tried: JwksKidAlgMismatch; tried, none verified:
 * JwtVerificationFail.
 */
export function verifySignature(keys: readonly Jwk[], alg: string, kid: string, data: Buffer, sig: Buffer): JwtStatus {
  if (!keys.length) return "JwksNoValidKeys";
  let matched = false;
  for (const jwk of keys) {
    if (kid && jwk.kid && jwk.kid !== kid) continue;
    if (jwk.alg && jwk.alg !== alg) continue;
    matched = true;
    if (verifyWith(jwk, alg, data, sig) === true) return "Ok";
  }
  return matched ? "JwtVerificationFail" : "JwksKidAlgMismatch";
}
