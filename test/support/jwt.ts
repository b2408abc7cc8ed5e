// Test issuers: a key pair per algorithm, its public JWK (with kid and alg) for a JWKS, and a signer of tokens.
import { constants, createHmac, generateKeyPairSync, sign, type KeyObject } from "node:crypto";

export type Alg = "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" | "ES256" | "ES384" | "ES512" | "EdDSA";

export interface Issuer {
  alg: Alg;
  kid: string;
  jwk: Record<string, unknown>;
  /** A signed token; `header` adds to (or replaces) {alg, kid, typ}. */
  token(payload: Record<string, unknown>, header?: Record<string, unknown>): string;
}

const b64 = (v: unknown) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
const CURVE: Record<string, string> = { ES256: "P-256", ES384: "P-384", ES512: "P-521" };

function pair(alg: Alg): { privateKey: KeyObject; publicKey: KeyObject } {
  if (alg.startsWith("ES")) return generateKeyPairSync("ec", { namedCurve: CURVE[alg] as string });
  if (alg === "EdDSA") return generateKeyPairSync("ed25519");
  return generateKeyPairSync("rsa", { modulusLength: 2048 });
}

function signWith(alg: Alg, key: KeyObject, data: Buffer): Buffer {
  const hash = alg === "EdDSA" ? null : `sha${alg.slice(2)}`;
  if (alg.startsWith("PS"))
    return sign(hash, data, {
      key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    });
  if (alg.startsWith("ES")) return sign(hash, data, { key, dsaEncoding: "ieee-p1363" });
  return sign(hash, data, key);
}

export function issuer(alg: Alg, kid = `${alg.toLowerCase()}-key`): Issuer {
  const { privateKey, publicKey } = pair(alg);
  const jwk = { ...publicKey.export({ format: "jwk" }), kid, alg };
  return {
    alg,
    kid,
    jwk,
    token(payload, header = {}) {
      const signed = `${b64({ alg, kid, typ: "JWT", ...header })}.${b64(payload)}`;
      return `${signed}.${signWith(alg, privateKey, Buffer.from(signed)).toString("base64url")}`;
    },
  };
}

export function jwks(...issuers: Issuer[]): string {
  return JSON.stringify({ keys: issuers.map((i) => i.jwk) });
}

/** A token signed with HMAC using `secret` (an attacker using a public key as the HS256 secret). */
export function hmacToken(payload: Record<string, unknown>, secret: string | Buffer, kid?: string): string {
  const signed = `${b64({ alg: "HS256", typ: "JWT", ...(kid ? { kid } : {}) })}.${b64(payload)}`;
  return `${signed}.${createHmac("sha256", secret).update(signed).digest("base64url")}`;
}

/** An unsigned token (alg none). */
export function noneToken(payload: Record<string, unknown>): string {
  return `${b64({ alg: "none", typ: "JWT" })}.${b64(payload)}.`;
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

const orMissing = (name: string) => ({
  requires_any: { requirements: [{ provider_name: name }, { allow_missing: {} }] },
});

/** The requirement istiod writes for these providers (policy_applier.go): one, or missing; several: any one of
 * them, or each one absent or valid. */
export function istioRequires(names: string[]): Record<string, unknown> {
  if (names.length === 1) return orMissing(names[0] as string);
  return {
    requires_any: {
      requirements: [
        ...names.map((provider_name) => ({ provider_name })),
        { requires_all: { requirements: names.map(orMissing) } },
      ],
    },
  };
}
