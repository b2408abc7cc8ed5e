// The retry conditions of a RetryPolicy's retry_on, as the engine implements them: the contract between what discovery
// writes (from a VirtualService's retries.retryOn) and what the engine's compiler takes. Envoy's other condition,
// retriable-headers, needs retriable_headers, which the engine doesn't implement, so it is refused on both sides.
export const RETRY_ON: ReadonlySet<string> = new Set([
  "5xx",
  "gateway-error",
  "reset",
  "connect-failure",
  "envoy-ratelimited",
  "retriable-4xx",
  "refused-stream",
  "retriable-status-codes",
  "http3-post-connect-failure", // no HTTP/3 upstream here: never met, as in Envoy without HTTP/3
  "unavailable",
  "cancelled",
  "deadline-exceeded",
  "internal",
  "resource-exhausted",
]);

/** Why a retry_on condition is refused, or undefined when the engine implements it. */
export function retryOnProblem(condition: string): string | undefined {
  if (RETRY_ON.has(condition)) return undefined;
  if (condition === "retriable-headers") return `"${condition}" needs retriable_headers, which Weft doesn't implement`;
  return `unknown retry condition "${condition}"`;
}
