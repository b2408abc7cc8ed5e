// Who the client is, through the engine: at the edge (use_remote_address, Istio's gateways) a client can't choose its
// address by sending x-forwarded-for, so an AuthorizationPolicy's remoteIpBlocks (RBAC remote_ip) holds; behind N
// trusted proxies (xff_num_trusted_hops, Istio's gatewayTopology.numTrustedProxies) the address they saw counts.
import { cluster, engineHarness, get, withHcm } from "../../../test/support/engine/helpers.js";
import { TYPE } from "../../xds/types.js";

/** RBAC that allows only clients in 192.0.2.0/24 (by remote_ip: the request's remote address). */
const ONLY_TEST_NET = {
  name: "envoy.filters.http.rbac",
  typed_config: {
    "@type": TYPE.rbac,
    rules: {
      action: "ALLOW",
      policies: {
        "ns[default]-policy[allow-list]-rule[0]": {
          permissions: [{ any: true }],
          principals: [{ remote_ip: { address_prefix: "192.0.2.0", prefix_len: 24 } }],
        },
      },
    },
  },
};
const ROUTER = { name: "envoy.filters.http.router", typed_config: { "@type": TYPE.router } };

describe("the client's address at the edge (use_remote_address)", () => {
  const { up, start } = engineHarness();
  const routes = [{ match: { prefix: "/" }, route: { cluster: "app" } }];

  it("denies a client outside remoteIpBlocks that claims an address inside them in x-forwarded-for", async () => {
    const app = await up("app");
    const { port } = await start(
      withHcm(routes, [cluster("app", [app.port])], { use_remote_address: true }, [ONLY_TEST_NET, ROUTER]),
    );
    const spoofed = await get(port, "/", { "x-forwarded-for": "192.0.2.10" });
    expect(spoofed.status).toBe(403);
    expect(app.hits).toBe(0);
  });

  it("behind one trusted proxy: its x-forwarded-for entry is the client; the app sees the chain, the scheme, the address", async () => {
    const app = await up("app-behind-lb");
    const { port } = await start(
      withHcm(routes, [cluster("app", [app.port])], { use_remote_address: true, xff_num_trusted_hops: 1 }, [
        ONLY_TEST_NET,
        ROUTER,
      ]),
    );
    // The load balancer in front appended the client it saw; the client's own first entry is not believed.
    const r = await get(port, "/", { "x-forwarded-for": "203.0.113.1, 192.0.2.10", "x-forwarded-proto": "https" });
    expect(r.status).toBe(200);
    const seen = (JSON.parse(r.body) as { headers: Record<string, string> }).headers;
    expect(seen["x-forwarded-for"]).toBe("203.0.113.1, 192.0.2.10,127.0.0.1");
    // The trusted proxy's scheme (it terminated TLS), as Envoy keeps it with xff_num_trusted_hops; the connection's
    // without trusted hops (http/forwarded.test.ts).
    expect(seen["x-forwarded-proto"]).toBe("https");
    expect(seen["x-envoy-external-address"]).toBe("192.0.2.10");
    const outside = await get(port, "/", { "x-forwarded-for": "192.0.2.10, 203.0.113.1" });
    expect(outside.status).toBe(403);
  });
});

describe("x-forwarded-port and x-forwarded-host (Istio's proxyHeaders.xForwardedPort, xForwardedHost)", () => {
  const { up, start } = engineHarness();
  /** What the app saw of one request through an HCM with `hcm` and a route with `action`. */
  const seen = async (hcm: Record<string, unknown>, action: object, headers: Record<string, string> = {}) => {
    const app = await up("app");
    const routes = [{ match: { prefix: "/" }, route: { cluster: "app", ...action } }];
    const { port } = await start(withHcm(routes, [cluster("app", [app.port])], hcm));
    const r = await get(port, "/", { host: "shop.example.com", ...headers });
    expect(r.status).toBe(200);
    return { port, app: (JSON.parse(r.body) as { headers: Record<string, string> }).headers };
  };

  it("append_x_forwarded_port at the edge: the app is told the port the client connected to, not the client's word", async () => {
    const edge = { use_remote_address: true, append_x_forwarded_port: true };
    const { port, app } = await seen(edge, {}, { "x-forwarded-port": "1" });
    expect(app["x-forwarded-port"]).toBe(String(port));
    // Off (Envoy's default), or not at the edge: the header is the client's.
    expect((await seen({ use_remote_address: true }, {}, { "x-forwarded-port": "1" })).app["x-forwarded-port"]).toBe(
      "1",
    );
    expect((await seen({ append_x_forwarded_port: true }, {})).app["x-forwarded-port"]).toBeUndefined();
  });

  it("append_x_forwarded_host: a host rewrite appends the host the client asked for, once", async () => {
    const rewrite = { host_rewrite_literal: "app.internal", append_x_forwarded_host: true };
    const { app } = await seen({}, rewrite);
    expect([app.host, app["x-forwarded-host"]]).toEqual(["app.internal", "shop.example.com"]);
    const chained = await seen({}, rewrite, { "x-forwarded-host": "edge.example.com" });
    expect(chained.app["x-forwarded-host"]).toBe("edge.example.com,shop.example.com");
    const again = await seen({}, rewrite, { "x-forwarded-host": "edge.example.com, shop.example.com" });
    expect(again.app["x-forwarded-host"]).toBe("edge.example.com, shop.example.com");
    // No rewrite, or the field unset (Envoy's default): none.
    expect((await seen({}, { append_x_forwarded_host: true })).app["x-forwarded-host"]).toBeUndefined();
    expect((await seen({}, { host_rewrite_literal: "app.internal" })).app["x-forwarded-host"]).toBeUndefined();
  });
});
