// The router's own x-envoy-* headers, as Envoy's router.cc adds them unless its suppress_envoy_headers is set (then
// none, and nothing here is reached): x-envoy-overloaded on a circuit breaker's 503, x-envoy-expected-rq-timeout-ms
// to the upstream (each try), x-envoy-upstream-service-time to the client (stream-response.ts). A retry's head also
// carries the virtual host's x-envoy-attempt-count, which suppression leaves as Envoy does.
import type { UpstreamRequest } from "./link.js";
import { setHeader } from "./router/index.js";

/** Envoy marks a reply the circuit breakers made with this header. */
const OVERLOADED = ["x-envoy-overloaded", "true"];
/** A circuit breaker's 503's extra headers: none when suppressed (the same array every time: no allocation). */
export const overloaded = (suppressed: boolean): string[] | undefined => (suppressed ? undefined : OVERLOADED);
/** How long the upstream has, in whole ms. */
export const EXPECTED_TIMEOUT = "x-envoy-expected-rq-timeout-ms";
/** From the request's end to the upstream's response head, in whole ms. */
export const SERVICE_TIME = "x-envoy-upstream-service-time";

/**
 * x-envoy-expected-rq-timeout-ms as Envoy's FilterUtility::setTimeoutHeaders has it (0: not sent): the per-try
 * timeout where it is shorter than the route's, else the route's; for a retry, less the time since the request
 * completed, at least 1 ms once the route's is spent.
 */
export function expectedTimeoutMs(routeMs: number, perTryMs: number, elapsedMs: number): number {
  const ms = Math.floor(perTryMs > 0 && (routeMs === 0 || perTryMs < routeMs) ? perTryMs : routeMs);
  if (ms <= 0 || routeMs <= 0) return ms;
  return elapsedMs >= routeMs ? 1 : Math.max(1, Math.min(ms, Math.floor(routeMs - elapsedMs)));
}

/** The first try's head: x-envoy-expected-rq-timeout-ms when there is a timeout (the head is the request's own). */
export function expectTimeout(req: UpstreamRequest, routeMs: number, perTryMs: number): void {
  const ms = expectedTimeoutMs(routeMs, perTryMs, 0);
  if (ms > 0) setHeader(req.headers, EXPECTED_TIMEOUT, String(ms));
}

/** A retry's x-envoy-expected-rq-timeout-ms (Envoy's doRetry): `completeAt` -1, the request isn't whole (none passed). */
export function timeLeftMs(routeMs: number, perTryMs: number, completeAt: number): number {
  return expectedTimeoutMs(routeMs, perTryMs, completeAt < 0 ? 0 : performance.now() - completeAt);
}

/**
 * A retry's head, new as the serialized one is cached: x-envoy-attempt-count when `attempt` is given,
 * x-envoy-expected-rq-timeout-ms when `expectedMs` is above 0; the same head when neither is sent.
 */
export function retryHead(req: UpstreamRequest, attempt: number | undefined, expectedMs: number): UpstreamRequest {
  if (attempt === undefined && expectedMs <= 0) return req;
  const headers = req.headers.slice();
  if (attempt !== undefined) setHeader(headers, "x-envoy-attempt-count", String(attempt));
  if (expectedMs > 0) setHeader(headers, EXPECTED_TIMEOUT, String(expectedMs));
  return { ...req, headers, h1: undefined };
}
