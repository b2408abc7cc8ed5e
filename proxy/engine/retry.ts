// Retry decisions with Envoy's retry_on semantics, and its fully jittered exponential backoff.
import type { RetryPolicy } from "./config/types.js";
import type { UpstreamFailure } from "./http1/upstream.js";
import { headerValue } from "./http/head.js";

/** Envoy's gRPC retry_on conditions and the grpc-status each retries. */
const GRPC_RETRY_ON: ReadonlyArray<readonly [string, string]> = [
  ["cancelled", "1"],
  ["deadline-exceeded", "4"],
  ["resource-exhausted", "8"],
  ["internal", "13"],
  ["unavailable", "14"],
];

/**
 * A response head that the policy retries: 5xx, gateway-error (502-504), retriable-4xx (409),
 * retriable-status-codes, envoy-ratelimited (x-envoy-ratelimited), or a gRPC condition whose grpc-status the head
 * carries (a trailers-only response: a status in the trailers comes after the response has been passed on).
 */
export function retriableStatus(r: RetryPolicy, status: number, headers?: readonly string[]): boolean {
  const on = r.on;
  if (on.has("5xx") && status >= 500) return true;
  if (on.has("gateway-error") && status >= 502 && status <= 504) return true;
  if (on.has("retriable-4xx") && status === 409) return true;
  if (on.has("retriable-status-codes") && r.retriableStatusCodes.has(status)) return true;
  if (!headers) return false;
  if (on.has("envoy-ratelimited") && headerValue(headers, "x-envoy-ratelimited") !== undefined) return true;
  const grpc = headerValue(headers, "grpc-status");
  return grpc !== undefined && GRPC_RETRY_ON.some(([name, code]) => code === grpc && on.has(name));
}

/** A failure before any response: resets and per-try timeouts retry on 5xx and gateway-error; reset covers
 * disconnects; connect-failure covers only failed connects; refused-stream only an HTTP/2 REFUSED_STREAM (the
 * upstream saying it never processed the request). */
export function retriableFailure(r: RetryPolicy, kind: UpstreamFailure | "timeout"): boolean {
  const on = r.on;
  if (on.has("5xx") || on.has("gateway-error")) return true;
  if (kind !== "timeout" && on.has("reset")) return true;
  if (kind === "refused-stream") return on.has("refused-stream");
  return kind === "connect-failure" && on.has("connect-failure");
}

/** The wait before retry n (1-based): uniform in [0, (2^n - 1) × base), capped at max_interval. */
export function backoffMs(r: RetryPolicy, n: number, random: () => number): number {
  const ceiling = Math.min(r.baseIntervalMs * (2 ** n - 1), r.maxIntervalMs);
  return Math.floor(random() * ceiling);
}
