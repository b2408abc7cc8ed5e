// Local rate limit: a token bucket per distinct token_bucket config (so per route, or per listener filter).
import type { RateLimitConfig } from "../config/types.js";

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

export class RateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  /** The verdict for one request: headers to add, and whether to refuse it. */
  check(cfg: RateLimitConfig, random: () => number, now = Date.now()): { limited: boolean; headers: string[] } {
    if (cfg.enabled <= 0 || random() >= cfg.enabled) return { limited: false, headers: [] };
    let b = this.buckets.get(cfg.key);
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
