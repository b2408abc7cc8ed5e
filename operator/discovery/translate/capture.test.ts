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
    expect(rejected(listener([chain({ address_suffix: "0.0.0.1", suffix_len: 8 })]))).toContain(
      "filter_chains[0].filter_chain_match.address_suffix: not supported (only destination_port, prefix_ranges, server_names, transport_protocol, application_protocols, direct_source_prefix_ranges, source_type, source_prefix_ranges, source_ports are)",
    );
    expect(rejected(listener([chain({ server_names: ["a"] })]))).toContain(
      "filter_chains[0].filter_chain_match.server_names: needs the envoy.filters.listener.tls_inspector listener filter",
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

  it("renders Istio's inbound chains per mode: PERMISSIVE matches mesh mTLS by ALPN and passes TCP ports' own TLS through", () => {
    const served = [
      { number: 9080, name: "http", protocol: "HTTP" },
      { number: 8443, name: "tls", protocol: "TLS" },
    ];
    const shape = (mode: "STRICT" | "PERMISSIVE" | "DISABLE") =>
      virtualInbound(served as never, undefined, undefined, { modeFor: () => mode, identity: true }).filter_chains?.map(
        (c) => ({ match: c.filter_chain_match, terminates: c.transport_socket !== undefined }),
      );
    const alpn = ["istio", "istio-peer-exchange", "istio-http/1.0", "istio-http/1.1", "istio-h2"];
    expect(shape("PERMISSIVE")).toEqual([
      { match: { destination_port: 9080, transport_protocol: "tls", application_protocols: alpn }, terminates: true },
      { match: { destination_port: 9080, transport_protocol: "raw_buffer" }, terminates: false },
      { match: { destination_port: 8443, transport_protocol: "tls", application_protocols: alpn }, terminates: true },
      { match: { destination_port: 8443, transport_protocol: "tls" }, terminates: false },
      { match: { destination_port: 8443, transport_protocol: "raw_buffer" }, terminates: false },
    ]);
    expect(shape("STRICT")).toEqual([
      { match: { destination_port: 9080, transport_protocol: "tls" }, terminates: true },
      { match: { destination_port: 8443, transport_protocol: "tls" }, terminates: true },
    ]);
    expect(shape("DISABLE")).toEqual([
      { match: { destination_port: 9080 }, terminates: false },
      { match: { destination_port: 8443 }, terminates: false },
    ]);
  });

  it("matches application_protocols (the TLS inspector's ALPN) and refuses what it can't match, naming the chain", () => {
    const chain = (match: object) => ({
      filter_chain_match: match,
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
    const inspector = {
      name: "envoy.filters.listener.tls_inspector",
      typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector" },
    };
    const listener = (chains: object[], filters: object[] = [inspector]) => ({
      version: "1",
      clusters: [passthrough],
      listeners: [
        {
          name: "l",
          address: { socket_address: { address: "0.0.0.0", port_value: 15006 } },
          listener_filters: filters,
          filter_chains: chains,
        },
      ],
    });
    const mtls = { destination_port: 80, transport_protocol: "tls", application_protocols: ["istio", "istio-h2"] };
    const cfg = compile(
      listener([
        chain(mtls),
        chain({ destination_port: 80, transport_protocol: "tls" }),
        chain({ destination_port: 80, transport_protocol: "raw_buffer" }),
      ]),
    );
    const alpn = cfg.listeners[0]?.byPort?.get(80)?.byTransport?.alpn;
    expect([...(alpn?.index ?? [])]).toEqual([
      ["istio", 0],
      ["istio-h2", 0],
    ]);
    expect(alpn?.chains).toHaveLength(1);
    expect(
      rejected(
        listener([chain({ destination_port: 80, transport_protocol: "raw_buffer", application_protocols: ["h2c"] })]),
      ),
    ).toContain("filter_chains[0].filter_chain_match.application_protocols: needs transport_protocol tls");
    expect(rejected(listener([chain({ destination_port: 80, application_protocols: ["h2"] })]))).toContain(
      "filter_chains[0].filter_chain_match.application_protocols: needs transport_protocol tls",
    );
    expect(rejected(listener([chain(mtls)], []))).toContain(
      "filter_chains[0].filter_chain_match.transport_protocol: needs the envoy.filters.listener.tls_inspector listener filter",
    );
    expect(rejected(listener([chain(mtls), chain({ ...mtls, application_protocols: ["istio-h2"] })]))).toContain(
      'filter_chains[1].filter_chain_match.application_protocols: "istio-h2" is matched by another chain on this port',
    );
    expect(rejected(listener([chain({ ...mtls, application_protocols: [""] })]))).toContain(
      "filter_chains[0].filter_chain_match.application_protocols[0]: not a protocol name",
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
