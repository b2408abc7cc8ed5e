import { RateLimiter } from "./ratelimit.js";
import { decideFault } from "./fault.js";
import type { RateLimitConfig } from "../config/types.js";

const cfg: RateLimitConfig = {
  key: "k",
  maxTokens: 3,
  tokensPerFill: 1,
  fillIntervalMs: 1000,
  enabled: 1,
  enforced: 1,
  status: 429,
  xRateLimitHeaders: true,
  responseHeaders: [{ key: "x-local-rate-limit", value: "true", action: "APPEND_IF_EXISTS_OR_ADD" }],
};

describe("local rate limit", () => {
  it("lets max_tokens through, then refuses until the next fill", () => {
    const rl = new RateLimiter();
    const t0 = 1_000_000;
    const verdicts = [0, 1, 2, 3].map(() => rl.check(cfg, () => 0, t0).limited);
    expect(verdicts).toEqual([false, false, false, true]);
    const refused = rl.check(cfg, () => 0, t0 + 500);
    expect(refused.headers).toEqual([
      "x-ratelimit-limit",
      "3",
      "x-ratelimit-remaining",
      "0",
      "x-ratelimit-reset",
      "1",
      "x-local-rate-limit",
      "true",
    ]);
    expect(rl.check(cfg, () => 0, t0 + 1000).limited).toBe(false);
  });

  it("does nothing when the filter is not enabled (Envoy's default is 0%)", () => {
    const rl = new RateLimiter();
    const off = { ...cfg, enabled: 0 };
    expect([0, 1, 2, 3, 4].some(() => rl.check(off, () => 0).limited)).toBe(false);
  });
});

describe("fault", () => {
  const f = { delayMs: 100, delayFraction: 0.5, abortStatus: 503, abortGrpcStatus: undefined, abortFraction: 0.25 };
  it("injects by percentage", () => {
    expect(decideFault(f, () => 0.1)).toEqual({ delayMs: 100, abort: { status: 503, grpcStatus: undefined } });
    expect(decideFault(f, () => 0.3)).toEqual({ delayMs: 100, abort: undefined });
    expect(decideFault(f, () => 0.6)).toEqual({ delayMs: 0, abort: undefined });
  });
  it("aborts with a grpc status as an HTTP 200", () => {
    expect(decideFault({ ...f, abortGrpcStatus: 14 }, () => 0).abort).toEqual({ status: 200, grpcStatus: 14 });
  });
});
