// envoy.filters.http.jwt_authn through a real engine: Istio's shape of config (a provider per issuer, a requires_any
// of it and allow_missing on "/"), and the paths Envoy's docs describe: a missing token passes only where the rule
// allows it, a bad one gets Envoy's 401 and www-authenticate, a good one reaches the app without the token (unless
// forward) and with the payload and claims the provider names, never with a client's own copy of those headers.
import { cluster, engineHarness, get, resources, ROUTER, type Backend } from "../../../test/support/engine/helpers.js";
import { issuer, istioRequires, jwks, noneToken, nowSeconds } from "../../../test/support/jwt.js";
import type { Engine } from "../engine.js";

const T = "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication";
const ISS = "https://issuer.example.com";
const main = issuer("RS256");
const other = issuer("ES256");

function jwtFilter(extra: Record<string, unknown> = {}, rules?: unknown[]): Record<string, unknown> {
  return {
    name: "envoy.filters.http.jwt_authn",
    typed_config: {
      "@type": T,
      providers: {
        "origins-0": {
          issuer: ISS,
          audiences: ["bookstore"],
          local_jwks: { inline_string: jwks(main) },
          forward_payload_header: "x-jwt-payload",
          payload_in_metadata: "payload",
          claim_to_headers: [
            { header_name: "x-jwt-sub", claim_name: "sub" },
            { header_name: "x-jwt-team", claim_name: "org.team" },
          ],
          ...extra,
        },
      },
      rules: rules ?? [
        { match: { prefix: "/public" } },
        {
          match: { prefix: "/strict" },
          requires: { provider_name: "origins-0" },
        },
        {
          match: { prefix: "/" },
          requires: { requires_any: { requirements: [{ provider_name: "origins-0" }, { allow_missing: {} }] } },
        },
      ],
      bypass_cors_preflight: true,
    },
  };
}

const good = (claims: Record<string, unknown> = {}) =>
  main.token({ iss: ISS, sub: "alice", aud: "bookstore", exp: nowSeconds() + 300, org: { team: "books" }, ...claims });
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const ROUTES = [{ match: { prefix: "/" }, route: { cluster: "app" } }];

/** An app and an engine in front of it with these HTTP filters, for the describe block. */
function rig(filters: () => unknown[]): { app: () => Backend; engine: () => Engine; port: () => number } {
  const h = engineHarness();
  let app: Backend | undefined;
  let started: { engine: Engine; port: number } | undefined;
  beforeAll(async () => {
    app = await h.up("app");
    started = await h.engineFor(ROUTES, [cluster("app", [app.port])], filters());
  });
  return { app: () => app as Backend, engine: () => started!.engine, port: () => started!.port };
}

const seen = (body: string) => JSON.parse(body) as { url: string; headers: Record<string, string> };

