// The engine's internal, precompiled, immutable configuration. Built by compile(); never mutated after.
import type { ServerHeader } from "../server-header.js";
import type { Forwarding } from "../http/forwarded.js";
import type { TlsVersion } from "./tls-params.js";
import type { TracerConfig } from "./tracing.js";
import type { AccessLogFormat } from "./access-log.js";
import type { RbacConfig } from "../rbac/compile.js";
import type { FilterConfig } from "../filters/api.js";
import type { Cluster, SanMatcher } from "./cluster-types.js";
import type { XfccDetails, XfccMode } from "../xfcc.js";
import type { Cidr } from "../../xds/ip.js";
import type { RouteConfig, WeightedCluster } from "./route-types.js";

export type {
  CorsConfig,
  DirectAction,
  FaultConfig,
  ForwardAction,
  HashPolicy,
  HeaderEdits,
  HeaderMatcher,
  HeaderOp,
  PerFilterConfig,
  RateLimitConfig,
  RedirectAction,
  RegexRewrite,
  RequestView,
  RetryPolicy,
  Route,
  RouteAction,
  RouteConfig,
  ValueTest,
  VirtualHost,
  WeightedCluster,
} from "./route-types.js";
export type { FilterConfig } from "../filters/api.js";

export type {
  CircuitBreakers,
  Cluster,
  Endpoint,
  HealthCheck,
  LbPolicy,
  OutlierDetection,
  SanMatcher,
  SlowStart,
  SocketMatch,
  UpstreamTls,
} from "./cluster-types.js";

export interface HttpFilter {
  name: string;
  config: FilterConfig;
}

export interface HttpConnectionManager {
  statPrefix: string;
  /** A route configuration given inline, or the name of one sent by RDS. */
  routeConfig: RouteConfig | undefined;
  rdsName: string | undefined;
  filters: HttpFilter[];
  stripAnyHostPort: boolean;
  stripMatchingHostPort: boolean;
  generateRequestId: boolean;
  /** The listener's access log, when it has one. */
  accessLog: AccessLogFormat | undefined;
  /** Percent of traces this proxy starts that are marked sampled. */
  samplingPercent: number;
  /** Where this listener's spans go; none: trace headers are only started when missing, no spans are made. */
  tracer: TracerConfig | undefined;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS for downstream connections. */
  maxConcurrentStreams: number;
  /** codec_type HTTP2: only HTTP/2 on this listener (prior knowledge); AUTO also takes HTTP/1.1. */
  http2Only: boolean;
  limits: HcmLimits;
  /** normalize_path: RFC 3986 normalisation of the path (dot segments, unreserved escapes) before routing. */
  normalizePath: boolean;
  /** merge_slashes: "//" → "/" in the path before routing. */
  mergeSlashes: boolean;
  /** forward_client_cert_details (x-forwarded-client-cert). */
  xfcc: XfccMode;
  /** set_current_client_cert_details: what this hop's x-forwarded-client-cert element carries (xfcc.ts). */
  xfccDetails: XfccDetails;
  /** upgrade_configs websocket, enabled: HTTP/1.1 WebSocket upgrades are tunnelled to the upstream. */
  websocket: boolean;
  /** use_remote_address, xff_num_trusted_hops, skip_xff_append (http/forwarded.ts). */
  forwarding: Forwarding;
  /** server_name, server_header_transformation: the `server` header of every response (../server-header.ts). */
  server: ServerHeader;
  /** The router's suppress_envoy_headers (../filters/router.ts): none of its x-envoy-* headers. */
  suppressEnvoyHeaders: boolean;
}

