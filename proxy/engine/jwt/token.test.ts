// Tokens as jwt_verify_lib reads them: every algorithm Envoy's jwt_authn takes verifies with its own key and fails
// with any other; hostile tokens (garbage, oversized, alg none, HS256 signed with the public key) come back as a
// status, never an exception, and never as Ok.
import fc from "fast-check";
import { hmacToken, issuer, jwks, noneToken, nowSeconds, type Alg } from "../../../test/support/jwt.js";
import { parseJwks, verifySignature } from "./jwks.js";
import { audiencesAllowed, checkTime, parseJwt, type Jwt } from "./token.js";
import type { JwtStatus } from "./status.js";

const ALGS: Alg[] = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];
const issuers = ALGS.map((a) => issuer(a));
const keys = parseJwks(jwks(...issuers));

/** The whole check a provider makes of a token (issuer aside): parse, time, signature. */
function verdict(token: string, ks = keys): JwtStatus {
  const jwt = parseJwt(token);
  if (typeof jwt === "string") return jwt;
  const time = checkTime(jwt, nowSeconds(), 60);
  if (time !== "Ok") return time;
  return verifySignature(ks, jwt.alg, jwt.kid, jwt.signed, jwt.signature);
}

describe("JWT signatures", () => {
  it("builds one key per JWK", () => {
    expect(keys.map((k) => k.alg)).toEqual(ALGS);
  });

  it.each(ALGS)("%s: a token verifies with its key, and not once a byte of it changes", (alg) => {
    const iss = issuers[ALGS.indexOf(alg)]!;
    const token = iss.token({ iss: "https://issuer.example", sub: "alice", exp: nowSeconds() + 60 });
    expect(verdict(token)).toBe("Ok");
    const [h, p, sig] = token.split(".") as [string, string, string];
    const otherPayload = Buffer.from(JSON.stringify({ iss: "https://issuer.example", sub: "mallory" })).toString(
      "base64url",
    );
    expect(verdict(`${h}.${otherPayload}.${sig}`)).toBe("JwtVerificationFail");
    const flipped = Buffer.from(sig, "base64url");
    flipped[0] = (flipped[0] as number) ^ 1;
    expect(verdict(`${h}.${p}.${flipped.toString("base64url")}`)).not.toBe("Ok");
  });

  it("a token signed by a key not in the JWKS fails, whether its kid names another key or not", () => {
    const stranger = issuer("RS256", "rs256-key"); // same kid, another key
    expect(verdict(stranger.token({ sub: "x" }))).toBe("JwtVerificationFail");
    expect(verdict(issuer("ES256", "unknown-kid").token({ sub: "x" }))).toBe("JwksKidAlgMismatch");
  });

  it("refuses alg none and an HS256 token whose secret is the public key (algorithm confusion)", () => {
    expect(verdict(noneToken({ sub: "admin" }))).toBe("JwtHeaderNotImplementedAlg");
    const rsa = issuers[0]!;
    const pem = keys[0]!.key.export({ type: "spki", format: "pem" });
    expect(verdict(hmacToken({ sub: "admin" }, pem))).toBe("JwksKidAlgMismatch");
    expect(verdict(hmacToken({ sub: "admin" }, pem, rsa.kid))).toBe("JwksKidAlgMismatch");
    expect(verdict(hmacToken({ sub: "admin" }, JSON.stringify(rsa.jwk)))).toBe("JwksKidAlgMismatch");
  });

  it("checks exp and nbf with the clock skew", () => {
    const iss = issuers[0]!;
    const now = nowSeconds();
    expect(verdict(iss.token({ exp: now - 61 }))).toBe("JwtExpired");
    expect(verdict(iss.token({ exp: now - 30 }))).toBe("Ok"); // within the 60 s skew
    expect(verdict(iss.token({ nbf: now + 120 }))).toBe("JwtNotYetValid");
    expect(verdict(iss.token({ exp: "soon" }))).toBe("JwtPayloadParseErrorExpNotInteger");
    expect(verdict(iss.token({ nbf: -1 }))).toBe("JwtPayloadParseErrorNbfOutOfRange");
  });

  it("reports a malformed token with jwt_verify_lib's status", () => {
    expect(verdict("abc")).toBe("JwtBadFormat");
    expect(verdict("a.b.c.d")).toBe("JwtBadFormat");
    expect(verdict("!!.e30.e30")).toBe("JwtHeaderParseErrorBadBase64");
    expect(verdict(`${Buffer.from("[1]").toString("base64url")}.e30.e30`)).toBe("JwtHeaderParseErrorBadJson");
    expect(verdict(`${Buffer.from('{"typ":"JWT"}').toString("base64url")}.e30.e30`)).toBe("JwtHeaderBadAlg");
  });

  it("matches audiences as CheckAudience does (scheme and trailing slash aside)", () => {
    const jwt = parseJwt(issuers[0]!.token({ aud: ["https://api.example.com/", "other"] })) as Jwt;
    expect(audiencesAllowed(new Set(["api.example.com"]), jwt)).toBe(true);
    expect(audiencesAllowed(new Set(["nope"]), jwt)).toBe(false);
    expect(audiencesAllowed(undefined, jwt)).toBe(true);
    const none = parseJwt(issuers[0]!.token({})) as Jwt;
    expect(audiencesAllowed(new Set(["api.example.com"]), none)).toBe(false);
  });

  it("a JWKS that doesn't parse, or whose keys don't build, has no keys (every token fails)", () => {
    expect(parseJwks("not json")).toEqual([]);
    expect(parseJwks('{"keys": [{"kty": "RSA", "n": "!!", "e": "AQAB"}, {"kty": "oct", "k": "c2VjcmV0"}]}')).toEqual(
      [],
    );
    expect(verdict(issuers[0]!.token({}), [])).toBe("JwksNoValidKeys");
  });

  it("never throws and never accepts a hostile token", () => {
    const good = issuers[0]!.token({ sub: "alice" });
    const [gh, gp] = good.split(".") as [string, string];
    const b64 = (s: string) => Buffer.from(s).toString("base64url");
    const part = fc.oneof(
      fc.string({ maxLength: 64 }),
      fc.string({ maxLength: 64 }).map(b64),
      fc.json().map(b64),
      fc.constantFrom(gh, gp, b64('{"alg":"none"}'), b64('{"alg":"HS256"}'), b64('{"alg":"RS256","kid":"rs256-key"}')),
      fc.nat({ max: 70_000 }).map((n) => "A".repeat(n)),
      fc.nat({ max: 5_000 }).map((n) => b64("[".repeat(n))),
    );
    const token = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.tuple(part, part, part).map((p) => p.join(".")),
      fc.tuple(part, part).map(([h, p]) => `${h}.${p}.${good.split(".")[2]}`),
    );
    fc.assert(
      fc.property(token, (t) => {
        fc.pre(t !== good);
        const v = verdict(t);
        return typeof v === "string" && v !== "Ok";
      }),
      { numRuns: 2000 },
    );
  });
});
