// Clusters and their ClusterLoadAssignments, named as Istio names them: `outbound|<port>|<subset>|<fqdn>`,
// one EDS cluster per service port and per DestinationRule subset, and `inbound|<port>||` for the own workload.
import { endpointWorkload } from "../../../proxy/engine/workload.js";
import type { Address, Cluster, ClusterLoadAssignment, HttpProtocolOptions } from "../../../proxy/xds/resources.js";
import { collectorCluster } from "./tracing.js";
import { TYPE } from "../../../proxy/xds/types.js";
import type { TranslateMemo } from "./memo.js";
import { endpointPort, labelsMatch } from "../model/config.js";
import type { ConfigModel, Endpoint, Service, ServicePort } from "../model/config.js";
import { durationSeconds, protoDuration } from "../model/duration.js";
import type { ConnectionPoolSettings, TrafficPolicy } from "../model/istio.js";
import { autoMtlsMatches, endpointTlsMetadata, istioMutual, serviceSpiffeIds } from "./mtls.js";
import { portMode, workloadMtls } from "./peer-authentication.js";
import { isHttpProtocol } from "../model/normalise.js";
import { ADS, circuitBreakers, effectivePolicy, loadBalancer, outlierDetection, transportSocket } from "./policy.js";
import { hasSelector, ruleFor } from "./rule-select.js";
import { findWorkload, type ProxyIdentity } from "./proxy.js";
import type { LocalityLbSetting } from "../model/istio.js";
import {
  applyLocality,
  commonLbConfig,
  localitySetting,
  proxyLocality,
  proxyPlace,
  usesFailoverPriority,
  type ProxyPlace,
} from "./locality.js";

export const PASSTHROUGH = "PassthroughCluster";

const noWarnings = (): void => undefined;
export const BLACKHOLE = "BlackHoleCluster";

export function outboundName(port: number, subset: string, hostname: string): string {
  return `outbound|${port}|${subset}|${hostname}`;
}

export function inboundName(port: number): string {
  return `inbound|${port}||`;
}

function socketAddress(address: string, port: number): Address {
  return { socket_address: { address, port_value: port } };
}

/** Envoy's largest load_balancing_weight (a uint32). */
const MAX_WEIGHT = 2 ** 32 - 1;
/** An endpoint's weight: unset or 0 is 1, as Istio's GetLoadBalancingWeight (Envoy's minimum is 1). */
const endpointWeight = (ep: Endpoint): number => ep.weight || 1;

/** Locality load balancing for one proxy (translate/locality.ts): where it is, the setting, whether failover applies. */
interface LocalityLb {
  place: ProxyPlace;
  setting: LocalityLbSetting;
  failover: boolean;
}

/**
 * `mtls`: whether an endpoint takes mTLS on its port (Istio's endpoint builder: a meshed endpoint whose workload's
 * PeerAuthentication says DISABLE there is marked plaintext, so auto mTLS sends it plaintext). `locality`: the
 * priorities or weights for the proxy's locality.
 */
export function loadAssignment(
  name: string,
  endpoints: Endpoint[],
  port: ServicePort,
  mtls: (ep: Endpoint, port: number) => boolean = () => true,
  locality?: LocalityLb,
): ClusterLoadAssignment {
  const byLocality = new Map<string, Endpoint[]>();
  for (const ep of endpoints) {
    const key = ep.locality ?? "";
    byLocality.set(key, [...(byLocality.get(key) ?? []), ep]);
  }
  const cla = build(name, byLocality, port, mtls);
  if (locality) applyLocality(cla, [...byLocality.values()], locality.place, locality.setting, locality.failover);
  return cla;
}

