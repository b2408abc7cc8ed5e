import { compile } from "../engine/config/index.js";
import { TYPE } from "../xds/types.js";
import { localShape, mergeRouteTables, OUTBOUND_LISTENER } from "./local-shape.js";

const ROUTER = { name: "envoy.filters.http.router", typed_config: { "@type": TYPE.router } };
const hcm = (extra: object) => ({
  name: "envoy.filters.network.http_connection_manager",
  typed_config: { "@type": TYPE.httpConnectionManager, stat_prefix: "x", http_filters: [ROUTER], ...extra },
});
const at = (address: string, port: number) => ({ socket_address: { address, port_value: port } });
const staticCluster = (name: string, address: string, port: number) => ({
  name,
  type: "STATIC",
  connect_timeout: "1s",
  load_assignment: {
    cluster_name: name,
    endpoints: [{ lb_endpoints: [{ endpoint: { address: at(address, port) } }] }],
  },
});
const table = (name: string, domains: string[], cluster: string) => ({
  name,
  virtual_hosts: [{ name, domains, routes: [{ match: { prefix: "/" }, route: { cluster } }] }],
});

// What discovery serves a sidecar (Istio's capture shape), in miniature.
const served = {
  clusters: [
    staticCluster("outbound|9080||reviews", "127.0.10.13", 9080),
    staticCluster("outbound|7000||grpc", "127.0.10.14", 7000),
    staticCluster("inbound|9080||", "127.0.0.1", 9080),
    { name: "PassthroughCluster", type: "ORIGINAL_DST", connect_timeout: "1s", lb_policy: "CLUSTER_PROVIDED" },
  ],
  routes: [
    table("9080", ["reviews", "reviews:9080", "*"], "outbound|9080||reviews"),
    table("7000", ["grpc:7000", "*"], "outbound|7000||grpc"),
  ],
  listeners: [
    {
      name: "virtualOutbound",
      address: at("0.0.0.0", 15001),
      use_original_dst: true,
      filter_chains: [
        {
          filters: [
            { name: "tcp", typed_config: { "@type": TYPE.tcpProxy, stat_prefix: "p", cluster: "PassthroughCluster" } },
          ],
        },
      ],
    },
    {
      name: "0.0.0.0_9080",
      address: at("0.0.0.0", 9080),
      bind_to_port: false,
      filter_chains: [{ filters: [hcm({ rds: { route_config_name: "9080" } })] }],
    },
    {
      name: "0.0.0.0_7000",
      address: at("0.0.0.0", 7000),
      bind_to_port: false,
      filter_chains: [{ filters: [hcm({ rds: { route_config_name: "7000" } })] }],
    },
    {
      name: "10.0.0.1_3306",
      address: at("10.0.0.1", 3306),
      bind_to_port: false,
      filter_chains: [
        {
          filters: [
            { name: "tcp", typed_config: { "@type": TYPE.tcpProxy, stat_prefix: "t", cluster: "outbound|7000||grpc" } },
          ],
        },
      ],
    },
    {
      name: "virtualInbound",
      address: at("0.0.0.0", 15006),
      traffic_direction: "INBOUND",
      filter_chains: [
        {
          filter_chain_match: { destination_port: 9080 },
          filters: [hcm({ route_config: table("inbound|9080||", ["*"], "inbound|9080||") })],
        },
      ],
    },
  ],
};

describe("localShape (interception NONE)", () => {
  const shaped = localShape(served, { ip: "127.0.10.11", appAddress: "127.0.11.11" });
  const cfg = compile(shaped);
  const bound = Object.fromEntries(cfg.listeners.map((l) => [l.name, `${l.address}:${l.port}`]));

  // Was: the TCP listener found by VIP was dropped, so local mode couldn't reach a TCP service at all.
  it("binds one outbound listener on the proxy's IP, the inbound on the served port, a TCP service on its port; drops what needs capture", () => {
    expect(bound).toEqual({
      [OUTBOUND_LISTENER]: "127.0.10.11:15001",
      virtualInbound_9080: "127.0.10.11:9080",
      outbound_tcp_3306: "127.0.10.11:3306",
    });
    // Nothing is captured: PassthroughCluster sends HTTP where the request's authority says (the test was wrong
    // to expect it dropped: ALLOW_ANY needs it).
    expect(cfg.clusters.get("PassthroughCluster")).toMatchObject({
      type: "ORIGINAL_DST",
      originalDstHeader: ":authority",
    });
  });

  it("routes every service port by Host on the outbound listener; a domain stays with its first virtual host", () => {
    const rc = cfg.listeners.find((l) => l.name === OUTBOUND_LISTENER)?.hcm?.routeConfig;
    expect([...(rc?.exact.keys() ?? [])].sort()).toEqual(["grpc:7000", "reviews", "reviews:9080"]);
    const merged = mergeRouteTables("outbound", served.routes);
    expect((merged.virtual_hosts as { domains: string[] }[]).map((v) => v.domains)).toEqual([
      ["reviews", "reviews:9080", "*"],
      ["grpc:7000"],
    ]);
  });

  it("sends inbound traffic to the app's own address", () => {
    expect(cfg.clusters.get("inbound|9080||")?.endpoints.map((e) => `${e.address}:${e.port}`)).toEqual([
      "127.0.11.11:9080",
    ]);
  });

  it("binds a gateway's listener on its IP instead of 0.0.0.0", () => {
    const gw = localShape(
      {
        clusters: [served.clusters[0]],
        routes: [served.routes[0]],
        listeners: [
          {
            name: "0.0.0.0_8080",
            address: at("0.0.0.0", 8080),
            filter_chains: [{ filters: [hcm({ rds: { route_config_name: "9080" } })] }],
          },
        ],
      },
      { ip: "127.0.0.1" },
    );
    expect(compile(gw).listeners.map((l) => `${l.name}=${l.address}:${l.port}`)).toEqual([
      "0.0.0.0_8080=127.0.0.1:8080",
    ]);
  });
});
