// Translate's sidecar listeners for interception REDIRECT, compiled by the engine as a pod's sidecar gets them.
import { outboundHttpListener, outboundTcpListener, virtualInbound, virtualOutbound } from "./listeners.js";
import { compile, ConfigError } from "../../../proxy/engine/config/index.js";

const passthrough = {
  name: "PassthroughCluster",
  type: "ORIGINAL_DST",
  connect_timeout: "10s",
  lb_policy: "CLUSTER_PROVIDED",
};
const inbound = (port: number) => ({
  name: `inbound|${port}||`,
  type: "STATIC",
  connect_timeout: "1s",
  load_assignment: {
    cluster_name: `inbound|${port}||`,
    endpoints: [
      { lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: port } } } }] },
    ],
  },
});
const ports = [9080, 8080].map((n) => ({ number: n, name: "http", protocol: "HTTP" }));

function rejected(res: Parameters<typeof compile>[0]): string {
  try {
    compile(res);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("expected a rejection");
}

describe("interception REDIRECT listeners", () => {
  it("compiles virtualOutbound (use_original_dst), unbound per-port listeners and virtualInbound's chains by port", () => {
    const cfg = compile({
      version: "1",
      clusters: [passthrough, inbound(9080), inbound(8080), { ...inbound(7000), name: "outbound|7000||echo" }],
      routes: [{ name: "80", virtual_hosts: [] }],
      listeners: [
        virtualOutbound(),
        outboundHttpListener(80),
        outboundTcpListener("10.96.0.11", 7000, "outbound|7000||echo"),
        virtualInbound(ports as never),
      ],
    });
    const [out, http, tcp, inb] = cfg.listeners;
    expect(out).toMatchObject({
      name: "virtualOutbound",
      port: 15001,
      useOriginalDst: true,
      bindToPort: true,
      byPort: undefined,
    });
    expect(out?.tcp?.cluster).toBe("PassthroughCluster");
    expect(http).toMatchObject({ name: "0.0.0.0_80", bindToPort: false, useOriginalDst: false });
    expect(tcp).toMatchObject({ address: "10.96.0.11", port: 7000, bindToPort: false });
    expect(inb?.hcm).toBeUndefined(); // no default chain: a port nobody serves is closed
    expect([...(inb?.byPort?.keys() ?? [])]).toEqual([9080, 8080]);
    expect(inb?.byPort?.get(8080)?.hcm?.routeConfig?.virtualHosts[0]?.routes[0]?.action).toMatchObject({
      cluster: "inbound|8080||",
    });
  });

  it("refuses what it can't match on, and a second default chain, naming the chain", () => {
    const chain = (match?: object) => ({
      ...(match ? { filter_chain_match: match } : {}),
      filters: [
        {
          name: "tcp",
          typed_config: {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
            stat_prefix: "x",
            cluster: "PassthroughCluster",
          },
        },
      ],
    });
    const listener = (chains: object[]) => ({
      version: "1",
      clusters: [passthrough],
      listeners: [
        { name: "l", address: { socket_address: { address: "0.0.0.0", port_value: 15006 } }, filter_chains: chains },
      ],
    });
    expect(rejected(listener([chain({ server_names: ["a"] })]))).toContain(
      "filter_chains[0].filter_chain_match.server_names: not supported (only destination_port and transport_protocol are)",
    );
    expect(rejected(listener([chain(), chain()]))).toContain(
      "filter_chains[1]: only one filter chain may have no filter_chain_match",
    );
    expect(rejected(listener([chain({ destination_port: 80 }), chain({ destination_port: 80 })]))).toContain(
      "filter_chains[1].filter_chain_match.destination_port: duplicate port 80",
    );
    const bad = {
      ...chain({ destination_port: 81 }),
      filters: [
        {
          name: "tcp",
          typed_config: {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
            cluster: "",
          },
        },
      ],
    };
    expect(rejected(listener([chain({ destination_port: 80 }), bad]))).toContain(
      "filter_chains[1].filters[0].typed_config.cluster: must not be empty",
    );
  });

  it("takes CLUSTER_PROVIDED only with ORIGINAL_DST, as Envoy does", () => {
    expect(rejected({ version: "1", clusters: [{ ...passthrough, lb_policy: "ROUND_ROBIN" }] })).toContain(
      "an ORIGINAL_DST cluster needs lb_policy CLUSTER_PROVIDED",
    );
    expect(rejected({ version: "1", clusters: [{ ...inbound(1), lb_policy: "CLUSTER_PROVIDED" }] })).toContain(
      "CLUSTER_PROVIDED is for ORIGINAL_DST clusters only",
    );
  });
});
