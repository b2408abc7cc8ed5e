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
  previousPriorities: 0,
});

describe("retry decisions", () => {
  it("retries statuses by retry_on", () => {
    expect(retriableStatus(policy("5xx"), 500)).toBe(true);
    expect(retriableStatus(policy("gateway-error"), 500)).toBe(false);
    expect(retriableStatus(policy("gateway-error"), 503)).toBe(true);
    expect(retriableStatus(policy("retriable-status-codes", [409]), 409)).toBe(true);
    expect(retriableStatus(policy("connect-failure", [409]), 409)).toBe(false);
    expect(retriableStatus(policy("retriable-4xx"), 409)).toBe(true);
    expect(retriableStatus(policy("retriable-4xx"), 404)).toBe(false);
  });

  it("retries a trailers-only gRPC response by its grpc-status, and a rate-limited one when asked", () => {
    // Istio's default: connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes.
    const istio = policy("connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes", [503]);
    expect(retriableStatus(istio, 200, ["content-type", "application/grpc", "grpc-status", "14"])).toBe(true);
    expect(retriableStatus(istio, 200, ["grpc-status", "1"])).toBe(true);
    expect(retriableStatus(istio, 200, ["grpc-status", "4"])).toBe(false); // deadline-exceeded isn't asked for
    expect(retriableStatus(istio, 200, ["grpc-status", "0"])).toBe(false);
    expect(retriableStatus(policy("internal,resource-exhausted,deadline-exceeded"), 200, ["grpc-status", "8"])).toBe(
      true,
    );
    expect(retriableStatus(policy("envoy-ratelimited"), 429, ["x-envoy-ratelimited", "true"])).toBe(true);
    expect(retriableStatus(policy("envoy-ratelimited"), 429, [])).toBe(false);
  });

  it("retries failures by retry_on", () => {
    expect(retriableFailure(policy("connect-failure"), "connect-failure")).toBe(true);
    expect(retriableFailure(policy("connect-failure"), "reset")).toBe(false);
    expect(retriableFailure(policy("reset"), "reset")).toBe(true);
    expect(retriableFailure(policy("reset"), "timeout")).toBe(false);
    expect(retriableFailure(policy("5xx"), "timeout")).toBe(true);
    expect(retriableFailure(policy("refused-stream"), "refused-stream")).toBe(true);
    expect(retriableFailure(policy("refused-stream"), "reset")).toBe(false);
    expect(retriableFailure(policy("reset"), "refused-stream")).toBe(true);
  });

  it("backs off exponentially with full jitter, from a 25 ms base, capped", () => {
    const p = policy("5xx");
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(p, n, () => 0.999))).toEqual([24, 74, 174, 249, 249]);
    expect(backoffMs(p, 3, () => 0)).toBe(0);
  });
});
