// CORS through the engine over real HTTP/1.1 and h2c on loopback: preflights answered by the proxy, access-control
// headers on allowed origins' responses, other origins untouched.
import { connect as h2connect } from "node:http2";
import {
  backend,
  cluster,
  get,
  resources,
  ROUTER,
  startEngine,
  type Backend,
} from "../../../test/support/engine/helpers.js";
import type { Engine } from "../engine.js";

const T = "type.googleapis.com/envoy.extensions.filters.http";
const CORS = { name: "envoy.filters.http.cors", typed_config: { "@type": `${T}.cors.v3.Cors` } };
const POLICY = {
  "@type": `${T}.cors.v3.CorsPolicy`,
  allow_origin_string_match: [{ exact: "https://shop.example.com" }, { suffix: ".partner.io" }],
  allow_methods: "GET,PUT,DELETE",
  allow_headers: "x-token,content-type",
  expose_headers: "x-backend",
  max_age: "600",
  allow_credentials: true,
};
const PREFLIGHT = {
  origin: "https://shop.example.com",
  "access-control-request-method": "PUT",
  "access-control-request-headers": "x-token",
};

const corsHeaders = (h: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(h).filter(([k]) => k.startsWith("access-control-")));

describe("CORS through the engine", () => {
  let app: Backend;
  let engine: Engine;
  let port: number;

  beforeAll(async () => {
    app = await backend("app", (req, res) => {
      const own = req.url === "/own" ? { "access-control-allow-origin": "*" } : {};
      res.writeHead(200, { "content-type": "text/plain", "x-backend": "app", ...own });
      res.end(`${req.method} ${req.url}`);
    });
    ({ engine, port } = await startEngine(
      resources(
        [
          { match: { prefix: "/open" }, route: { cluster: "app" } },
          {
            match: { prefix: "/maintenance" },
            direct_response: { status: 503, body: { inline_string: "back soon" } },
            typed_per_filter_config: { "envoy.filters.http.cors": POLICY },
          },
          {
            match: { prefix: "/" },
            route: { cluster: "app" },
            typed_per_filter_config: { "envoy.filters.http.cors": POLICY },
          },
        ],
        [cluster("app", [app.port])],
        [CORS, ROUTER],
      ),
    ));
  });
  afterAll(async () => {
    await engine.stop();
    await app.close();
  });

  it("answers a matching preflight itself; the backend never sees it", async () => {
    const before = app.hits;
    const r = await get(port, "/api/cart", PREFLIGHT, { method: "OPTIONS" });
    expect(r.status).toBe(200);
    expect(r.body).toBe("");
    expect(corsHeaders(r.headers)).toEqual({
      "access-control-allow-origin": "https://shop.example.com",
      "access-control-allow-credentials": "true",
      "access-control-allow-methods": "GET,PUT,DELETE",
      "access-control-allow-headers": "x-token,content-type",
      "access-control-max-age": "600",
    });
    expect(app.hits).toBe(before);
  });

  it("adds the origin, credentials and exposed headers to an allowed origin's request", async () => {
    const r = await get(port, "/api/cart", { origin: "https://eu.partner.io" });
    expect([r.status, r.body]).toEqual([200, "GET /api/cart"]);
    expect(corsHeaders(r.headers)).toEqual({
      "access-control-allow-origin": "https://eu.partner.io",
      "access-control-allow-credentials": "true",
      "access-control-expose-headers": "x-backend",
    });
  });

  it("leaves other origins and requests without Origin untouched; their preflight goes to the backend", async () => {
    for (const headers of [{ origin: "https://evil.example.net" }, {}] as Record<string, string>[]) {
      const r = await get(port, "/api/cart", headers);
      expect([r.status, r.body]).toEqual([200, "GET /api/cart"]);
      expect(corsHeaders(r.headers)).toEqual({});
    }
    const before = app.hits;
    const p = await get(port, "/api/cart", { ...PREFLIGHT, origin: "https://evil.example.net" }, { method: "OPTIONS" });
    expect([p.status, p.body]).toEqual([200, "OPTIONS /api/cart"]);
    expect(corsHeaders(p.headers)).toEqual({});
    expect(app.hits).toBe(before + 1);
  });

  it("lets an allowed origin read the proxy's own replies too", async () => {
    const r = await get(port, "/maintenance", { origin: "https://shop.example.com" });
    expect([r.status, r.body]).toEqual([503, "back soon"]);
    expect(r.headers["access-control-allow-origin"]).toBe("https://shop.example.com");
  });

  it("leaves routes without a policy alone", async () => {
    const r = await get(port, "/open", PREFLIGHT, { method: "OPTIONS" });
    expect([r.status, r.body]).toEqual([200, "OPTIONS /open"]);
    expect(corsHeaders(r.headers)).toEqual({});
  });

  it("replaces the backend's own Access-Control-Allow-Origin with the allowed origin", async () => {
    const r = await get(port, "/own", { origin: "https://shop.example.com" });
    expect(r.headers["access-control-allow-origin"]).toBe("https://shop.example.com");
    expect((await get(port, "/own")).headers["access-control-allow-origin"]).toBe("*");
  });

  it("answers a preflight over h2c too", async () => {
    const before = app.hits;
    const session = h2connect(`http://127.0.0.1:${port}`);
    try {
      const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
        const req = session.request({ ":method": "OPTIONS", ":path": "/api/cart", ...PREFLIGHT }, { endStream: true });
        req.on("response", (h) => resolve(h));
        req.on("error", reject);
        req.resume();
      });
      expect(headers[":status"]).toBe(200);
      expect(headers["access-control-allow-origin"]).toBe("https://shop.example.com");
      expect(headers["access-control-allow-methods"]).toBe("GET,PUT,DELETE");
      expect(app.hits).toBe(before);
    } finally {
      session.close();
    }
  });
});