/** The HCM's timeouts (milliseconds, 0: none) and head limits, with Envoy's names and defaults. */
export interface HcmLimits {
  /** request_headers_timeout: first byte of a request to the end of its headers. Envoy's default: none. */
  requestHeadersMs: number;
  /** request_timeout: first byte of a request to its last byte (a body timeout). Envoy's default: none. */
  requestMs: number;
  /** stream_idle_timeout: no bytes from the client mid-request, or a client not reading a response. 5 min. */
  streamIdleMs: number;
  /** common_http_protocol_options.idle_timeout: a connection with no request. 1 h. */
  idleMs: number;
  /** common_http_protocol_options.max_connection_duration: then drained. Envoy's default: none. */
  maxConnectionDurationMs: number;
  /** common_http_protocol_options.max_headers_count. 100. */
  maxHeaders: number;
  /** max_request_headers_kb, in bytes. 60 KiB. */
  maxHeadBytes: number;
}

/** envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy */
export interface TcpProxy {
  statPrefix: string;
  cluster: string | undefined;
  weighted: WeightedCluster[];
  cumulative: number[];
  totalWeight: number;
  idleTimeoutMs: number; // 0: none
  /** access_log: one line per connection, when it closes. */
  accessLog: AccessLogFormat | undefined;
}

/** envoy.config.core.v3.DataSource: a file, or the bytes inline. */
export interface DataSource {
  filename?: string;
  inline?: string;
}

/** One of a listener's certificates (tls_certificates) and its key. */
export interface ListenerCertificate {
  certificateChain: DataSource;
  privateKey: DataSource;
}

/** A DownstreamTlsContext: the listener terminates TLS, and ALPN picks HTTP/2 or HTTP/1.1. */
export interface ListenerTls {
  /** tls_certificates: one, or as Envoy's server contexts one RSA and one ECDSA, OpenSSL presenting the ECDSA one to a
   * client whose signature algorithms (TLS 1.3) or cipher suites (TLS 1.2) allow it, else the RSA one. */
  certificates: ListenerCertificate[];
  alpn: string[];
  /** validation_context.trusted_ca: client certificates are asked for and verified against it (with `crl`), then
   * matched against `sans` and the pins (`spki`, `hashes`: one of them matching), as Envoy's DefaultCertValidator. */
  ca: DataSource | undefined;
  crl: DataSource | undefined;
  sans: SanMatcher[];
  spki: Buffer[];
  hashes: Buffer[];
  /** require_client_certificate: a client without a verified certificate fails the handshake. */
  requireClientCert: boolean;
  /** tls_params: protocol versions (unset: Node's, TLS 1.2 to 1.3 as Envoy's) and the TLS 1.0–1.2 cipher list. */
  minVersion: TlsVersion | undefined;
  maxVersion: TlsVersion | undefined;
  ciphers: string | undefined;
}

