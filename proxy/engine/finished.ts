// What one finished HTTP request leaves behind: its Istio metrics, its access-log line (Envoy's format, or the
// engine's JSON log) and, when sampled, its span. The stream state machine (stream.ts) gathers the facts once.
import type { HttpConnectionManager } from "./config/types.js";
import { formatAccessLine } from "./config/access-log.js";
import { accessLog, type EngineContext } from "./context.js";
import type { Host } from "./cluster-host.js";
import { headerValue, type RequestHead } from "./http/head.js";
import { grpcStatusOf } from "./local.js";
import { isGrpc } from "./grpc-timeout.js";
import { randomHex } from "./upstream-head.js";
import { startSpan, type TraceIds } from "./tracing/context.js";
import { finishedSpan } from "./tracing/span.js";

export interface FinishedRequest {
  head: RequestHead;
  inbound: boolean;
  startTime: number;
  durationMs: number;
  code: number;
  /** Envoy's response flags ("-" when none). */
  flags: string;
  /** The gRPC status the upstream sent (header or trailer), when it sent one. */
  grpcStatus: string | undefined;
  /** The upstream cluster, "" when the request never got one. */
  cluster: string;
  /** The last upstream host tried. */
  host: Host | undefined;
  routeName: string | undefined;
  remoteAddress: string;
  requestBytes: number;
  responseBytes: number;
  /** Upstream attempts made (1 + retries). */
  attempts: number;
  /** The headers sent upstream (with the x-request-id generated when the request had none), else the request's. */
  sentHeaders: string[];
  /** The span started when the request went upstream; a local reply starts its span here. */
  trace: TraceIds | undefined;
}

export function recordFinished(ctx: EngineContext, hcm: HttpConnectionManager, f: FinishedRequest): void {
  const grpc = isGrpc(headerValue(f.head.headers, "content-type"));
  ctx.stats.record({
    inbound: f.inbound,
    protocol: grpc ? "grpc" : "http",
    grpcStatus: grpc ? (f.grpcStatus ?? (f.code === 200 ? "" : String(grpcStatusOf(f.code)))) : "",
    cluster: f.cluster || "unknown",
    peerWorkload: f.host?.endpoint.workload,
    code: f.code,
    flags: f.flags,
    durationMs: f.durationMs,
    requestBytes: f.requestBytes,
    responseBytes: f.responseBytes,
  });
  const format = hcm.accessLog;
  const line =
    format && ctx.accessOut
      ? formatAccessLine(format, {
          head: f.head,
          startTime: f.startTime,
          code: f.code,
          flags: f.flags,
          bytesReceived: f.requestBytes,
          bytesSent: f.responseBytes,
          durationMs: f.durationMs,
          upstreamCluster: f.cluster,
          upstreamHost: f.host?.key,
          remoteAddress: f.remoteAddress,
          routeName: f.routeName,
        })
      : undefined;
  if (hcm.tracer) reportSpan(ctx, hcm, f);
  if (line !== undefined) ctx.accessOut?.write(line);
  else if (ctx.log && (ctx.logAll || format)) {
    accessLog(ctx.log, f.head, {
      response_code: f.code,
      response_flags: f.flags,
      bytes_received: f.requestBytes,
      bytes_sent: f.responseBytes,
      duration: Math.round(f.durationMs),
      upstream_cluster: f.cluster,
      upstream_host: f.host?.key,
      downstream_remote_address: f.remoteAddress,
    });
  }
}

/** A sampled request's span goes to the exporter's queue. */
function reportSpan(ctx: EngineContext, hcm: HttpConnectionManager, f: FinishedRequest): void {
  const ids = f.trace ?? startSpan(f.head.headers, hcm.samplingPercent, ctx.random, randomHex);
  if (!ids.sampled || !hcm.tracer) return;
  const span = finishedSpan(
    {
      ids,
      inbound: f.inbound,
      head: f.head,
      requestId: headerValue(f.sentHeaders, "x-request-id"),
      startTime: f.startTime,
      durationMs: f.durationMs,
      code: f.code,
      flags: f.flags,
      cluster: f.cluster,
      remoteAddress: f.remoteAddress,
      requestBytes: f.requestBytes,
      responseBytes: f.responseBytes,
      attempts: f.attempts,
    },
    ctx.identity,
  );
  ctx.tracers.exporter(hcm.tracer).add(span);
}