function build(
  name: string,
  byLocality: Map<string, Endpoint[]>,
  port: ServicePort,
  mtls: (ep: Endpoint, port: number) => boolean,
): ClusterLoadAssignment {
  return {
    "@type": TYPE.endpoint,
    cluster_name: name,
    endpoints: [...byLocality.entries()].map(([locality, eps]) => {
      const [region, zone, subZone] = locality.split("/");
      return {
        locality: locality ? { region, zone, sub_zone: subZone } : {},
        // gRPC clients ignore a locality without a weight; Envoy's are uint32 (a sum past it would wrap to 0).
        load_balancing_weight: Math.min(
          eps.reduce((sum, ep) => sum + endpointWeight(ep), 0),
          MAX_WEIGHT,
        ),
        lb_endpoints: eps.map((ep) => {
          const tls = mtls(ep, endpointPort(ep, port)) ? endpointTlsMetadata(ep) : undefined;
          return {
            endpoint: { address: socketAddress(ep.address, endpointPort(ep, port)) },
            load_balancing_weight: endpointWeight(ep),
            ...(tls || ep.workload
              ? {
                  metadata: {
                    filter_metadata: {
                      ...tls,
                      ...(ep.workload
                        ? { istio: { workload: endpointWorkload(ep.workload.name, ep.workload.namespace) } }
                        : {}),
                    },
                  },
                }
              : {}),
          };
        }),
      };
    }),
  };
}

/** The cluster speaks HTTP/2: HTTP2 and GRPC ports, or HTTP with h2UpgradePolicy UPGRADE. */
function isH2(port: ServicePort, http?: HTTPPool): boolean {
  return (
    port.protocol === "HTTP2" ||
    port.protocol === "GRPC" ||
    port.protocol === "GRPC-WEB" || // Istio's IsHTTP2: the app behind a grpc-web port is a gRPC server
    (http?.h2UpgradePolicy === "UPGRADE" && port.protocol === "HTTP")
  );
}

/** HttpProtocolOptions as Istio writes it: HTTP/2 for HTTP2/GRPC/GRPC-WEB ports (or h2UpgradePolicy UPGRADE), and the pool's limits. */
function protocolOptions(
  port: ServicePort,
  pool?: ConnectionPoolSettings,
): Cluster["typed_extension_protocol_options"] {
  const http = pool?.http;
  const h2 = isH2(port, http);
  const duration = pool?.tcp?.maxConnectionDuration;
  const hasCommon =
    http?.maxRequestsPerConnection !== undefined || http?.idleTimeout !== undefined || duration !== undefined;
  const client = http?.useClientProtocol === true;
  if (!h2 && !hasCommon && !client) return undefined;
  // maxConcurrentStreams caps this side's streams on an HTTP/2 connection (0: Istio's default, none of its own).
  const streams = http?.maxConcurrentStreams ? { max_concurrent_streams: http.maxConcurrentStreams } : {};
  // useClientProtocol: each request in its client's protocol (h2UpgradePolicy then has no effect, as in Istio).
  const options: HttpProtocolOptions = client
    ? {
        "@type": TYPE.httpProtocolOptions,
        use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: streams },
      }
    : {
        "@type": TYPE.httpProtocolOptions,
        explicit_http_config: h2 ? { http2_protocol_options: streams } : { http_protocol_options: {} },
      };
  if (hasCommon)
    options.common_http_protocol_options = {
      max_requests_per_connection: http?.maxRequestsPerConnection,
      idle_timeout: protoDuration(http?.idleTimeout),
      max_connection_duration: protoDuration(duration),
    };
  return { "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": options };
}

/** tcpKeepalive → upstream_connection_options.tcp_keepalive, in whole seconds as Istio writes it. */
function keepalive(tcp: TCPPool | undefined): Cluster["upstream_connection_options"] {
  const k = tcp?.tcpKeepalive;
  if (!k) return undefined;
  const seconds = (d: string | undefined) => (d === undefined ? undefined : Math.floor(durationSeconds(d) ?? 0));
  return {
    tcp_keepalive: {
      keepalive_probes: k.probes,
      keepalive_time: seconds(k.time),
      keepalive_interval: seconds(k.interval),
    },
  };
}

type HTTPPool = NonNullable<ConnectionPoolSettings["http"]>;
type TCPPool = NonNullable<ConnectionPoolSettings["tcp"]>;

interface Built {
  clusters: Cluster[];
  endpoints: ClusterLoadAssignment[];
}

