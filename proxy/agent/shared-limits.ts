// Limits Envoy keeps once per proxy, across all its worker threads: circuit breakers (a cluster's connection,
// pending, request and retry counts) and local rate limits (the token bucket is shared by the workers). Weft's
// workers are processes: they share the breakers' counts through memory the agent maps into each
// (shared-table.ts), but not yet the token buckets, nor the breakers when the shared_memory addon isn't built. N
// workers counting apart would let N times the limit through, so rather than multiply a limit silently, a config
// that sets one they can't share is refused when concurrency > 1, naming the limit.
// A limit of 2^32-1 (Istio's default for the clusters a DestinationRule can reach) limits nothing, so it is allowed.
// A cluster without circuit_breakers gets Envoy's defaults (1024 connections, pending and requests, 3 retries) in each
// worker: discovery leaves them off only on clusters no DestinationRule configures (inbound, passthrough, blackhole,
// the tracing collector), where no user set a limit to keep. Pure.
import { ConfigError } from "../engine/config/index.js";
import type { EngineConfig } from "../engine/config/types.js";

/** Istio's "no limit" for every circuit breaker threshold it doesn't set. */
export const NO_LIMIT = 4294967295;

const BREAKERS = [
  ["maxConnections", "max_connections"],
  ["maxPendingRequests", "max_pending_requests"],
  ["maxRequests", "max_requests"],
  ["maxRetries", "max_retries"],
] as const;

const LOCAL_RATE_LIMIT = "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit";

/** The first LocalRateLimit with a token bucket in a resource, as a field path; undefined when there is none. */
function rateLimitIn(v: unknown, path: string): string | undefined {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const found = rateLimitIn(v[i], `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (typeof v !== "object" || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const type = o["@type"];
  if (typeof type === "string" && type.endsWith(LOCAL_RATE_LIMIT) && o.token_bucket) return `${path}.token_bucket`;
  for (const [k, child] of Object.entries(o)) {
    const found = rateLimitIn(child, path ? `${path}.${k}` : k);
    if (found) return found;
  }
  return undefined;
}

/**
 * Throws a ConfigError naming the first per-proxy limit in cfg that more than one worker would enforce apart:
 * local rate limits always, circuit breakers unless the workers share them (`breakersShared`: shared-table.ts).
 */
export function refuseUnsharedLimits(cfg: EngineConfig, concurrency: number, breakersShared = false): void {
  if (concurrency <= 1) return;
  const why = `is one limit per proxy, which the ${concurrency} engine workers (concurrency ${concurrency}) don't share yet: it would let ${concurrency} times as much through. Set concurrency: 1 (proxy.istio.io/config) for this workload`;
  const res = cfg.resources;
  const limited = new Set(
    (res.clusters ?? []).flatMap((c) => {
      const o = c as { name?: unknown; circuit_breakers?: unknown };
      return o.circuit_breakers && typeof o.name === "string" ? [o.name] : [];
    }),
  );
  for (const c of breakersShared ? [] : cfg.clusters.values()) {
    if (!limited.has(c.name)) continue;
    for (const [field, proto] of BREAKERS) {
      const limit = c.breakers[field];
      if (limit < NO_LIMIT)
        throw new ConfigError("Cluster", c.name, `circuit_breakers.thresholds.${proto}`, `${limit} ${why}`);
    }
  }
  for (const [kind, list] of [
    ["Listener", res.listeners],
    ["RouteConfiguration", res.routes],
  ] as const) {
    for (const r of list ?? []) {
      const path = rateLimitIn(r, "");
      if (path)
        throw new ConfigError(kind, String((r as { name?: unknown }).name ?? ""), path, `local rate limit ${why}`);
    }
  }
}
