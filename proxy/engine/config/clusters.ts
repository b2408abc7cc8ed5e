// Compiles Clusters and ClusterLoadAssignments.
import type { CircuitBreakers, Cluster, Endpoint, HealthCheck, LbPolicy, OutlierDetection } from "./types.js";
import type { Assignment } from "./cluster-types.js";
import { commonLb } from "./common-lb.js";
import { adsSource, join, nameOf, onlyKnown, Reader, type Obj } from "./read.js";
import { slowStart } from "./slow-start.js";
import { httpUpstream, keepAlive, socketMatches, stringMap, upstreamTls } from "./upstream.js";
import type { Secrets } from "./secrets.js";

/** The endpoint metadata namespace transport_socket_matches compare against (Envoy's). */
const SOCKET_MATCH = "envoy.transport_socket_match";
const TYPES = ["STATIC", "STRICT_DNS", "LOGICAL_DNS", "EDS", "ORIGINAL_DST"] as const;
const POLICIES = ["ROUND_ROBIN", "LEAST_REQUEST", "RANDOM", "RING_HASH", "MAGLEV", "CLUSTER_PROVIDED"] as const;

/**
 * The fields this proxy implements, per message: any other field set to other than its default is refused, naming it,
 * rather than taken and ignored. Not implemented, so refused when set: drop overloads, subsets (lb_subset_config),
 * common_lb_config other than the panic threshold and locality weighting (common-lb.ts), DNS resolution settings,
 * and success-rate or failure-percentage ejection.
 */
const KNOWN = {
  Cluster: [
    "name",
    "type",
    "eds_cluster_config",
    "load_assignment",
    "lb_policy",
    "original_dst_lb_config",
    "ring_hash_lb_config",
    "maglev_lb_config",
    "least_request_lb_config",
    "round_robin_lb_config",
    "connect_timeout",
    "circuit_breakers",
    "outlier_detection",
    "health_checks",
    "transport_socket",
    "transport_socket_matches",
    "upstream_connection_options",
    "typed_extension_protocol_options",
    "common_http_protocol_options",
    "http_protocol_options",
    "http2_protocol_options",
    "max_requests_per_connection",
    "metadata", // informational (Istio's config reference): nothing in it changes traffic
    "common_lb_config", // its fields: common-lb.ts
  ],
  ClusterLoadAssignment: ["cluster_name", "endpoints", "policy"],
  policy: ["overprovisioning_factor"],
  // A locality's weight counts only with common_lb_config.locality_weighted_lb_config (lb/priority.ts).
  LocalityLbEndpoints: ["locality", "lb_endpoints", "load_balancing_weight", "priority"],
  LbEndpoint: ["endpoint", "health_status", "metadata", "load_balancing_weight"],
  Endpoint: ["address"],
  // track_remaining: the remaining_* gauges are always kept (cluster-stats.ts).
  threshold: ["priority", "max_connections", "max_pending_requests", "max_requests", "max_retries", "track_remaining"],
  health_check: ["timeout", "interval", "unhealthy_threshold", "healthy_threshold", "http_health_check"],
  http_health_check: ["path", "host"],
  ring_hash_lb_config: ["minimum_ring_size", "maximum_ring_size"],
  maglev_lb_config: ["table_size"],
  least_request_lb_config: ["choice_count", "slow_start_config"],
  round_robin_lb_config: ["slow_start_config"],
  outlier_detection: [
    "consecutive_5xx",
    "enforcing_consecutive_5xx",
    "consecutive_gateway_failure",
    "enforcing_consecutive_gateway_failure",
    "interval",
    "base_ejection_time",
    "max_ejection_time",
    "max_ejection_percent",
    "split_external_local_origin_errors",
    "consecutive_local_origin_failure",
    "enforcing_consecutive_local_origin_failure",
  ],
} as const;

/** Envoy's default overprovisioning_factor: a level counts as fully available down to 1/1.4 of its hosts healthy. */
const OVERPROVISIONING = 140;

/** A ClusterLoadAssignment's endpoints. */
export function compileEndpoints(raw: unknown, index = 0): { clusterName: string } & Assignment {
  const r = new Reader("ClusterLoadAssignment", nameOf(raw, "cluster_name", index));
  const o = r.obj(raw, "");
  return { clusterName: r.reqStr(o, "cluster_name", ""), ...endpoints(r, o, "") };
}

