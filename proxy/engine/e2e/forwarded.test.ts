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
