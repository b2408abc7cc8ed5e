// gRPC's deadline as a route reads it: the request's grpc-timeout header, for the router's timeout (max_grpc_timeout,
// the shape Istio gives sidecars) or for the stream's limit (max_stream_duration's grpc_timeout_header_max, the shape
// proxyless gRPC reads). Pure.
import type { ForwardAction, RequestView } from "./config/types.js";

/**
 * A gRPC request or response, by its content-type: application/grpc, or with a suffix (+proto, +json) or parameters,
 * as Envoy's Grpc::Common::hasGrpcContentType. gRPC-Web (application/grpc-web…) is not gRPC: its calls are plain
 * HTTP to the proxy until the grpc_web filter translates them (filters/grpc-web.ts).
 */
export function isGrpc(contentType: string | undefined): boolean {
  if (contentType === undefined || !contentType.startsWith("application/grpc")) return false;
  const next = contentType.charCodeAt(16);
  return contentType.length === 16 || next === 43 /* + */ || next === 59; /* ; */
}

/** The longest delay a Node timer holds (about 24.8 days): a longer one fires after 1 ms, so delays are clamped. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The stream's limit in ms (undefined: none), as Envoy's refreshDurationTimeout has it: the request's grpc-timeout
 * when the route reads it (grpc_timeout_header_max set), capped and less the offset, where 0 is a deadline already
 * spent (the stream ends at once); else the route's max_stream_duration (0: none).
 */
export function streamLimitMs(a: ForwardAction, req: RequestView): number | undefined {
  // Headers are looked up only for a route that reads them: this runs on every request.
  const g = a.grpcTimeoutMaxMs === undefined ? undefined : parseGrpcTimeout(req.header("grpc-timeout"));
  if (g === undefined) return a.maxStreamMs > 0 ? a.maxStreamMs : undefined;
  let ms = a.grpcTimeoutMaxMs && g > a.grpcTimeoutMaxMs ? a.grpcTimeoutMaxMs : g;
  if (ms > 0 && a.grpcHeaderOffsetMs) ms = a.grpcHeaderOffsetMs < ms ? ms - a.grpcHeaderOffsetMs : 0;
  return ms;
}

/**
 * The router's timeout in ms (0: none), as Envoy's FilterUtility::finalTimeout has it: none on a route with
 * max_stream_duration (Envoy's "new timeouts": the stream's limit replaces `timeout` and max_grpc_timeout); for a
 * gRPC request on a route with max_grpc_timeout, the grpc-timeout less grpc_timeout_offset, capped at
 * max_grpc_timeout (0: not capped; no header: the cap); else the route's timeout.
 */
export function routeTimeoutMs(a: ForwardAction, req: RequestView): number {
  if (a.hasMaxStreamDuration) return 0;
  if (a.maxGrpcTimeoutMs === undefined || !isGrpc(req.header("content-type"))) return a.timeoutMs;
  let ms = parseGrpcTimeout(req.header("grpc-timeout")) ?? 0;
  if (a.grpcTimeoutOffsetMs && a.grpcTimeoutOffsetMs < ms) ms -= a.grpcTimeoutOffsetMs;
  if (a.maxGrpcTimeoutMs > 0 && (ms === 0 || ms > a.maxGrpcTimeoutMs)) ms = a.maxGrpcTimeoutMs;
  return ms;
}

const GRPC_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/** gRPC's grpc-timeout ("100m": up to 8 digits and a unit) in ms, rounded up; undefined when absent or malformed. */
export function parseGrpcTimeout(v: string | undefined): number | undefined {
  if (v === undefined || v.length < 2 || v.length > 9) return undefined;
  const unit = GRPC_UNIT_MS[v[v.length - 1] as string];
  const digits = v.slice(0, -1);
  if (unit === undefined || !/^[0-9]+$/.test(digits)) return undefined;
  return Math.ceil(Number(digits) * unit);
}