describe("jwt_authn through the engine", () => {
  const r = rig(() => [jwtFilter(), ROUTER]);
  let port = 0;
  let engine: Engine;
  let app: Backend;
  beforeAll(() => {
    [port, engine, app] = [r.port(), r.engine(), r.app()];
  });
  const stat = (s: string) => engine.counters.get("http", "http", `jwt_authn.${s}`);

  it("lets a request without a token through where the rule allows a missing one, and nowhere else", async () => {
    expect((await get(port, "/books")).status).toBe(200);
    const strict = await get(port, "/strict/books", { "x-forwarded-proto": "https" });
    expect(strict.status).toBe(401);
    expect(strict.body).toBe("Jwt is missing");
    expect(strict.headers["www-authenticate"]).toBe(`Bearer realm="https://127.0.0.1:${port}/strict/books"`);
  });

  it('answers a bad token 401 with Envoy\'s body and error="invalid_token", even where a missing one passes', async () => {
    const expired = main.token({ iss: ISS, aud: "bookstore", exp: nowSeconds() - 3600 });
    const r = await get(port, "/books?q=1", bearer(expired));
    expect(r.status).toBe(401);
    expect(r.body).toBe("Jwt is expired");
    expect(r.headers["www-authenticate"]).toBe(
      `Bearer realm="http://127.0.0.1:${port}/books?q=1", error="invalid_token"`,
    );
    const forged = other.token({ iss: ISS, aud: "bookstore" }, { kid: main.kid, alg: "RS256" });
    expect((await get(port, "/books", bearer(forged))).body).toBe("Jwt verification fails");
    expect((await get(port, "/books", bearer(noneToken({ iss: ISS, aud: "bookstore" })))).body).toBe(
      "Jwt header [alg] is not supported",
    );
    expect(
      (await get(port, "/books", bearer(main.token({ iss: "https://evil.example", aud: "bookstore" })))).body,
    ).toBe("Jwt issuer is not configured");
    const wrongAud = await get(port, "/books", bearer(main.token({ iss: ISS, aud: "shop" })));
    expect([wrongAud.status, wrongAud.body]).toEqual([403, "Audiences in Jwt are not allowed"]);
  });

  it("passes a good token's payload and claims, removes the token, and never a client's own copy of them", async () => {
    const token = good();
    const r = await get(port, "/books", { ...bearer(token), "x-jwt-sub": "root", "x-jwt-payload": "forged" });
    expect(r.status).toBe(200);
    const h = seen(r.body).headers;
    expect(h.authorization).toBeUndefined();
    expect(h["x-jwt-sub"]).toBe("alice");
    expect(h["x-jwt-team"]).toBe("books");
    expect(JSON.parse(Buffer.from(h["x-jwt-payload"]!, "base64url").toString())).toMatchObject({ sub: "alice" });
    // Where no rule asks for a token, a client's headers are its own business (Envoy sanitizes only when verifying).
    const spoof = await get(port, "/books", { "x-jwt-sub": "root" });
    expect(seen(spoof.body).headers["x-jwt-sub"]).toBeUndefined();
  });

  it("takes the token from ?access_token= by default and removes it from the query", async () => {
    const r = await get(port, `/books?a=1&access_token=${good()}&b=2`);
    expect(r.status).toBe(200);
    expect(seen(r.body).url).toBe("/books?a=1&b=2");
  });

  it("verifies a token once: the next requests with it hit the cache", async () => {
    const token = good({ jti: "cached" });
    const hits = stat("jwt_cache_hit");
    for (let i = 0; i < 3; i++) expect((await get(port, "/books", bearer(token))).status).toBe(200);
    expect(stat("jwt_cache_hit")).toBe(hits + 2);
    expect(stat("allowed")).toBeGreaterThan(0);
    expect(stat("denied")).toBeGreaterThan(0);
  });

  it("lets a CORS preflight through without a token (bypass_cors_preflight)", async () => {
    const before = stat("cors_preflight_bypassed");
    const r = await get(
      port,
      "/strict/x",
      { origin: "https://a.example", "access-control-request-method": "GET" },
      { method: "OPTIONS" },
    );
    expect(r.status).toBe(200);
    expect(stat("cors_preflight_bypassed")).toBe(before + 1);
  });

  it("takes tokens from the headers, parameters and cookies a provider names, and forwards them when asked", async () => {
    const res = (extra: Record<string, unknown>) =>
      resources(
        [{ match: { prefix: "/" }, route: { cluster: "app" } }],
        [cluster("app", [app.port])],
        [jwtFilter(extra, [{ match: { prefix: "/" }, requires: { provider_name: "origins-0" } }]), ROUTER],
        "2",
      );
    await engine.apply(
      res({
        from_headers: [{ name: "x-token", value_prefix: "Token " }],
        from_params: ["jwt"],
        from_cookies: ["session"],
        forward: true,
      }),
    );
    const token = good();
    expect((await get(port, "/b", bearer(token))).status).toBe(401); // Authorization is not among its locations now
    const viaHeader = await get(port, "/b", { "x-token": `Token ${token}` });
    expect(seen(viaHeader.body).headers["x-token"]).toBe(`Token ${token}`);
    expect((await get(port, `/b?jwt=${token}`)).status).toBe(200);
    expect((await get(port, "/b", { cookie: `a=1; session="${token}"` })).status).toBe(200);
  });

  it("refuses a config with a field it does not implement, naming it, and keeps the last good one", async () => {
    const version = engine.config?.version;
    const bad = resources(
      [{ match: { prefix: "/" }, route: { cluster: "app" } }],
      [cluster("app", [app.port])],
      [jwtFilter({ require_expiration: true }), ROUTER],
      "3",
    );
    await expect(engine.apply(bad)).rejects.toThrow(/providers\.origins-0\.require_expiration: not supported/);
    const remote = jwtFilter();
    const provider = (remote.typed_config as { providers: Record<string, Record<string, unknown>> }).providers[
      "origins-0"
    ]!;
    delete provider.local_jwks;
    provider.remote_jwks = { http_uri: { uri: "https://keys.example/jwks", cluster: "keys", timeout: "5s" } };
    await expect(
      engine.apply(
        resources(
          [{ match: { prefix: "/" }, route: { cluster: "app" } }],
          [cluster("app", [app.port])],
          [remote, ROUTER],
          "4",
        ),
      ),
    ).rejects.toThrow(/remote_jwks: not supported/);
    expect(engine.config?.version).toBe(version);
  });
});

