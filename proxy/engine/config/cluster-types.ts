// The engine's compiled clusters and their parts (endpoints, breakers, outlier detection, health checks, slow start,
// upstream TLS): the upstream half of types.ts, which re-exports it. Built by compile(); never mutated after.
import type { DataSource } from "./types.js";

/** A typed SAN matcher of a validation context (match_typed_subject_alt_names). */
export interface SanMatcher {
  type: "DNS" | "URI" | "EMAIL" | "IP_ADDRESS";
  test: (v: string) => boolean;
  /** The matcher's `exact` value, if that is its form: a wildcard DNS SAN can match it. */
  exact: string | undefined;
}

/** An UpstreamTlsContext. Without `ca` the server's chain is not verified (Envoy's rule); `sans` are checked even then. */
export interface UpstreamTls {
  sni: string | undefined;
  ca: DataSource | undefined;
  /** validation_context.crl: certificates it revokes fail the chain's verification (PEM, one or more CRLs). */
  crl: DataSource | undefined;
  sans: SanMatcher[];
  cert: DataSource | undefined;
  key: DataSource | undefined;
  alpn: string[];
  minVersion: "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3" | undefined;
  maxVersion: "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3" | undefined;
  /**
   * The SDS secret it names that the config doesn't carry (yet): every connection is refused, as Envoy's
   * NotReadySslSocket, counting `client_ssl_socket_factory.upstream_context_secrets_not_ready`.
   */
  notReady?: string;
}

export type LbPolicy = "ROUND_ROBIN" | "LEAST_REQUEST" | "RANDOM" | "RING_HASH" | "MAGLEV";

export interface Endpoint {
  address: string;
  port: number;
  weight: number;
  healthy: boolean;
  /** "address:port", the endpoint's identity. */
  key: string;
  locality: string;
  /** Its LocalityLbEndpoints' priority (0 highest) and load_balancing_weight (0: unset). */
  priority: number;
  localityWeight: number;
  workload: string | undefined;
  /** metadata.filter_metadata["envoy.transport_socket_match"]: what the cluster's transport_socket_matches compare. */
  socketMatch: Readonly<Record<string, string>> | undefined;
}

/** A ClusterLoadAssignment: its endpoints, and policy.overprovisioning_factor in percent (default 140). */
export interface Assignment {
  endpoints: Endpoint[];
  overprovisioning: number;
}

/** One of a cluster's transport_socket_matches: endpoints whose socketMatch has every `match` entry use `tls`. */
export interface SocketMatch {
  name: string;
  match: Readonly<Record<string, string>>;
  /** undefined: plaintext (raw_buffer). */
  tls: UpstreamTls | undefined;
}

/** Slow start (config/slow-start.ts): a new host's weight ramps up over the window. */
export interface SlowStart {
  windowMs: number;
  aggression: number;
  /** min_weight_percent / 100. */
  minFactor: number;
}

export interface CircuitBreakers {
  maxConnections: number;
  maxPendingRequests: number;
  maxRequests: number;
  maxRetries: number;
}

export interface OutlierDetection {
  consecutive5xx: number;
  enforcing5xx: number;
  consecutiveGatewayFailure: number;
  enforcingGatewayFailure: number;
  intervalMs: number;
  baseEjectionMs: number;
  maxEjectionMs: number;
  maxEjectionPercent: number;
  /**
   * split_external_local_origin_errors: failures this proxy saw itself (connect failures, resets, timeouts) count
   * apart from the upstream's 5xx, ejecting after consecutive_local_origin_failure of them; unset, they count as
   * 503 (504 for a timeout), as Envoy maps them.
   */
  splitLocalOrigin: boolean;
  consecutiveLocalOrigin: number;
  enforcingLocalOrigin: number;
}

/** An active HTTP health check (the first of health_checks). */
export interface HealthCheck {
  timeoutMs: number;
  intervalMs: number;
  unhealthyThreshold: number;
  healthyThreshold: number;
  path: string;
  host: string | undefined;
}

export interface Cluster {
  name: string;
  type: "STATIC" | "STRICT_DNS" | "LOGICAL_DNS" | "EDS" | "ORIGINAL_DST";
  edsName: string;
  connectTimeoutMs: number;
  lbPolicy: LbPolicy;
  ringMin: number;
  ringMax: number;
  maglevTableSize: number;
  choiceCount: number;
  endpoints: Endpoint[];
  /** The assignment's overprovisioning_factor, in percent: how far a priority level's healthy share is scaled. */
  overprovisioning: number;
  /** common_lb_config.healthy_panic_threshold in percent (default 50; 0: never panic). */
  panicThreshold: number;
  /** common_lb_config.locality_weighted_lb_config: localities share a level by their load_balancing_weight. */
  localityWeighted: boolean;
  breakers: CircuitBreakers;
  outlier: OutlierDetection | undefined;
  /** HttpProtocolOptions.common_http_protocol_options: an idle pooled connection closes after this. */
  idleTimeoutMs: number;
  /** 0: unlimited. */
  maxRequestsPerConnection: number;
  /** common_http_protocol_options.max_connection_duration: a connection is drained this long after it opened (0: never). */
  maxConnectionDurationMs: number;
  /** HTTP/2: streams one connection carries at most, below the peer's SETTINGS_MAX_CONCURRENT_STREAMS. */
  maxConcurrentStreams: number;
  /** ROUND_ROBIN and LEAST_REQUEST: a new host's share ramps up (slow_start_config). */
  slowStart: SlowStart | undefined;
  /** Speak HTTP/2 to the endpoints: http2_protocol_options, or HttpProtocolOptions' explicit_http_config. */
  http2: boolean;
  /** HttpProtocolOptions' use_downstream_protocol_config: HTTP/2 for requests that came over HTTP/2, else HTTP/1.1. */
  downstreamProtocol: boolean;
  /** upstream_connection_options.tcp_keepalive: SO_KEEPALIVE with this idle time; undefined: off. */
  keepAliveMs: number | undefined;
  /** transport_socket: TLS origination; undefined: plaintext. */
  tls: UpstreamTls | undefined;
  /** transport_socket_matches: per endpoint, the first that matches its socketMatch overrides `tls`. */
  socketMatches: SocketMatch[];
  /**
   * ORIGINAL_DST: where a request goes comes from this header (original_dst_lb_config.use_http_header), as
   * `ip:port`. Unset: from the connection's original destination, which this engine knows only when told.
   */
  originalDstHeader: string | undefined;
  /** The transport as configured (transport_socket, upstream_connection_options): pools restart when it changes. */
  transportKey: string;
  healthCheck: HealthCheck | undefined;
}
