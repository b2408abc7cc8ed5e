// Envoy v3 resources as Weft exchanges them: proto3-JSON objects with snake_case field names, exactly as in
// Envoy's YAML docs ("1.5s" durations, {"@type": ...} for Any, plain numbers for wrappers, enum names).

export type { Json, JsonObject } from "./generated/json.js";
import type { Json, JsonObject } from "./generated/json.js";

/** A packed google.protobuf.Any as it travels on the wire. */
export interface AnyMessage {
  type_url: string;
  value: Buffer;
}

const PREFIX = "type.googleapis.com/";

/**
 * The one table of type URLs Weft knows. hack/gen-xds-types.ts generates the types of these messages and of all
 * they reference (proxy/xds/generated/); an Any holding anything else does not compile.
 */
export const TYPE = {
  listener: `${PREFIX}envoy.config.listener.v3.Listener`,
  route: `${PREFIX}envoy.config.route.v3.RouteConfiguration`,
  cluster: `${PREFIX}envoy.config.cluster.v3.Cluster`,
  endpoint: `${PREFIX}envoy.config.endpoint.v3.ClusterLoadAssignment`,
  secret: `${PREFIX}envoy.extensions.transport_sockets.tls.v3.Secret`,
  httpConnectionManager: `${PREFIX}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`,
  fault: `${PREFIX}envoy.extensions.filters.http.fault.v3.HTTPFault`,
  localRateLimit: `${PREFIX}envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit`,
  cors: `${PREFIX}envoy.extensions.filters.http.cors.v3.Cors`,
  corsPolicy: `${PREFIX}envoy.extensions.filters.http.cors.v3.CorsPolicy`,
  grpcWeb: `${PREFIX}envoy.extensions.filters.http.grpc_web.v3.GrpcWeb`,
  jwtAuthn: `${PREFIX}envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication`,
  rbac: `${PREFIX}envoy.extensions.filters.http.rbac.v3.RBAC`,
  rbacPerRoute: `${PREFIX}envoy.extensions.filters.http.rbac.v3.RBACPerRoute`,
  routeFilterConfig: `${PREFIX}envoy.config.route.v3.FilterConfig`,
  router: `${PREFIX}envoy.extensions.filters.http.router.v3.Router`,
  networkRbac: `${PREFIX}envoy.extensions.filters.network.rbac.v3.RBAC`,
  tcpProxy: `${PREFIX}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`,
  connectionLimit: `${PREFIX}envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit`,
  previousHosts: `${PREFIX}envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate`,
  previousPriorities: `${PREFIX}envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig`,
  fileAccessLog: `${PREFIX}envoy.extensions.access_loggers.file.v3.FileAccessLog`,
  httpProtocolOptions: `${PREFIX}envoy.extensions.upstreams.http.v3.HttpProtocolOptions`,
  upstreamTlsContext: `${PREFIX}envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext`,
  downstreamTlsContext: `${PREFIX}envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext`,
  zipkin: `${PREFIX}envoy.config.trace.v3.ZipkinConfig`,
  openTelemetry: `${PREFIX}envoy.config.trace.v3.OpenTelemetryConfig`,
} as const;

/** A type URL's message name, whatever its prefix: "type.googleapis.com/envoy.config.route.v3.Route" → "envoy.config.route.v3.Route". */
export function typeName(url: string): string {
  return url.slice(url.lastIndexOf("/") + 1);
}

/** The resource types of a snapshot, in warming order: CDS → EDS → LDS → RDS → SDS (istiod's push order). */
export const WARMING_ORDER = [TYPE.cluster, TYPE.endpoint, TYPE.listener, TYPE.route, TYPE.secret] as const;
export type SnapshotType = (typeof WARMING_ORDER)[number];

export function isSnapshotType(type: string): type is SnapshotType {
  return (WARMING_ORDER as readonly string[]).includes(type);
}

/** Short names for logs and /debug/syncz. */
export const SHORT_NAME: Record<string, string> = {
  [TYPE.listener]: "LDS",
  [TYPE.route]: "RDS",
  [TYPE.cluster]: "CDS",
  [TYPE.endpoint]: "EDS",
  [TYPE.secret]: "SDS",
};

/** The name Envoy gives a resource: `name` for most, `cluster_name` for a ClusterLoadAssignment. */
export function resourceName(type: string, resource: JsonObject): string {
  const name = type === TYPE.endpoint ? resource["cluster_name"] : resource["name"];
  return typeof name === "string" ? name : "";
}

/** A deep copy without undefined members, so a resource reads as it will encode. */
export function prune<T extends Json | undefined>(value: T): T {
  return pruned(value) as T; // the same shape, less the undefined members an optional field may hold anyway
}

function pruned(value: Json | undefined): Json | undefined {
  if (Array.isArray(value)) return value.map((v) => pruned(v) ?? null);
  if (value === null || typeof value !== "object") return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = pruned(v);
  return out;
}
