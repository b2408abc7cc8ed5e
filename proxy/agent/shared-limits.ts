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
import type { EngineConfig, Resources } from "../engine/config/types.js";
import { parseDuration } from "../engine/config/read.js";

/** Istio's "no limit" for every circuit breaker threshold it doesn't set. */
export const NO_LIMIT = 4294967295;

const BREAKERS = [
  ["maxConnections", "max_connections"],
  ["maxPendingRequests", "max_pending_requests"],
  ["maxRequests", "max_requests"],
  ["maxRetries", "max_retries"],
] as const;

const LOCAL_RATE_LIMIT = "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit";

/** A LocalRateLimit's token bucket as the engine keys it (RateLimitConfig.key: the token_bucket's JSON). */
export interface Bucket {
  key: string;
  maxTokens: number;
  tokensPerFill: number;
  fillIntervalMs: number;
}

/** Every LocalRateLimit with a token bucket in a resource, with its field path. */
function bucketsIn(v: unknown, path: string, out: { path: string; bucket: Bucket }[]): void {
  if (Array.isArray(v)) {
    v.forEach((x, i) => bucketsIn(x, `${path}[${i}]`, out));
    return;
  }
  if (typeof v !== "object" || v === null) return;
  const o = v as Record<string, unknown>;
  const type = o["@type"];
  const tb = o.token_bucket as Record<string, unknown> | undefined;
  if (typeof type === "string" && type.endsWith(LOCAL_RATE_LIMIT) && typeof tb === "object" && tb !== null) {
    out.push({
      path: `${path}.token_bucket`,
      bucket: {
        key: JSON.stringify(tb),
        maxTokens: Number(tb.max_tokens ?? 0),
        tokensPerFill: Number(tb.tokens_per_fill ?? 1),
        fillIntervalMs: parseDuration(tb.fill_interval) ?? 0,
      },
    });
  }
  for (const [k, child] of Object.entries(o)) bucketsIn(child, path ? `${path}.${k}` : k, out);
}

/** The local rate limits' token buckets of a config, each with the resource and field it is in. */
export function tokenBuckets(res: Resources): { kind: string; name: string; path: string; bucket: Bucket }[] {
  const out: { kind: string; name: string; path: string; bucket: Bucket }[] = [];
  for (const [kind, list] of [
    ["Listener", res.listeners],
    ["RouteConfiguration", res.routes],
  ] as const) {
    for (const r of list ?? []) {
      const found: { path: string; bucket: Bucket }[] = [];
      bucketsIn(r, "", found);
      const name = String((r as { name?: unknown }).name ?? "");
      for (const f of found) out.push({ kind, name, ...f });
    }
  }
  return out;
}

/**
 * Throws a ConfigError naming the first per-proxy limit in cfg that more than one worker would enforce apart, unless
 * the workers share them (`shared`: shared-table.ts, when the shared_memory addon is built).
 */
export function refuseUnsharedLimits(cfg: EngineConfig, concurrency: number, shared = false): void {
  if (concurrency <= 1 || shared) return;
  const why = `is one limit per proxy, which the ${concurrency} engine workers (concurrency ${concurrency}) can't share (the shared_memory addon is not built): it would let ${concurrency} times as much through. Set concurrency: 1 (proxy.istio.io/config) for this workload`;
  const res = cfg.resources;
  const limited = new Set(
    (res.clusters ?? []).flatMap((c) => {
      const o = c as { name?: unknown; circuit_breakers?: unknown };
      return o.circuit_breakers && typeof o.name === "string" ? [o.name] : [];
    }),
  );
  for (const c of cfg.clusters.values()) {
    if (!limited.has(c.name)) continue;
    for (const [field, proto] of BREAKERS) {
      const limit = c.breakers[field];
      if (limit < NO_LIMIT)
        throw new ConfigError("Cluster", c.name, `circuit_breakers.thresholds.${proto}`, `${limit} ${why}`);
    }
  }
  const first = tokenBuckets(res)[0];
  if (first) throw new ConfigError(first.kind, first.name, first.path, `local rate limit ${why}`);
}
