// What every request shares: the live clusters and routes, stats, rate-limit buckets, randomness and the logger.
import type { H2Counters } from "./h2/counters.js";
import type { Logger } from "pino";
import { headerValue, type RequestHead } from "./http/head.js";
import type { RouteConfig } from "./config/types.js";
import type { RateLimiter } from "./filters/ratelimit.js";
import type { ClusterRuntime } from "./cluster.js";
import type { Stats } from "./stats.js";
import type { Counters } from "./counters.js";
import type { Tracers } from "./tracing/exporter.js";
import type { ProxyIdentity } from "./workload.js";

export interface EngineContext {
  clusters: ReadonlyMap<string, ClusterRuntime>;
  routes: ReadonlyMap<string, RouteConfig>;
  stats: Stats;
  limiter: RateLimiter;
  random: () => number;
  log: Logger | undefined;
  /** Log every request, not only those of listeners whose config asks for an access log. */
  logAll: boolean;
  /** Where listeners with an access_log format write their lines (stdout). */
  accessOut: { write(line: string): unknown } | undefined;
  tracing: boolean;
  /** The span exporters of listeners whose HCM names a tracing provider. */
  tracers: Tracers;
  /** Who this proxy is: spans' node_id, service name and istio.* tags. */
  identity: ProxyIdentity;
  /** Downstream HTTP/2 counters (Envoy's http2.* and premature resets). */
  h2Counters: H2Counters;
  /** Envoy's named counters (http.<stat_prefix>.*, listener.*, rbac). */
  counters: Counters;
}

/** One access-log line (pino JSON), with Envoy's field names. */
export function accessLog(log: Logger, h: RequestHead, fields: Record<string, string | number | undefined>): void {
  log.info({
    method: h.method,
    path: h.target,
    authority: h.host,
    protocol: `HTTP/1.${h.minor}`,
    x_request_id: headerValue(h.headers, "x-request-id"),
    ...fields,
  });
}
