// transport_socket_matches (Istio's auto mTLS): each endpoint connects with the first match its metadata
// `envoy.transport_socket_match` satisfies, else the cluster's transport_socket; what the engine can't do is a NACK
// naming the field.
import { compile, ConfigError } from "./index.js";
import { ClusterRuntime } from "../cluster.js";
import { TYPE } from "../../xds/types.js";

const RAW = "type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer";
const tls = (sni: string) => ({
  name: "envoy.transport_sockets.tls",
  typed_config: { "@type": TYPE.upstreamTlsContext, sni, common_tls_context: {} },
});
const endpoint = (address: string, meta?: Record<string, unknown>) => ({
  endpoint: { address: { socket_address: { address, port_value: 80 } } },
  ...(meta ? { metadata: { filter_metadata: { "envoy.transport_socket_match": meta } } } : {}),
});
const matches = [
  { name: "tlsMode-istio", match: { tlsMode: "istio" }, transport_socket: tls("mesh") },
  {
    name: "tlsMode-disabled",
    match: {},
    transport_socket: { name: "envoy.transport_sockets.raw_buffer", typed_config: { "@type": RAW } },
  },
];

const cluster = (
  extra: Record<string, unknown>,
  eps = [endpoint("10.0.0.1", { tlsMode: "istio" }), endpoint("10.0.0.2")],
) => ({
  clusters: [
    { name: "c", type: "STATIC", load_assignment: { cluster_name: "c", endpoints: [{ lb_endpoints: eps }] }, ...extra },
  ],
});

function nack(res: Parameters<typeof compile>[0]): string {
  try {
    compile(res);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("expected a NACK");
}

describe("transport_socket_matches", () => {
  it("gives each endpoint the first matching transport: TLS to the meshed one, plaintext to the other", () => {
    const c = compile(cluster({ transport_socket_matches: matches })).clusters.get("c");
    if (!c) throw new Error("no cluster");
    const rt = new ClusterRuntime(c);
    expect(rt.dialOptionsFor(hostOf(rt, "10.0.0.1:80")).tls?.sni).toBe("mesh");
    expect(rt.dialOptionsFor(hostOf(rt, "10.0.0.2:80")).tls).toBeUndefined();
  });

  it("falls back to the cluster's transport_socket when no match takes the endpoint", () => {
    const c = compile(
      cluster({ transport_socket_matches: [matches[0]], transport_socket: tls("fallback") }),
    ).clusters.get("c");
    if (!c) throw new Error("no cluster");
    const rt = new ClusterRuntime(c);
    expect(rt.dialOptionsFor(hostOf(rt, "10.0.0.2:80")).tls?.sni).toBe("fallback");
    expect(rt.dialOptionsFor(hostOf(rt, "10.0.0.1:80")).tls?.sni).toBe("mesh");
  });

  it("NACKs what it doesn't implement, naming the field", () => {
    expect(nack(cluster({ transport_socket_matches: [{ ...matches[0], match: { tlsMode: 1 } }] }))).toContain(
      "transport_socket_matches[0].match.tlsMode: only string values are supported",
    );
    expect(nack(cluster({ transport_socket_matches: [{ ...matches[0], weight: 2 }] }))).toContain(
      "transport_socket_matches[0].weight: not supported by this proxy",
    );
    expect(
      nack(
        cluster({
          transport_socket_matches: [
            { name: "x", transport_socket: { name: "alts", typed_config: { "@type": "type.googleapis.com/x.Alts" } } },
          ],
        }),
      ),
    ).toContain(
      'transport_socket_matches[0].transport_socket.typed_config.@type: unsupported transport socket "x.Alts"',
    );
    expect(nack(cluster({}, [endpoint("10.0.0.1", { tlsMode: true })]))).toContain(
      "metadata.filter_metadata.envoy.transport_socket_match.tlsMode: only string values are supported",
    );
    const sds = {
      ...matches[0],
      transport_socket: {
        name: "envoy.transport_sockets.tls",
        typed_config: {
          "@type": TYPE.upstreamTlsContext,
          common_tls_context: { tls_certificate_sds_secret_configs: [{ name: "default", sds_config: { ads: {} } }] },
        },
      },
    };
    // Was a NACK: a cluster whose secret hasn't come is kept, not ready (its connections refused), as Envoy's.
    const compiled = compile(cluster({ transport_socket_matches: [sds] }));
    expect(compiled.clusters.get("c")?.socketMatches[0]?.tls?.notReady).toBe("default");
  });
});

/** The runtime host of an endpoint key: the balancer's pick with every other host excluded. */
function hostOf(rt: ClusterRuntime, key: string) {
  const others = new Set(rt.config.endpoints.map((e) => e.key).filter((k) => k !== key));
  const h = rt.pick(undefined, Math.random, others);
  if (h?.key !== key) throw new Error(`no host ${key}`);
  return h;
}
