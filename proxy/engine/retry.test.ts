import { backoffMs, retriableFailure, retriableStatus } from "./retry.js";
import type { RetryPolicy } from "./config/types.js";

const policy = (on: string, codes: number[] = []): RetryPolicy => ({
  on: new Set(on.split(",")),
  numRetries: 2,
  perTryTimeoutMs: 0,
  baseIntervalMs: 25,
  maxIntervalMs: 250,
  retriableStatusCodes: new Set(codes),
  previousHosts: false,
});

describe("retry decisions", () => {
  it("retries statuses by retry_on", () => {
    expect(retriableStatus(policy("5xx"), 500)).toBe(true);
    expect(retriableStatus(policy("gateway-error"), 500)).toBe(false);
    expect(retriableStatus(policy("gateway-error"), 503)).toBe(true);
    expect(retriableStatus(policy("retriable-status-codes", [409]), 409)).toBe(true);
    expect(retriableStatus(policy("connect-failure", [409]), 409)).toBe(false);
  });

  it("retries failures by retry_on", () => {
    expect(retriableFailure(policy("connect-failure"), "connect-failure")).toBe(true);
    expect(retriableFailure(policy("connect-failure"), "reset")).toBe(false);
    expect(retriableFailure(policy("reset"), "reset")).toBe(true);
    expect(retriableFailure(policy("reset"), "timeout")).toBe(false);
    expect(retriableFailure(policy("5xx"), "timeout")).toBe(true);
  });

  it("backs off exponentially with full jitter, from a 25 ms base, capped", () => {
    const p = policy("5xx");
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(p, n, () => 0.999))).toEqual([24, 74, 174, 249, 249]);
    expect(backoffMs(p, 3, () => 0)).toBe(0);
  });
});