describe("jwt_authn with two issuers, as istiod writes it", () => {
  const second = issuer("EdDSA");
  const ISS2 = "https://second.example.com";
  const provider = (iss: string, i: ReturnType<typeof issuer>) => ({
    issuer: iss,
    local_jwks: { inline_string: jwks(i) },
  });
  const filter = {
    name: "envoy.filters.http.jwt_authn",
    typed_config: {
      "@type": T,
      providers: { "origins-0": provider(ISS, main), "origins-1": provider(ISS2, second) },
      rules: [
        {
          match: { prefix: "/" },
          requires: istioRequires(["origins-0", "origins-1"]),
        },
      ],
    },
  };
  const r = rig(() => [filter, ROUTER]);
  let port = 0;
  beforeAll(() => {
    port = r.port();
  });

  it("takes either issuer's token, no token, and refuses a third issuer's or a forged one", async () => {
    expect((await get(port, "/", bearer(main.token({ iss: ISS })))).status).toBe(200);
    expect((await get(port, "/", bearer(second.token({ iss: ISS2 })))).status).toBe(200);
    expect((await get(port, "/")).status).toBe(200);
    const third = await get(port, "/", bearer(main.token({ iss: "https://third.example" })));
    expect([third.status, third.body]).toEqual([401, "Jwt issuer is not configured"]);
    const forged = await get(port, "/", bearer(main.token({ iss: ISS2 })));
    // Signed with the first issuer's RSA key: the second's JWKS has no RS256 key (Envoy's JwksKidAlgMismatch).
    expect([forged.status, forged.body]).toEqual([401, "Jwks doesn't have key to match kid or alg from Jwt"]);
  });
});

describe("jwt_authn's clear_route_cache (what istiod sets on gateways)", () => {
  const h = engineHarness();
  const routes = [
    {
      match: { prefix: "/", headers: [{ name: "x-jwt-team", string_match: { exact: "books" } }] },
      route: { cluster: "books" },
    },
    { match: { prefix: "/" }, route: { cluster: "app" } },
  ];
  let port = 0;
  const start = async (clear: boolean) => {
    const books = await h.up("books", (_req, res) => res.end("books"));
    const app = await h.up("app", (_req, res) => res.end("app"));
    const filter = jwtFilter({ clear_route_cache: clear }, [
      { match: { prefix: "/" }, requires: { provider_name: "origins-0" } },
    ]);
    ({ port } = await h.engineFor(
      routes,
      [cluster("books", [books.port]), cluster("app", [app.port])],
      [filter, ROUTER],
    ));
  };

  it("routes again by the claims' headers when set, and not when not", async () => {
    await start(true);
    expect((await get(port, "/", bearer(good({ org: { team: "books" } })))).body).toBe("books");
    expect((await get(port, "/", bearer(good({ org: { team: "music" } })))).body).toBe("app");
    // A client's own x-jwt-team is removed before routing again: it can't pick the route.
    expect((await get(port, "/", { ...bearer(good({ org: {} })), "x-jwt-team": "books" })).body).toBe("app");
    await start(false);
    expect((await get(port, "/", bearer(good({ org: { team: "books" } })))).body).toBe("app");
  });
});