function endpoints(r: Reader, o: Obj, path: string): Assignment {
  onlyKnown(r, o, path, KNOWN.ClusterLoadAssignment, "ClusterLoadAssignment");
  const policy = r.optObj(o, "policy", path);
  if (policy) onlyKnown(r, policy, join(path, "policy"), KNOWN.policy, "ClusterLoadAssignment.policy");
  const pp = join(path, "policy");
  const overprovisioning = (policy && r.num(policy, "overprovisioning_factor", pp)) ?? OVERPROVISIONING;
  if (!(Number.isInteger(overprovisioning) && overprovisioning > 0))
    r.fail(join(pp, "overprovisioning_factor"), "must be a whole number above 0");
  const out: Endpoint[] = [];
  r.list(o, "endpoints", path).forEach((l, i) => {
    const lp = join(join(path, "endpoints"), i);
    const lo = r.obj(l, lp);
    onlyKnown(r, lo, lp, KNOWN.LocalityLbEndpoints, "LocalityLbEndpoints");
    const loc = r.optObj(lo, "locality", lp);
    const locality = loc ? [loc.region, loc.zone, loc.sub_zone].filter((x) => typeof x === "string").join("/") : "";
    const priority = r.num(lo, "priority", lp) ?? 0;
    if (!Number.isInteger(priority) || priority < 0 || priority > 128)
      r.fail(join(lp, "priority"), "must be a whole number from 0 to 128"); // Envoy's limit: lte 128
    const localityWeight = r.num(lo, "load_balancing_weight", lp) ?? 0;
    if (!Number.isInteger(localityWeight) || localityWeight < 0 || localityWeight > 2 ** 32 - 1)
      r.fail(join(lp, "load_balancing_weight"), "must be a whole number from 1 to 4294967295");
    r.list(lo, "lb_endpoints", lp).forEach((e, j) => {
      const ep = join(join(lp, "lb_endpoints"), j);
      const eo = r.obj(e, ep);
      onlyKnown(r, eo, ep, KNOWN.LbEndpoint, "LbEndpoint");
      const end = r.obj(eo.endpoint, join(ep, "endpoint"));
      onlyKnown(r, end, join(ep, "endpoint"), KNOWN.Endpoint, "Endpoint");
      const addr = r.obj(end.address, join(ep, "endpoint.address"));
      onlyKnown(r, addr, join(ep, "endpoint.address"), ["socket_address"], "Address");
      const sp = join(ep, "endpoint.address.socket_address");
      const sa = r.obj(addr.socket_address, sp);
      onlyKnown(r, sa, sp, ["address", "port_value"], "SocketAddress");
      const address = r.reqStr(sa, "address", sp);
      const port = r.num(sa, "port_value", sp) ?? 0;
      if (!Number.isInteger(port) || port <= 0 || port > 65535) r.fail(join(sp, "port_value"), `invalid port ${port}`);
      const health = r.str(eo, "health_status", ep) ?? "UNKNOWN";
      const meta = r.optObj(eo, "metadata", ep);
      const filterMeta = meta && r.optObj(meta, "filter_metadata", join(ep, "metadata"));
      const fmp = join(ep, "metadata.filter_metadata");
      const istio = filterMeta && r.optObj(filterMeta, "istio", fmp);
      const tsm = filterMeta && r.optObj(filterMeta, SOCKET_MATCH, fmp);
      out.push({
        address,
        port,
        weight: r.num(eo, "load_balancing_weight", ep) ?? 1,
        healthy: health === "UNKNOWN" || health === "HEALTHY",
        key: `${address}:${port}`,
        locality,
        priority,
        localityWeight,
        // Istio's `name;namespace;service;revision;cluster`, or a bare name (stats.ts reads it).
        workload: typeof istio?.workload === "string" ? istio.workload : undefined,
        socketMatch: tsm ? stringMap(r, tsm, join(fmp, SOCKET_MATCH)) : undefined,
      });
    });
  });
  return { endpoints: out, overprovisioning };
}

