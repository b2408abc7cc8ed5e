import {
  backend,
  cluster,
  countBy,
  get,
  many,
  resources,
  startEngine,
  type Backend,
} from "../../../test/support/engine/helpers.js";
import { shareDeviation } from "../../../test/support/share.js";
import type { Engine } from "../engine.js";

describe("routing through the engine (HTTP/1.1 on loopback)", () => {
  let v1: Backend;
  let v2: Backend;
  let engine: Engine;
  let port: number;

  beforeAll(async () => {
    v1 = await backend("v1");
    v2 = await backend("v2");
    ({ engine, port } = await startEngine(
      resources(
        [
          {
            match: { prefix: "/", headers: [{ name: "end-user", string_match: { exact: "jason" } }] },
            route: { cluster: "v2" },
            response_headers_to_add: [{ header: { key: "x-route", value: "jason" } }],
          },
          {
            match: { prefix: "/split" },
            route: {
              weighted_clusters: {
                clusters: [
                  { name: "v1", weight: 50 },
                  { name: "v2", weight: 50 },
                ],
              },
            },
          },
          {
            match: { prefix: "/api/" },
            route: { cluster: "v1", prefix_rewrite: "/v2/", host_rewrite_literal: "api.internal" },
            request_headers_to_add: [{ header: { key: "x-added", value: "yes" } }],
          },
          { match: { path: "/old" }, redirect: { path_redirect: "/new", response_code: "FOUND" } },
          {
            match: { prefix: "/teapot" },
            direct_response: { status: 418, body: { inline_string: "short and stout" } },
          },
          { match: { prefix: "/" }, route: { cluster: "v1" } },
        ],
        [cluster("v1", [v1.port]), cluster("v2", [v2.port])],
      ),
    ));
  });
  afterAll(async () => {
    await engine.stop();
    await v1.close();
    await v2.close();
  });

  it("proxies a request and adds x-request-id and trace headers", async () => {
    const r = await get(port, "/hello?x=1");
    expect(r.status).toBe(200);
    const echo = JSON.parse(r.body);
    expect(echo).toMatchObject({ name: "v1", url: "/hello?x=1" });
    expect(echo.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(echo.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(echo.headers["x-b3-traceid"]).toBe(echo.headers.traceparent.split("-")[1]);
  });

  it("keeps an incoming request id and traceparent", async () => {
    const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const echo = JSON.parse((await get(port, "/", { "x-request-id": "abc", traceparent: tp })).body);
    expect(echo.headers["x-request-id"]).toBe("abc");
    expect(echo.headers.traceparent).toBe(tp);
  });

  it("routes by header and adds response headers", async () => {
    const r = await get(port, "/productpage", { "end-user": "jason" });
    expect(JSON.parse(r.body).name).toBe("v2");
    expect(r.headers["x-route"]).toBe("jason");
    expect(JSON.parse((await get(port, "/productpage", { "end-user": "mary" })).body).name).toBe("v1");
  });

  it("splits 50/50 within 5σ over 2000 requests", async () => {
    const replies = await many(2000, 16, () => get(port, "/split"));
    const counts = countBy(replies, (r) => JSON.parse(r.body).name);
    expect(counts.v1! + counts.v2!).toBe(2000);
    expect(shareDeviation(counts.v1!, 2000, 0.5)).toBeLessThanOrEqual(1);
  }, 30_000); // 2000 requests: seconds on a loaded machine, past jest's 5 s default

  it("rewrites the prefix and the host, and adds request headers", async () => {
    const echo = JSON.parse((await get(port, "/api/users?id=7")).body);
    expect(echo.url).toBe("/v2/users?id=7");
    expect(echo.headers.host).toBe("api.internal");
    expect(echo.headers["x-added"]).toBe("yes");
  });

  it("redirects and answers directly", async () => {
    const r = await get(port, "/old", { host: "shop.example:8080" });
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe("http://shop.example:8080/new");
    const t = await get(port, "/teapot");
    expect([t.status, t.body]).toEqual([418, "short and stout"]);
  });

  it("writes a JSON access log line per request when switched on", async () => {
    const lines: string[] = [];
    const logged = await startEngine(
      resources([{ match: { prefix: "/" }, route: { cluster: "v1" } }], [cluster("v1", [v1.port])]),
      {
        accessLog: true,
        accessLogStream: { write: (l) => lines.push(l) },
      },
    );
    await get(logged.port, "/logged?q=1", { "x-request-id": "rid-1" });
    await logged.engine.stop();
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      method: "GET",
      path: "/logged?q=1",
      response_code: 200,
      response_flags: "-",
      upstream_cluster: "v1",
      x_request_id: "rid-1",
    });
  });

  it("forwards request bodies, chunked and with content-length", async () => {
    const echo = JSON.parse(
      (await get(port, "/post", { "content-type": "text/plain" }, { method: "POST", body: "hello body" })).body,
    );
    expect(echo.body).toBe("hello body");
    const chunked = JSON.parse(
      (await get(port, "/post", { "transfer-encoding": "chunked" }, { method: "POST", body: "chunky" })).body,
    );
    expect(chunked.body).toBe("chunky");
  });

  it("refuses a WebSocket upgrade with 403 rather than send it on without its Upgrade header; h2c's is served", async () => {
    const before = v1.hits;
    const ws = await get(port, "/chat", { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13" });
    expect([ws.status, ws.body]).toEqual([403, "upgrade failed"]);
    expect(v1.hits).toBe(before);
    expect(engine.statsText()).toMatch(/^http\.http\.downstream_rq_ws_on_non_ws_route: 1$/m);
    const h2c = await get(port, "/plain", {
      connection: "Upgrade, HTTP2-Settings",
      upgrade: "h2c",
      "http2-settings": "",
    });
    expect(h2c.status).toBe(200);
    expect(JSON.parse(h2c.body).headers.upgrade).toBeUndefined();
  });
});
