// The engine's compiled routing configuration: route tables, virtual hosts, routes and their actions, and the header
// matchers and edits they use. Built by config/routes.ts; never mutated after. (config/types.ts re-exports all of it.)
import type { Re2, Substitution } from "../../xds/regex.js";
import type { FilterConfig } from "../filters/api.js";

/** Request headers as the router sees them: lower-case names, values joined with "," when repeated. */
export interface RequestView {
  method: string;
  /** The path without its query string. */
  path: string;
  /** The query string without "?", or "". */
  query: string;
  header(name: string): string | undefined;
  /**
   * The request's remote address as its connection manager decides it (http/forwarded.ts): x-forwarded-for's, or the
   * peer's. Unset outside an HTTP request.
   */
  remoteIp?: string;
  /** Envoy's dynamic metadata: what filters found, by filter name (jwt_authn's token payloads), for later filters. */
  metadata?: Map<string, Readonly<Record<string, unknown>>>;
}

export type ValueTest = (value: string | undefined) => boolean;

export interface HeaderMatcher {
  name: string;
  test: ValueTest;
}

export interface HeaderOp {
  key: string; // lower-case
  value: string;
  action: "APPEND_IF_EXISTS_OR_ADD" | "ADD_IF_ABSENT" | "OVERWRITE_IF_EXISTS_OR_ADD" | "OVERWRITE_IF_EXISTS";
}

/** Header edits of one level (weighted cluster, route, virtual host, route configuration). */
export interface HeaderEdits {
  requestAdd: HeaderOp[];
  requestRemove: string[];
  responseAdd: HeaderOp[];
  responseRemove: string[];
}

export interface RetryPolicy {
  on: ReadonlySet<string>;
  numRetries: number;
  perTryTimeoutMs: number; // 0: none
  baseIntervalMs: number;
  maxIntervalMs: number;
  retriableStatusCodes: ReadonlySet<number>;
  previousHosts: boolean;
  /**
   * retry_priority envoy.retry_priorities.previous_priorities: its update_frequency, how many attempts go by before
   * the priority levels they went to are left out of the next picks; 0: no retry_priority.
   */
  previousPriorities: number;
}

export type HashPolicy =
  | { kind: "header"; name: string; terminal: boolean }
  | {
      kind: "cookie";
      name: string;
      terminal: boolean;
      /** ttl: when set and the request has no such cookie, the proxy makes one (Envoy's); 0 a session cookie. */
      ttlSeconds: number | undefined;
      path: string;
    }
  | { kind: "source_ip"; terminal: boolean }
  | { kind: "query"; name: string; terminal: boolean };

export interface WeightedCluster {
  name: string;
  weight: number;
  edits: HeaderEdits | undefined;
  perFilter: PerFilterConfig;
}

export interface ForwardAction {
  kind: "route";
  /** One cluster (weight total = 0) or a precomputed cumulative split. */
  cluster: string | undefined;
  weighted: WeightedCluster[];
  cumulative: number[];
  totalWeight: number;
  timeoutMs: number; // 0: none
  /** max_stream_duration is set: Envoy's "new timeouts", which replace `timeout` and max_grpc_timeout. */
  hasMaxStreamDuration: boolean;
  /** max_stream_duration.max_stream_duration: the stream's limit, retries and the response included (0: none). */
  maxStreamMs: number;
  /** grpc_timeout_header_max: set, a request's grpc-timeout is the stream's limit instead, capped at this (0: not
   * capped); undefined, grpc-timeout plays no part. */
  grpcTimeoutMaxMs: number | undefined;
  /** grpc_timeout_header_offset: taken off the grpc-timeout, so the proxy answers before the client gives up. */
  grpcHeaderOffsetMs: number;
  /** max_grpc_timeout (deprecated, what Istio gives sidecars): set, a gRPC request's grpc-timeout is the router's
   * timeout instead, capped at this (0: not capped); undefined, the route's timeout applies to gRPC too. */
  maxGrpcTimeoutMs: number | undefined;
  /** grpc_timeout_offset: taken off the grpc-timeout for max_grpc_timeout. */
  grpcTimeoutOffsetMs: number;
  retry: RetryPolicy | undefined;
  prefixRewrite: string | undefined;
  regexRewrite: RegexRewrite | undefined;
  hostRewrite: string | undefined;
  /** append_x_forwarded_host: a host rewrite appends the request's host to x-forwarded-host (../upstream-head.ts). */
  appendXForwardedHost: boolean;
  mirrors: { cluster: string; fraction: number }[];
  hashPolicy: HashPolicy[];
  /** upgrade_configs websocket: this route allows (true) or refuses (false) WebSocket upgrades; unset, the HCM's say. */
  websocket?: boolean | undefined;
}