/**
 * The cluster's transport: the DestinationRule's tls mode when it sets one; else Istio's auto mTLS for a proxy that
 * holds a mesh certificate (ISTIO_MUTUAL to endpoints labelled tlsMode istio, plaintext to the others); else
 * plaintext. Original-destination clusters know no endpoint labels: plaintext unless the rule says otherwise.
 */
function upstreamTransport(
  policy: TrafficPolicy,
  service: Service,
  proxy: ProxyIdentity,
  mesh: { sni: string; sans: string[]; http2: boolean },
): Pick<Cluster, "transport_socket" | "transport_socket_matches"> {
  if (policy.tls?.mode) return { transport_socket: transportSocket(policy, service.hostname, mesh) };
  const passthrough = service.resolution === "NONE" || policy.loadBalancer?.simple === "PASSTHROUGH";
  if (!proxy.mtls || proxy.proxyless || passthrough) return {};
  return { transport_socket_matches: autoMtlsMatches(istioMutual(mesh.sni, mesh.sans, mesh.http2)) };
}

/** The proxy as a DestinationRule's client: its namespace and its workload's labels (a workloadSelector's). */
const clientOf = (model: ConfigModel, proxy: ProxyIdentity) => ({
  namespace: proxy.namespace,
  labels: findWorkload(model, proxy)?.labels ?? {},
});

function serviceClusters(model: ConfigModel, service: Service, proxy: ProxyIdentity, out: Built): void {
  const rule = ruleFor(model, service, clientOf(model, proxy));
  const subsets = ["", ...(rule?.spec.subsets ?? []).map((s) => s.name)];
  const trustDomain = model.mesh?.trustDomain ?? "cluster.local";
  const takesMtls = (ep: Endpoint, at: number): boolean =>
    portMode(workloadMtls(model, service.namespace, ep.labels), at) !== "DISABLE";
  const place = proxyPlace(model, proxy);
  for (const port of service.ports) {
    for (const subset of subsets) {
      const name = outboundName(port.number, subset, service.hostname);
      const policy = effectivePolicy(rule?.spec, port.number, subset);
      const labels = rule?.spec.subsets?.find((s) => s.name === subset)?.labels;
      const endpoints = subset ? service.endpoints.filter((ep) => labelsMatch(labels, ep.labels)) : service.endpoints;
      const setting = localitySetting(model, policy.loadBalancer?.localityLbSetting);
      // Failover only with outlier detection, as Istio: without ejections the proxy would never leave priority 0.
      const locality = setting && { place, setting, failover: policy.outlierDetection !== undefined };
      const cluster: Cluster = {
        "@type": TYPE.cluster,
        name,
        connect_timeout: protoDuration(policy.connectionPool?.tcp?.connectTimeout) ?? "10s",
        ...loadBalancer(policy, proxy.proxyless),
        circuit_breakers: circuitBreakers(policy),
        outlier_detection: outlierDetection(policy),
        common_lb_config: commonLbConfig(policy, setting),
        ...upstreamTransport(policy, service, proxy, {
          sni: `outbound_.${port.number}_.${subset}_.${service.hostname}`,
          sans: serviceSpiffeIds(service, trustDomain),
          http2: isHttpProtocol(port.protocol) && isH2(port, policy.connectionPool?.http),
        }),
        upstream_connection_options: keepalive(policy.connectionPool?.tcp),
        typed_extension_protocol_options: isHttpProtocol(port.protocol)
          ? protocolOptions(port, policy.connectionPool)
          : undefined,
        metadata: rule
          ? {
              filter_metadata: {
                istio: {
                  config: `/apis/networking.istio.io/v1/namespaces/${rule.namespace}/destination-rule/${rule.name}`,
                  subset: subset || undefined,
                },
              },
            }
          : undefined,
      };
      if (service.resolution === "NONE" || policy.loadBalancer?.simple === "PASSTHROUGH") {
        cluster.type = "ORIGINAL_DST";
        cluster.lb_policy = "CLUSTER_PROVIDED";
      } else if (service.resolution === "DNS") {
        const targets = endpoints.length > 0 ? endpoints : [{ address: service.hostname, ports: {}, labels: {} }];
        const { "@type": _t, ...assignment } = loadAssignment(name, targets, port, takesMtls, locality);
        cluster.type = "STRICT_DNS";
        cluster.load_assignment = assignment;
      } else {
        cluster.type = "EDS";
        cluster.eds_cluster_config = { eds_config: ADS, service_name: name };
        out.endpoints.push(loadAssignment(name, endpoints, port, takesMtls, locality));
      }
      out.clusters.push(cluster);
    }
  }
}