export interface Listener {
  name: string;
  tls: ListenerTls | undefined;
  address: string;
  port: number;
  direction: "inbound" | "outbound";
  /** Exactly one of hcm (HTTP) and tcp is set (neither when only `byPort` chains serve). */
  hcm: HttpConnectionManager | undefined;
  tcp: TcpProxy | undefined;
  /** bind_to_port false: not bound; reached through a use_original_dst listener (Istio's 0.0.0.0_<port>). */
  bindToPort: boolean;
  /** use_original_dst: each connection goes to the listener of its original destination (Istio's virtualOutbound). */
  useOriginalDst: boolean;
  /** listener_filters_timeout: how long the TLS inspector waits for a verdict before closing (0: for ever). */
  inspectTimeoutMs: number;
  /** Filter chains matched by the connection's (original) destination port (Istio's virtualInbound); the
   * listener's own hcm/tcp, when set, serves the other ports. */
  byPort: ReadonlyMap<number, Listener> | undefined;
  /**
   * Chains matched by filter_chain_match.transport_protocol (tls_inspector: the first bytes are a TLS ClientHello
   * or not), as Istio's PERMISSIVE inbound has them; a missing side closes such connections. TLS chains with
   * application_protocols are chosen by the ClientHello's ALPN (the first of the client's protocols one of them
   * lists), the TLS chain without them otherwise.
   */
  byTransport:
    | {
        tls: Listener | undefined;
        raw: Listener | undefined;
        /** TLS chains with application_protocols: each protocol → its chain's index in `chains`. */
        alpn: { index: ReadonlyMap<string, number>; chains: readonly Listener[] };
      }
    | undefined;
  /**
   * Chains matched by filter_chain_match.server_names (tls_inspector: the ClientHello's SNI), as Istio's gateways
   * have one per HTTPS server: matched before transport and ALPN, as Envoy matches.
   */
  bySni?: SniChains;
  /** Chains matched by filter_chain_match.prefix_ranges (the connection's destination IP), before server names. */
  byDestination?: AddressChains;
  /** Chains matched by filter_chain_match.direct_source_prefix_ranges (its direct source IP), after ALPN. */
  byDirectSource?: AddressChains;
  /** Chains matched by filter_chain_match.source_type (a local client or not), after the direct source IP. */
  bySourceType?: SourceTypeChains;
  /** Chains matched by filter_chain_match.source_prefix_ranges (its source IP), after the source type. */
  bySource?: AddressChains;
  /** Chains matched by filter_chain_match.source_ports (its source port), the last step. */
  bySourcePort?: PortChains;
  /** Which of the Listener's filter_chains this is, when it is one of several (for messages). */
  chainIndex?: number;
  /** envoy.filters.network.connection_limit before the HCM or TcpProxy: at most `max` connections at once. */
  connectionLimit: { statPrefix: string; max: number } | undefined;
  /** envoy.filters.network.rbac filters, in order: a connection they deny is closed. */
  networkRbac: { statPrefix: string; rbac: RbacConfig }[];
}

/**
 * A port's chains by server name: an exact name, else the longest `*.suffix` that matches, else the chains without
 * server_names (`fallback`); none of them: no chain (the connection is closed, the handshake fails).
 */
export interface SniChains {
  /** Each group: the names that choose it, sorted and joined (its identity from one config to the next), its chains. */
  groups: readonly { key: string; listener: Listener }[];
  /** An exact server name → its index in `groups`. */
  exact: ReadonlyMap<string, number>;
  /** A wildcard's suffix, `.example.com` for `*.example.com` → its index in `groups`. */
  wildcard: ReadonlyMap<string, number>;
  fallback: Listener | undefined;
}

/**
 * A match step's chains by IP range (config/address-chains.ts): the longest range that holds the address, else the
 * chains listing none (`fallback`); none of them: no chain.
 */
export interface AddressChains {
  /** Each group: the ranges that choose it, sorted and joined (its identity from one config to the next), its chains. */
  groups: readonly { key: string; listener: Listener }[];
  /** Every range with its group's index in `groups`, longest prefix first. */
  ranges: readonly { range: Cidr; group: number }[];
  fallback: Listener | undefined;
}

/**
 * A step's chains by source_type (config/source-chains.ts): a local client (Envoy's isSameIpOrLoopback) goes to the
 * SAME_IP_OR_LOOPBACK chains, another to the EXTERNAL ones, either to those of ANY where its own kind has none.
 */
export interface SourceTypeChains {
  local: Listener | undefined;
  external: Listener | undefined;
  any: Listener | undefined;
}

/** A step's chains by source_ports: the client's port, else the chain listing none (`any`); neither: no chain. */
export interface PortChains {
  ports: ReadonlyMap<number, Listener>;
  any: Listener | undefined;
}

/** What apply() takes: Envoy v3 resources as proto3 JSON. */
export interface Resources {
  version?: string;
  /** SDS Secrets (`default`, `ROOTCA`) the agent holds: transport sockets name them (config/secrets.ts). */
  secrets?: unknown[];
  listeners?: unknown[];
  routes?: unknown[];
  clusters?: unknown[];
  endpoints?: unknown[];
}

export interface EngineConfig {
  version: string;
  listeners: Listener[];
  routes: ReadonlyMap<string, RouteConfig>;
  clusters: ReadonlyMap<string, Cluster>;
  resources: Resources;
}