export function compileCluster(
  raw: unknown,
  index: number,
  eds: ReadonlyMap<string, Assignment>,
  secrets: Secrets = new Map(),
): Cluster {
  const name = nameOf(raw, "name", index);
  const r = new Reader("Cluster", name);
  const o = r.obj(raw, "");
  r.reqStr(o, "name", "");
  onlyKnown(r, o, "", KNOWN.Cluster, "Cluster");
  const type = r.enumName(o, "type", "", TYPES, "STATIC");
  const edsConfig = r.optObj(o, "eds_cluster_config", "");
  if (edsConfig) {
    onlyKnown(r, edsConfig, "eds_cluster_config", ["eds_config", "service_name"], "EdsClusterConfig");
    adsSource(r, r.optObj(edsConfig, "eds_config", "eds_cluster_config"), "eds_cluster_config.eds_config");
  }
  const edsName = (edsConfig && r.str(edsConfig, "service_name", "eds_cluster_config")) || name;
  const la = r.optObj(o, "load_assignment", "");
  let assignment: Assignment = la
    ? endpoints(r, la, "load_assignment")
    : { endpoints: [], overprovisioning: OVERPROVISIONING };
  if (type === "EDS") assignment = eds.get(edsName) ?? { endpoints: [], overprovisioning: OVERPROVISIONING };
  const policy = r.enumName(o, "lb_policy", "", POLICIES, "ROUND_ROBIN");
  // ORIGINAL_DST picks no host (the original destination is the host): Envoy requires CLUSTER_PROVIDED there, and only there.
  if (policy === "CLUSTER_PROVIDED" && type !== "ORIGINAL_DST")
    r.fail("lb_policy", "CLUSTER_PROVIDED is for ORIGINAL_DST clusters only");
  if (type === "ORIGINAL_DST" && policy !== "CLUSTER_PROVIDED" && o.lb_policy !== undefined)
    r.fail("lb_policy", "an ORIGINAL_DST cluster needs lb_policy CLUSTER_PROVIDED");
  const lbPolicy: LbPolicy = policy === "CLUSTER_PROVIDED" || type === "ORIGINAL_DST" ? "ROUND_ROBIN" : policy;
  const odc = r.optObj(o, "original_dst_lb_config", "");
  if (odc)
    onlyKnown(r, odc, "original_dst_lb_config", ["use_http_header", "http_header_name"], "original_dst_lb_config");
  const originalDstHeader =
    type === "ORIGINAL_DST" && odc && r.bool(odc, "use_http_header", "original_dst_lb_config")
      ? (r.str(odc, "http_header_name", "original_dst_lb_config") || "x-envoy-original-dst-host").toLowerCase()
      : undefined;
  const ring = r.optObj(o, "ring_hash_lb_config", "");
  const maglev = r.optObj(o, "maglev_lb_config", "");
  const least = r.optObj(o, "least_request_lb_config", "");
  const rr = r.optObj(o, "round_robin_lb_config", "");
  for (const [key, v] of [
    ["ring_hash_lb_config", ring],
    ["maglev_lb_config", maglev],
    ["least_request_lb_config", least],
    ["round_robin_lb_config", rr],
  ] as const)
    if (v) onlyKnown(r, v, key, KNOWN[key], key);
  // Envoy reads the slow start of the policy's own config only (Istio writes the matching one).
  const slow =
    lbPolicy === "ROUND_ROBIN"
      ? slowStart(r, rr, "round_robin_lb_config")
      : lbPolicy === "LEAST_REQUEST"
        ? slowStart(r, least, "least_request_lb_config")
        : undefined;
  const http = httpUpstream(r, o);
  const maglevTableSize = maglev ? (r.num(maglev, "table_size", "maglev_lb_config") ?? 65537) : 65537;
  if (!isPrime(maglevTableSize)) r.fail("maglev_lb_config.table_size", "must be a prime number");
  return {
    name,
    type,
    edsName,
    connectTimeoutMs: r.duration(o, "connect_timeout", "") ?? 5000,
    lbPolicy,
    ringMin: ring ? (r.num(ring, "minimum_ring_size", "ring_hash_lb_config") ?? 1024) : 1024,
    ringMax: ring ? (r.num(ring, "maximum_ring_size", "ring_hash_lb_config") ?? 8 * 1024 * 1024) : 8 * 1024 * 1024,
    maglevTableSize,
    choiceCount: least ? (r.num(least, "choice_count", "least_request_lb_config") ?? 2) : 2,
    slowStart: slow,
    endpoints: assignment.endpoints,
    overprovisioning: assignment.overprovisioning,
    ...commonLb(r, o),
    breakers: breakers(r, o),
    outlier: outlier(r, r.optObj(o, "outlier_detection", "")),
    idleTimeoutMs: http.idleTimeoutMs,
    maxRequestsPerConnection: http.maxRequestsPerConnection,
    maxConnectionDurationMs: http.maxConnectionDurationMs,
    maxConcurrentStreams: http.maxConcurrentStreams,
    http2: http.http2,
    downstreamProtocol: http.downstreamProtocol,
    keepAliveMs: keepAlive(r, o),
    tls: upstreamTls(r, o, secrets),
    socketMatches: socketMatches(r, o, secrets),
    originalDstHeader,
    transportKey: JSON.stringify([
      o.transport_socket,
      o.transport_socket_matches,
      o.upstream_connection_options,
      http.http2,
      http.downstreamProtocol,
    ]),
    healthCheck: healthCheck(r, o),
  };
}