/** One service's ClusterLoadAssignments for a proxy, as buildClusters makes them: for an endpoints-only change. */
export function serviceAssignments(
  model: ConfigModel,
  service: Service,
  proxy: ProxyIdentity,
): ClusterLoadAssignment[] {
  const out: Built = { clusters: [], endpoints: [] };
  serviceClusters(model, service, proxy, out);
  return out.endpoints;
}

/** Inbound clusters for the ports the proxy's own workload serves: straight to the app on loopback. */
export function inboundClusters(ports: ServicePort[]): Cluster[] {
  return ports.map((port) => {
    const target = port.targetPort ?? port.number;
    const name = inboundName(target);
    const { "@type": _t, ...assignment } = loadAssignment(name, [{ address: "127.0.0.1", ports: {}, labels: {} }], {
      ...port,
      targetPort: target,
    });
    return {
      "@type": TYPE.cluster,
      name,
      type: "STATIC",
      connect_timeout: "10s",
      lb_policy: "ROUND_ROBIN",
      load_assignment: assignment,
      typed_extension_protocol_options: isHttpProtocol(port.protocol) ? protocolOptions(port) : undefined,
    };
  });
}

/** The clusters of `services` (the proxy's scope) and the fixed ones. */
export function buildClusters(
  model: ConfigModel,
  proxy: ProxyIdentity,
  services: Service[],
  memo?: TranslateMemo,
): Built {
  const out: Built = { clusters: [], endpoints: [] };
  // What serviceClusters reads besides the service: the proxy's namespace (which rule), mTLS and gRPC-ness, its
  // locality (and its labels, where failoverPriority orders endpoints by them), the rule, the mesh config (trust
  // domain, locality setting) and the PeerAuthentications (which endpoints take mTLS).
  const key = `${proxy.namespace}\0${proxy.mtls === true}\0${proxy.proxyless}\0${proxyLocality(model, proxy)}`;
  let withLabels: string | undefined;
  let client: ReturnType<typeof clientOf> | undefined;
  for (const service of services) {
    if (!memo) {
      serviceClusters(model, service, proxy, out);
      continue;
    }
    const rule = ruleFor(model, service, (client ??= clientOf(model, proxy)));
    const byLabels = usesFailoverPriority(model, rule?.spec);
    if (byLabels) withLabels ??= `${key}\0${JSON.stringify(Object.entries(proxyPlace(model, proxy).labels).sort())}`;
    const deps = [rule, model.mesh, model.peerAuthentications, model.domainSuffix];
    // A selector rule is some workloads' only: their clusters are kept beside the others', not in their place.
    const which = rule && hasSelector(rule.spec) ? `\0${rule.namespace}/${rule.name}` : "";
    const built = memo.get("clusters", service, ((byLabels && withLabels) || key) + which, deps, noWarnings, () => {
      const one: Built = { clusters: [], endpoints: [] };
      serviceClusters(model, service, proxy, one);
      return one;
    });
    out.clusters.push(...built.clusters);
    out.endpoints.push(...built.endpoints);
  }
  if (!proxy.proxyless) {
    out.clusters.push(
      {
        "@type": TYPE.cluster,
        name: PASSTHROUGH,
        type: "ORIGINAL_DST",
        connect_timeout: "10s",
        lb_policy: "CLUSTER_PROVIDED",
      },
      { "@type": TYPE.cluster, name: BLACKHOLE, type: "STATIC", connect_timeout: "10s" },
    );
    if (model.mesh?.tracer) out.clusters.push(collectorCluster(model.mesh.tracer));
  }
  return out;
}
