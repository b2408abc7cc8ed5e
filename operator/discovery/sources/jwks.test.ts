// Discovery's JWKS fetching (istiod's jwks_resolver): a jwksUri's keys once fetched, an OpenID issuer's through its
// discovery document, refreshed (and translation told) when they change; over https only with a certificate the
// system trusts; anything else (an untrusted certificate, a document too large or too slow, no usable key) is a
// failure that leaves no keys (every token fails) or the last good ones, and is reported.
import { createServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { JWKS_MAX_BYTES, JwksResolver } from "./jwks.js";
import { issuer, jwks } from "../../../test/support/jwt.js";
import { selfSigned } from "../../../test/support/engine/certs.js";
import { until } from "../../../test/support/engine/helpers.js";

const first = jwks(issuer("ES256"));
const second = jwks(issuer("RS256"));

describe("JwksResolver", () => {
  let served: Record<string, string | (() => void)> = {};
  let server: Server;
  let base = "";
  const resolvers: JwksResolver[] = [];
  const make = (onChange: () => void = () => undefined, refreshMs?: number) => {
    const r = new JwksResolver({ onChange, refreshMs, retryMs: refreshMs });
    resolvers.push(r);
    return r;
  };
  const one = (url: string, timeoutMs = 2000, discover = false) => new Map([[url, { discover, timeoutMs }]]);

  beforeAll(async () => {
    server = createServer((req, res) => {
      const body = served[req.url ?? ""];
      if (typeof body === "function") return body(); // never answers
      if (body === undefined) return res.writeHead(404).end();
      res.writeHead(200, { "content-type": "application/json" }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const r of resolvers) r.stop();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  beforeEach(() => {
    served = { "/keys": first };
  });
  afterEach(() => {
    for (const r of resolvers.splice(0)) r.stop();
  });

  it("fetches a jwksUri's keys before translation needs them", async () => {
    const r = make();
    await r.track(one(`${base}/keys`));
    expect(r.keys()).toEqual({ [`${base}/keys`]: first });
    expect(r.problems()).toEqual([]);
    expect(r.keys()).toBe(r.keys()); // unchanged keys: the same object, so an unchanged model stays unchanged
  });

  it("follows an issuer's OpenID discovery document to its jwks_uri", async () => {
    served["/issuer/.well-known/openid-configuration"] = JSON.stringify({ jwks_uri: `${base}/keys` });
    const r = make();
    await r.track(one(`${base}/issuer/.well-known/openid-configuration`, 2000, true));
    expect(Object.values(r.keys() ?? {})).toEqual([first]);
  });

  it("refreshes, and tells translation when the keys changed", async () => {
    let changes = 0;
    const r = make(() => changes++, 20);
    await r.track(one(`${base}/keys`));
    served["/keys"] = second;
    await until(() => changes === 1);
    expect(r.keys()).toEqual({ [`${base}/keys`]: second });
  });

  it("fails closed on a 404, a document that is no JWKS, one too large or too slow, and reports it", async () => {
    served["/notjwks"] = JSON.stringify({ keys: [{ kty: "oct", k: "c2VjcmV0" }] });
    served["/huge"] = JSON.stringify({ keys: [], pad: "x".repeat(JWKS_MAX_BYTES) });
    served["/slow"] = () => undefined;
    const r = make();
    const sources = new Map(
      ["/missing", "/notjwks", "/huge", "/slow"].map((p) => [
        `${base}${p}`,
        { discover: false, timeoutMs: p === "/slow" ? 300 : 10_000 },
      ]),
    );
    await r.track(sources);
    expect(r.keys()).toBeUndefined();
    expect(r.problems()).toEqual([
      `jwks ${base}/missing: status 404 (every token fails)`,
      `jwks ${base}/notjwks: not a JWKS with a public key the proxies verify with (every token fails)`,
      `jwks ${base}/huge: larger than ${JWKS_MAX_BYTES} bytes (every token fails)`,
      `jwks ${base}/slow: timed out after 300 ms (every token fails)`,
    ]);
  });

  it("keeps the last good keys when a refresh fails", async () => {
    let changes = 0;
    const r = make(() => changes++, 20);
    await r.track(one(`${base}/keys`));
    delete served["/keys"];
    await until(() => r.problems().length > 0);
    expect(r.keys()).toEqual({ [`${base}/keys`]: first });
    expect(r.problems()).toEqual([`jwks ${base}/keys: status 404 (the last good keys stay)`]);
    expect(changes).toBe(0);
  });

  it("refuses an https server whose certificate the system doesn't trust", async () => {
    const tls = await selfSigned();
    const https = createHttpsServer(tls, (_req, res) => res.end(first));
    await new Promise<void>((r) => https.listen(0, "127.0.0.1", r));
    try {
      const r = make();
      const url = `https://127.0.0.1:${(https.address() as AddressInfo).port}/keys`;
      await r.track(one(url));
      expect(r.keys()).toBeUndefined();
      expect(r.problems()[0]).toMatch(/self[- ]signed|unable to verify|certificate/i);
    } finally {
      https.closeAllConnections();
      await new Promise((r) => https.close(r));
    }
  });

  it("forgets a source no rule names any more", async () => {
    const r = make();
    await r.track(one(`${base}/keys`));
    await r.track(new Map());
    expect(r.keys()).toBeUndefined();
  });
});