export interface RedirectAction {
  kind: "redirect";
  scheme: string | undefined;
  host: string | undefined;
  port: number | undefined;
  path: string | undefined;
  prefixRewrite: string | undefined;
  code: number;
  stripQuery: boolean;
}

export interface DirectAction {
  kind: "direct";
  status: number;
  body: Buffer;
}

export type RouteAction = ForwardAction | RedirectAction | DirectAction;

export interface FaultConfig {
  delayMs: number;
  delayFraction: number;
  abortStatus: number | undefined;
  abortGrpcStatus: number | undefined;
  abortFraction: number;
}

export interface RateLimitConfig {
  /** Identity of the bucket: equal configs share one bucket across config swaps. */
  key: string;
  maxTokens: number;
  tokensPerFill: number;
  fillIntervalMs: number;
  enabled: number;
  enforced: number;
  status: number;
  xRateLimitHeaders: boolean;
  responseHeaders: HeaderOp[];
}

/** A CORS policy. Unset fields (undefined, or no origins) fall through to the less specific policy, as in Envoy. */
export interface CorsConfig {
  origins: ((origin: string) => boolean)[];
  /** Some origin matcher matches "*": every origin is allowed. */
  anyOrigin: boolean;
  allowMethods: string | undefined;
  allowHeaders: string | undefined;
  exposeHeaders: string | undefined;
  maxAge: string | undefined;
  allowCredentials: boolean | undefined;
  allowPrivateNetworkAccess: boolean | undefined;
  forwardNotMatchingPreflights: boolean | undefined;
  /** filter_enabled and shadow_enabled as probabilities (absent: 1 and 0). */
  enabled: number;
  shadow: number;
}

/** typed_per_filter_config, keyed by the filter's name in http_filters. */
export type PerFilterConfig = ReadonlyMap<string, FilterConfig>;

export interface Route {
  name: string;
  matchPath: (path: string) => boolean;
  /** The configured match prefix (for prefix_rewrite), when the route matches by prefix. */
  prefix: string | undefined;
  headers: HeaderMatcher[];
  query: { name: string; test: ValueTest }[];
  action: RouteAction;
  edits: HeaderEdits | undefined;
  perFilter: PerFilterConfig;
  /** The route action's `cors` field. */
  cors?: CorsConfig | undefined;
  /** per_request_buffer_limit_bytes: the body kept for retries and shadows (Envoy's retry_shadow_buffer_limit). */
  bufferLimit?: number | undefined;
}

export interface VirtualHost {
  name: string;
  domains: string[];
  routes: Route[];
  edits: HeaderEdits | undefined;
  retry: RetryPolicy | undefined;
  perFilter: PerFilterConfig;
  cors?: CorsConfig | undefined;
  /** `include_request_attempt_count`: x-envoy-attempt-count on every upstream attempt (1, 2, ...). */
  attemptCount?: boolean;
  /** per_request_buffer_limit_bytes, for its routes that set none. */
  bufferLimit?: number | undefined;
  /** require_tls: a request that didn't come over TLS is redirected (301) to https. */
  requireTls?: boolean;
}

export interface RouteConfig {
  name: string;
  exact: ReadonlyMap<string, VirtualHost>;
  /** "*.foo.com" and "*-bar.foo.com": suffix without the "*", longest first. */
  suffixes: { suffix: string; vhost: VirtualHost }[];
  /** "foo.*": prefix without the "*", longest first. */
  prefixes: { prefix: string; vhost: VirtualHost }[];
  any: VirtualHost | undefined;
  ignorePort: boolean;
  edits: HeaderEdits | undefined;
  virtualHosts: VirtualHost[];
}

/** A route's regex_rewrite: RE2 pattern and Envoy substitution, compiled. */
export interface RegexRewrite {
  pattern: Re2;
  substitution: Substitution;
}
