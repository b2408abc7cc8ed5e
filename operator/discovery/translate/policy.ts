// DestinationRule traffic policy: which policy applies to a (host, port, subset), and its Envoy cluster fields.
import type {
  CircuitBreakers,
  Cluster,
  ConfigSource,
  OutlierDetection,
  RouteAction_HashPolicy,
  TransportSocket,
  UpstreamTlsContext,
} from "../../../proxy/xds/resources.js";
import type {
  CertificateValidationContext,
  CommonTlsContext,
  SubjectAltNameMatcher_SanType,
} from "../../../proxy/xds/generated/envoy/extensions/transport_sockets/tls/v3.js";
import { TYPE } from "../../../proxy/xds/types.js";
import { isIP } from "node:net";
import type { DestinationRule, LoadBalancerSettings, TrafficPolicy } from "../model/istio.js";
import type { Cluster_SlowStartConfig as SlowStartConfig } from "../../../proxy/xds/generated/envoy/config/cluster/v3.js";
import { protoDuration } from "../model/duration.js";
import { CA_SUFFIX, CREDENTIAL_PREFIX } from "../model/credentials.js";
import { istioMutual } from "./mtls.js";

export const MAX_UINT32 = 4294967295;
export const ADS: ConfigSource = { ads: {}, resource_api_version: "V3" };

function withPort(policy: TrafficPolicy | undefined, port: number): TrafficPolicy | undefined {
  if (!policy) return undefined;
  const { portLevelSettings, ...rest } = policy;
  const level = portLevelSettings?.find((p) => p.port?.number === port);
  if (!level) return rest;
  const { port: _p, ...levelRest } = level;
  return { ...rest, ...levelRest };
}

/** A subset's policy overrides the rule's, field by field at the top level, port-level settings included. */
export function effectivePolicy(rule: DestinationRule | undefined, port: number, subset: string): TrafficPolicy {
  const base = withPort(rule?.trafficPolicy, port) ?? {};
  const sub = rule?.subsets?.find((s) => s.name === subset);
  return { ...base, ...(withPort(sub?.trafficPolicy, port) ?? {}) };
}

/** Is the destination load balanced by a consistent hash (so retries keep to the same host)? */
export function hashPolicy(policy: TrafficPolicy): RouteAction_HashPolicy[] | undefined {
  const ch = policy.loadBalancer?.consistentHash;
  if (!ch) return undefined;
  if (ch.httpHeaderName) return [{ header: { header_name: ch.httpHeaderName } }];
  if (ch.httpCookie)
    return [{ cookie: { name: ch.httpCookie.name, path: ch.httpCookie.path, ttl: protoDuration(ch.httpCookie.ttl) } }];
  if (ch.useSourceIp) return [{ connection_properties: { source_ip: true } }];
  if (ch.httpQueryParameterName) return [{ query_parameter: { name: ch.httpQueryParameterName } }];
  return undefined;
}

export function loadBalancer(
  policy: TrafficPolicy,
  proxyless: boolean,
): Pick<
  Cluster,
  | "lb_policy"
  | "maglev_lb_config"
  | "ring_hash_lb_config"
  | "common_lb_config"
  | "round_robin_lb_config"
  | "least_request_lb_config"
> {
  const lb = policy.loadBalancer;
  const ch = lb?.consistentHash;
  if (ch) {
    if (ch.maglev && !proxyless)
      return { lb_policy: "MAGLEV", maglev_lb_config: { table_size: ch.maglev.tableSize ?? 65537 } };
    return {
      lb_policy: "RING_HASH",
      ring_hash_lb_config: { minimum_ring_size: ch.ringHash?.minimumRingSize ?? ch.minimumRingSize ?? 1024 },
    };
  }
  const slow = proxyless ? undefined : slowStart(lb);
  switch (lb?.simple) {
    case "ROUND_ROBIN":
      return { lb_policy: "ROUND_ROBIN", ...(slow ? { round_robin_lb_config: { slow_start_config: slow } } : {}) };
    case "RANDOM":
      return { lb_policy: proxyless ? "ROUND_ROBIN" : "RANDOM" };
    case "PASSTHROUGH":
      return { lb_policy: "CLUSTER_PROVIDED" };
    default:
      // Istio's default (and LEAST_CONN's meaning); gRPC clients only know round robin and ring hash.
      if (proxyless) return { lb_policy: "ROUND_ROBIN" };
      return { lb_policy: "LEAST_REQUEST", ...(slow ? { least_request_lb_config: { slow_start_config: slow } } : {}) };
  }
}

/** Istio's warmup (or the older warmupDurationSecs) as Envoy's slow_start_config: setWarmup / setSlowStartConfig. */
function slowStart(lb: LoadBalancerSettings | undefined): SlowStartConfig | undefined {
  const w = lb?.warmup;
  if (w)
    return {
      slow_start_window: protoDuration(w.duration),
      aggression: { default_value: w.aggression ?? 1, runtime_key: "upstream.slow_start_aggression" }, // no runtime here: its default holds
      min_weight_percent: { value: w.minimumPercent ?? 10 },
    };
  return lb?.warmupDurationSecs ? { slow_start_window: protoDuration(lb.warmupDurationSecs) } : undefined;
}

export function circuitBreakers(policy: TrafficPolicy): CircuitBreakers {
  const tcp = policy.connectionPool?.tcp;
  const http = policy.connectionPool?.http;
  return {
    thresholds: [
      {
        max_connections: tcp?.maxConnections ?? MAX_UINT32,
        max_pending_requests: http?.http1MaxPendingRequests ?? MAX_UINT32,
        max_requests: http?.http2MaxRequests ?? MAX_UINT32,
        max_retries: http?.maxRetries ?? MAX_UINT32,
        track_remaining: true,
      },
    ],
  };
}

