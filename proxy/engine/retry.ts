// Retry decisions with Envoy's retry_on semantics, and its fully jittered exponential backoff.
import type { RetryPolicy } from "./config/types.js";
import type { UpstreamFailure } from "./http1/upstream.js";

/** A response status that the policy retries: 5xx, gateway-error (502-504) or retriable-status-codes. */
export function retriableStatus(r: RetryPolicy, status: number): boolean {
  if (r.on.has("5xx") && status >= 500) return true;
  if (r.on.has("gateway-error") && status >= 502 && status <= 504) return true;
  return r.on.has("retriable-status-codes") && r.retriableStatusCodes.has(status);
}

/** A failure before any response: resets and per-try timeouts retry on 5xx and gateway-error; reset covers
 * disconnects; connect-failure covers only failed connects. */
export function retriableFailure(r: RetryPolicy, kind: UpstreamFailure | "timeout"): boolean {
  const on = r.on;
  if (on.has("5xx") || on.has("gateway-error")) return true;
  if (kind !== "timeout" && on.has("reset")) return true;
  return kind === "connect-failure" && on.has("connect-failure");
}

/** The wait before retry n (1-based): uniform in [0, (2^n - 1) × base), capped at max_interval. */
export function backoffMs(r: RetryPolicy, n: number, random: () => number): number {
  const ceiling = Math.min(r.baseIntervalMs * (2 ** n - 1), r.maxIntervalMs);
  return Math.floor(random() * ceiling);
}
