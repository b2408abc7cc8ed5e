// Local rate limit: a token bucket per distinct token_bucket config (so per route, or per listener filter).
import type { RateLimitConfig } from "../config/types.js";
import { fraction, join, type Obj, type Reader } from "../config/read.js";
import { headerOps } from "../config/headers.js";
import { TYPE } from "../../xds/types.js";
import type { HttpFilterExtension } from "./api.js";
import { bucketSlot, LAST_FILL, TAKEN, type SharedCounts } from "../shared-counts.js";

export class TokenBucket {
  tokens: number;
  private lastFill: number;
  constructor(
    private readonly cfg: RateLimitConfig,
    now: number,
  ) {
    this.tokens = cfg.maxTokens;
    this.lastFill = now;
  }

  private refill(now: number): void {
    const fills = Math.floor((now - this.lastFill) / this.cfg.fillIntervalMs);
    if (fills <= 0) return;
    this.tokens = Math.min(this.cfg.maxTokens, this.tokens + fills * this.cfg.tokensPerFill);
    this.lastFill += fills * this.cfg.fillIntervalMs;
  }

  /** Takes a token; false when the bucket is empty. */
  take(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }

  /** Seconds until the next fill, rounded up, for x-ratelimit-reset. */
  resetSeconds(now: number): number {
    return Math.max(0, Math.ceil((this.lastFill + this.cfg.fillIntervalMs - now) / 1000));
  }
}

/** A bucket all of the proxy's workers take from (shared-counts.ts); the agent fills it. */
class SharedBucket {
  private taken = 0;
  constructor(
    private readonly shared: SharedCounts,
    private readonly slot: number,
    private readonly cfg: RateLimitConfig,
  ) {
    this.taken = shared.get(slot, shared.column, TAKEN);
  }

  get tokens(): number {
    return Math.min(this.cfg.maxTokens, this.shared.tokens(this.slot));
  }

  take(_now?: number): boolean {
    if (this.tokens < 1) return false;
    this.shared.set(this.slot, TAKEN, ++this.taken);
    return true;
  }

  resetSeconds(now: number): number {
    const last = this.shared.get(this.slot, this.shared.columns - 1, LAST_FILL);
    return Math.max(0, Math.ceil((last + this.cfg.fillIntervalMs - now) / 1000));
  }
}

export class RateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly shared = new Map<string, SharedBucket>();
  private counts: SharedCounts | undefined;
  private slots: Readonly<Record<string, number>> = {};

  /** Takes from the proxy's shared buckets (in the slots the agent named for this config), or from its own. */
  share(counts: SharedCounts | undefined, slots: Readonly<Record<string, number>> | undefined): void {
    this.counts = slots ? counts : undefined;
    this.slots = slots ?? {};
    this.shared.clear();
  }

  private sharedBucket(cfg: RateLimitConfig): SharedBucket | undefined {
    if (!this.counts) return undefined;
    let b = this.shared.get(cfg.key);
    if (b) return b;
    const slot = this.slots[bucketSlot(cfg.key)];
    if (slot === undefined) return undefined;
    b = new SharedBucket(this.counts, slot, cfg);
    this.shared.set(cfg.key, b);
    return b;
  }

  /** The verdict for one request: headers to add, and whether to refuse it. */
  check(cfg: RateLimitConfig, random: () => number, now = Date.now()): { limited: boolean; headers: string[] } {
    if (cfg.enabled <= 0 || random() >= cfg.enabled) return { limited: false, headers: [] };
    let b: TokenBucket | SharedBucket | undefined = this.sharedBucket(cfg) ?? this.buckets.get(cfg.key);
    if (!b) {
      b = new TokenBucket(cfg, now);
      this.buckets.set(cfg.key, b);
    }
    const ok = b.take(now);
    const limited = !ok && cfg.enforced > 0 && random() < cfg.enforced;
    const headers: string[] = [];
    if (cfg.xRateLimitHeaders) {
      headers.push(
        "x-ratelimit-limit",
        String(cfg.maxTokens),
        "x-ratelimit-remaining",
        String(Math.floor(b.tokens)),
        "x-ratelimit-reset",
        String(b.resetSeconds(now)),
      );
    }
    if (limited) for (const op of cfg.responseHeaders) headers.push(op.key, op.value);
    return { limited, headers };
  }
}

const STATUS_NAMES: Record<string, number> = { TooManyRequests: 429, ServiceUnavailable: 503, Forbidden: 403, OK: 200 };

function compileRateLimit(r: Reader, o: Obj | undefined, path: string): RateLimitConfig | undefined {
  const bucket = o && r.optObj(o, "token_bucket", path);
  if (!o || !bucket) return undefined; // the listener-level filter may carry no bucket; routes supply one
  const bp = join(path, "token_bucket");
  const maxTokens = r.num(bucket, "max_tokens", bp) ?? 0;
  if (maxTokens <= 0) r.fail(join(bp, "max_tokens"), "must be greater than 0");
  const fillIntervalMs = r.duration(bucket, "fill_interval", bp) ?? 0;
  if (fillIntervalMs <= 0) r.fail(join(bp, "fill_interval"), "must be greater than 0");
  const enabled = r.optObj(o, "filter_enabled", path);
  const enforced = r.optObj(o, "filter_enforced", path);
  const statusObj = r.optObj(o, "status", path);
  let status = 429;
  if (statusObj) {
    const c = statusObj.code;
    status = typeof c === "number" ? c : typeof c === "string" ? (STATUS_NAMES[c] ?? Number(c)) : 429;
    if (!Number.isInteger(status) || status < 200 || status > 599) r.fail(join(path, "status.code"), "invalid status");
  }
  const pct = (f: Obj | undefined, p: string) =>
    fraction(r, f ? r.optObj(f, "default_value", p) : undefined, join(p, "default_value"));
  return {
    key: JSON.stringify(bucket),
    maxTokens,
    tokensPerFill: r.num(bucket, "tokens_per_fill", bp) ?? 1,
    fillIntervalMs,
    enabled: pct(enabled, join(path, "filter_enabled")),
    enforced: pct(enforced, join(path, "filter_enforced")),
    status,
    xRateLimitHeaders: r.str(o, "enable_x_ratelimit_headers", path) === "DRAFT_VERSION_03",
    responseHeaders: headerOps(r, o, "response_headers_to_add", path),
  };
}

/** envoy.filters.http.local_ratelimit: a token bucket (the route's, else the listener filter's). */
export const localRateLimitFilter: HttpFilterExtension<RateLimitConfig | undefined> = {
  name: "envoy.filters.http.local_ratelimit",
  typeUrls: [TYPE.localRateLimit],
  compile: compileRateLimit,
  decodeHeaders(s, limit) {
    if (!limit) return "continue";
    const v = s.ctx.limiter.check(limit, s.ctx.random);
    if (v.headers.length) s.addResponseHeaders(v.headers);
    if (!v.limited) return "continue";
    s.sendLocalReply(limit.status, "RL");
    return "stop";
  },
};