function breakers(r: Reader, o: Obj): CircuitBreakers {
  const cb = r.optObj(o, "circuit_breakers", "");
  const out = { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 };
  if (!cb) return out;
  // per_host_thresholds (a connection limit per host) is not implemented: refused.
  onlyKnown(r, cb, "circuit_breakers", ["thresholds"], "CircuitBreakers");
  r.list(cb, "thresholds", "circuit_breakers").forEach((t, i) => {
    const p = join("circuit_breakers.thresholds", i);
    const to = r.obj(t, p);
    onlyKnown(r, to, p, KNOWN.threshold, "circuit_breakers.thresholds");
    if ((r.str(to, "priority", p) ?? "DEFAULT") !== "DEFAULT") return;
    out.maxConnections = r.num(to, "max_connections", p) ?? out.maxConnections;
    out.maxPendingRequests = r.num(to, "max_pending_requests", p) ?? out.maxPendingRequests;
    out.maxRequests = r.num(to, "max_requests", p) ?? out.maxRequests;
    out.maxRetries = r.num(to, "max_retries", p) ?? out.maxRetries;
  });
  return out;
}

function outlier(r: Reader, o: Obj | undefined): OutlierDetection | undefined {
  if (!o) return undefined;
  const p = "outlier_detection";
  // Envoy's success-rate ejection is on unless enforcing_success_rate is 0 (Istio always sends 0). This proxy doesn't
  // implement it: 0 is taken, another value refused; unset is taken as 0, which Envoy would not do.
  onlyKnown(r, o, p, KNOWN.outlier_detection, "outlier_detection");
  return {
    consecutive5xx: r.num(o, "consecutive_5xx", p) ?? 5,
    enforcing5xx: r.num(o, "enforcing_consecutive_5xx", p) ?? 100,
    consecutiveGatewayFailure: r.num(o, "consecutive_gateway_failure", p) ?? 5,
    enforcingGatewayFailure: r.num(o, "enforcing_consecutive_gateway_failure", p) ?? 0,
    intervalMs: r.duration(o, "interval", p) ?? 10_000,
    baseEjectionMs: r.duration(o, "base_ejection_time", p) ?? 30_000,
    maxEjectionMs: r.duration(o, "max_ejection_time", p) ?? 300_000,
    maxEjectionPercent: r.num(o, "max_ejection_percent", p) ?? 10,
    splitLocalOrigin: r.bool(o, "split_external_local_origin_errors", p) ?? false,
    consecutiveLocalOrigin: r.num(o, "consecutive_local_origin_failure", p) ?? 5,
    enforcingLocalOrigin: r.num(o, "enforcing_consecutive_local_origin_failure", p) ?? 100,
  };
}

function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  for (let i = 2; i * i <= n; i++) if (n % i === 0) return false;
  return true;
}

function healthCheck(r: Reader, o: Obj): HealthCheck | undefined {
  const list = r.list(o, "health_checks", "");
  if (!list.length) return undefined;
  if (list.length > 1) r.fail("health_checks[1]", "one health check per cluster is supported");
  const p = "health_checks[0]";
  const hc = r.obj(list[0], p);
  onlyKnown(r, hc, p, KNOWN.health_check, "HealthCheck");
  const http = r.optObj(hc, "http_health_check", p);
  if (!http) r.fail(p, "only http_health_check is supported");
  onlyKnown(r, http, join(p, "http_health_check"), KNOWN.http_health_check, "http_health_check");
  const need = (key: string): number => {
    const v = key.endsWith("threshold") ? r.num(hc, key, p) : r.duration(hc, key, p);
    if (v === undefined || v <= 0) r.fail(join(p, key), "is required and must be greater than 0");
    return v;
  };
  return {
    timeoutMs: need("timeout"),
    intervalMs: need("interval"),
    unhealthyThreshold: need("unhealthy_threshold"),
    healthyThreshold: need("healthy_threshold"),
    path:
      r.headerValue(http, "path", join(p, "http_health_check")) ||
      r.fail(join(p, "http_health_check.path"), "is required"),
    host: r.headerValue(http, "host", join(p, "http_health_check")),
  };
}