/** Istio leaves unset fields to Envoy's defaults; we write them out so every consumer agrees. */
export function outlierDetection(policy: TrafficPolicy): OutlierDetection | undefined {
  const o = policy.outlierDetection;
  if (!o) return undefined;
  const consecutive5xx = o.consecutive5xxErrors ?? o.consecutiveErrors ?? 5;
  const out: OutlierDetection = {
    consecutive_5xx: consecutive5xx,
    enforcing_consecutive_5xx: consecutive5xx > 0 ? 100 : 0,
    enforcing_success_rate: 0,
    interval: protoDuration(o.interval) ?? "10s",
    base_ejection_time: protoDuration(o.baseEjectionTime) ?? "30s",
    max_ejection_percent: o.maxEjectionPercent ?? 10,
  };
  if (o.consecutiveGatewayErrors !== undefined) {
    out.consecutive_gateway_failure = o.consecutiveGatewayErrors;
    out.enforcing_consecutive_gateway_failure = o.consecutiveGatewayErrors > 0 ? 100 : 0;
  }
  // As istiod: local-origin failures (connect failures, resets, timeouts) counted apart from the upstream's 5xx.
  if (o.splitExternalLocalOriginErrors) out.split_external_local_origin_errors = true;
  if (o.consecutiveLocalOriginFailures) {
    out.consecutive_local_origin_failure = o.consecutiveLocalOriginFailures;
    out.enforcing_consecutive_local_origin_failure = 100;
  }
  return out;
}

function sanType(name: string): SubjectAltNameMatcher_SanType {
  return isIP(name) ? "IP_ADDRESS" : name.includes("://") ? "URI" : "DNS";
}

/** Where Debian (and Istio's images) keep the system's CA bundle: SIMPLE/MUTUAL without caCertificates verify against it. */
export const SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

/**
 * Upstream TLS per the rule's `tls.mode`. SIMPLE and MUTUAL originate TLS to `sni` (default: the service's host),
 * verifying the server against `caCertificates` (default: the system's CA bundle, as Istio's
 * VERIFY_CERTIFICATE_AT_CLIENT) and its SAN against `subjectAltNames` (default: the SNI); `insecureSkipVerify`
 * turns verification off. ISTIO_MUTUAL takes the mesh certificate and root over SDS, and checks `subjectAltNames`
 * (default: the destination's SPIFFE IDs).
 */
export function transportSocket(
  policy: TrafficPolicy,
  hostname: string,
  mesh: { sni: string; sans: string[]; http2: boolean },
): TransportSocket | undefined {
  const tls = policy.tls;
  if (!tls || !tls.mode || tls.mode === "DISABLE") return undefined;
  if (tls.mode === "ISTIO_MUTUAL")
    return istioMutual(tls.sni ?? mesh.sni, tls.subjectAltNames?.length ? tls.subjectAltNames : mesh.sans, mesh.http2);
  const sni = tls.sni ?? (hostname.startsWith("*") || isIP(hostname) ? undefined : hostname);
  const sans = tls.subjectAltNames?.length ? tls.subjectAltNames : sni ? [sni] : [];
  const matchSans = sans.length
    ? sans.map((name) => ({ san_type: sanType(name), matcher: { exact: name } }))
    : undefined;
  const common: CommonTlsContext = tls.credentialName
    ? credentialContext(tls.credentialName, tls.mode === "MUTUAL", !tls.insecureSkipVerify, matchSans)
    : {};
  if (!tls.credentialName && !tls.insecureSkipVerify) {
    common.validation_context = {
      trusted_ca: { filename: tls.caCertificates || SYSTEM_CA_BUNDLE }, // "" is unset, as Istio reads it
      ...(tls.caCrl ? { crl: { filename: tls.caCrl } } : {}),
      match_typed_subject_alt_names: matchSans,
    };
  }
  if (!tls.credentialName && tls.mode === "MUTUAL") {
    common.tls_certificates = [
      {
        certificate_chain: { filename: tls.clientCertificate ?? "" },
        private_key: { filename: tls.privateKey ?? "" },
      },
    ];
  }
  const context: Omit<UpstreamTlsContext, "@type"> = { sni, common_tls_context: common };
  return { name: "envoy.transport_sockets.tls", typed_config: { "@type": TYPE.upstreamTlsContext, ...context } };
}

/**
 * `credentialName`, as istiod's ApplyCustomSDSToClientCommonTLSContext: MUTUAL's client certificate is SDS Secret
 * `kubernetes://<name>`, the CA that verifies the server `kubernetes://<name>-cacert` (unless insecureSkipVerify),
 * with the SANs beside it; discovery serves both from the proxy's namespace (upstream-credentials.ts).
 */
function credentialContext(
  name: string,
  mutual: boolean,
  verify: boolean,
  sans: CertificateValidationContext["match_typed_subject_alt_names"],
): CommonTlsContext {
  return {
    ...(mutual ? { tls_certificate_sds_secret_configs: [{ name: CREDENTIAL_PREFIX + name, sds_config: ADS }] } : {}),
    ...(verify
      ? {
          combined_validation_context: {
            default_validation_context: { match_typed_subject_alt_names: sans },
            validation_context_sds_secret_config: { name: CREDENTIAL_PREFIX + name + CA_SUFFIX, sds_config: ADS },
          },
        }
      : {}),
  };
}
