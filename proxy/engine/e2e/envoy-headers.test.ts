// The router's own x-envoy-* headers, and its suppress_envoy_headers (Istio's proxyHeaders.envoyDebugHeaders.disabled):
// what a client and the app see through the engine, with the router's defaults and with the headers suppressed.
import {
  cluster,
  resources,
  engineHarness,
  get,
  ROUTER,
  until,
  type BackendHandler,
  type Reply,
} from "../../../test/support/engine/helpers.js";

const SUPPRESSING = { ...ROUTER, typed_config: { ...ROUTER.typed_config, suppress_envoy_headers: true } };

describe("the router's x-envoy-* headers (suppress_envoy_headers)", () => {
  const { up, engineFor, start } = engineHarness();

  /** A 503 from the circuit breakers: the app holds the first request, max_requests 1 turns the second away. */
  const overflowed = async (router: unknown): Promise<Record<string, unknown>> => {
    const held: (() => void)[] = [];
    const hold: BackendHandler = (_req, res) => void held.push(() => res.end("done"));
    const b = await up("held", hold);
    const { port } = await engineFor(
      [{ match: { prefix: "/" }, route: { cluster: "held" } }],
      [cluster("held", [b.port], { circuit_breakers: { thresholds: [{ max_requests: 1 }] } })],
      [router],
    );
    const first = get(port, "/1", {}, { agent: false });
    await until(() => held.length === 1);
    const second = await get(port, "/2", {}, { agent: false });
    for (const release of held) release();
    expect([second.status, (await first).status]).toEqual([503, 200]);
    return second.headers;
  };

  it("by default, a circuit breaker's 503 says x-envoy-overloaded: true", async () => {
    expect((await overflowed(ROUTER))["x-envoy-overloaded"]).toBe("true");
  });

  it("suppressed, it doesn't", async () => {
    const headers = await overflowed(SUPPRESSING);
    expect(headers["x-envoy-overloaded"]).toBeUndefined();
    expect(headers.server).toBe("envoy"); // the HCM's headers stay
  });

  /** What the client and the app see of one request to a route (its timeout, retry policy) through `router`. */
  const seen = async (router: unknown, route: Record<string, unknown>): Promise<{ client: Reply; app: string[] }> => {
    const app: string[] = [];
    const echo: BackendHandler = (req, res) => {
      app.push(req.headers["x-envoy-expected-rq-timeout-ms"] as string);
      res.end("ok");
    };
    const b = await up("echo", echo);
    const { port } = await engineFor(
      [{ match: { prefix: "/" }, route: { cluster: "echo", ...route } }],
      [cluster("echo", [b.port])],
      [router],
    );
    return { client: await get(port, "/"), app };
  };

  it("by default the app is told the route's timeout and the client the upstream's time, in whole ms", async () => {
    const { client, app } = await seen(ROUTER, { timeout: "3s" });
    expect(app).toEqual(["3000"]);
    expect(client.headers["x-envoy-upstream-service-time"]).toMatch(/^\d+$/);
  });

  it("the per-try timeout where it is shorter; the route's default 15 s; none with no timeout", async () => {
    const perTry = { timeout: "3s", retry_policy: { retry_on: "5xx", per_try_timeout: "0.25s" } };
    expect((await seen(ROUTER, perTry)).app).toEqual(["250"]);
    expect((await seen(ROUTER, {})).app).toEqual(["15000"]);
    expect((await seen(ROUTER, { timeout: "0s" })).app).toEqual([undefined]);
  });

  it("a retry is told the time left of the route's timeout", async () => {
    const app: string[] = [];
    const flaky: BackendHandler = (req, res) => {
      app.push(req.headers["x-envoy-expected-rq-timeout-ms"] as string);
      if (app.length === 1) setTimeout(() => res.writeHead(503).end(), 300);
      else res.end("ok");
    };
    const b = await up("flaky", flaky);
    const { port } = await engineFor(
      [{ match: { prefix: "/" }, route: { cluster: "flaky", timeout: "3s", retry_policy: { retry_on: "5xx" } } }],
      [cluster("flaky", [b.port])],
    );
    expect((await get(port, "/")).status).toBe(200);
    expect(Number(app[0])).toBe(3000);
    expect(Number(app[1])).toBeLessThanOrEqual(2700);
    expect(Number(app[1])).toBeGreaterThan(2000);
  });

  it("suppressed, the client sees no x-envoy-upstream-service-time and the app no x-envoy-expected-rq-timeout-ms", async () => {
    const { client, app } = await seen(SUPPRESSING, { timeout: "3s" });
    expect(app).toEqual([undefined]);
    expect(client.headers["x-envoy-upstream-service-time"]).toBeUndefined();
    expect(client.headers.server).toBe("envoy");
  });

  it("the router's other options are still a NACK naming them", async () => {
    const { engine } = await start(resources([{ match: { prefix: "/" }, direct_response: { status: 200 } }], []));
    const childSpan = { ...ROUTER, typed_config: { ...SUPPRESSING.typed_config, start_child_span: true } };
    await expect(
      engine.apply(resources([{ match: { prefix: "/" }, direct_response: { status: 200 } }], [], [childSpan])),
    ).rejects.toThrow(
      /http_filters\[0\]\.typed_config\.start_child_span: not supported by this proxy \(Router supports suppress_envoy_headers\)/,
    );
  });
});
