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
