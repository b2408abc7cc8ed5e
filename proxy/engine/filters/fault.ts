// Fault injection (envoy.filters.http.fault): the decision for one request (delay first, then abort), from HTTPFault's
// percentages.
import type { FaultConfig } from "../config/types.js";
import { fraction, join, onlyKnown, type Obj, type Reader } from "../config/read.js";
import { TYPE } from "../../xds/types.js";
import { LOCAL_BODY } from "../local.js";
import type { FilterCallbacks, HttpFilterExtension } from "./api.js";

export interface FaultDecision {
  delayMs: number;
  abort: { status: number; grpcStatus: number | undefined } | undefined;
}

export function decideFault(f: FaultConfig, random: () => number): FaultDecision {
  const delayMs = f.delayMs > 0 && f.delayFraction > 0 && random() < f.delayFraction ? f.delayMs : 0;
  let abort: FaultDecision["abort"];
  const hasAbort = f.abortStatus !== undefined || f.abortGrpcStatus !== undefined;
  if (hasAbort && f.abortFraction > 0 && random() < f.abortFraction) {
    abort = { status: f.abortGrpcStatus !== undefined ? 200 : (f.abortStatus ?? 503), grpcStatus: f.abortGrpcStatus };
  }
  return { delayMs, abort };
}

function compileFault(r: Reader, o: Obj | undefined, path: string): FaultConfig {
  // Not implemented, so refused: headers and downstream_nodes (faults for some requests only), upstream_cluster,
  // max_active_faults, response_rate_limit, header_delay/header_abort, http2_error, the runtime keys.
  if (o) onlyKnown(r, o, path, ["delay", "abort"], "HTTPFault");
  const delay = o && r.optObj(o, "delay", path);
  const abort = o && r.optObj(o, "abort", path);
  const dp = join(path, "delay");
  const ap = join(path, "abort");
  if (delay) onlyKnown(r, delay, dp, ["fixed_delay", "percentage"], "FaultDelay");
  if (abort) onlyKnown(r, abort, ap, ["http_status", "grpc_status", "percentage"], "FaultAbort");
  return {
    delayMs: delay ? (r.duration(delay, "fixed_delay", dp) ?? 0) : 0,
    delayFraction: delay ? fraction(r, r.optObj(delay, "percentage", dp), join(dp, "percentage")) : 0,
    abortStatus: abort ? r.num(abort, "http_status", ap) : undefined,
    abortGrpcStatus: abort ? r.num(abort, "grpc_status", ap) : undefined,
    abortFraction: abort ? fraction(r, r.optObj(abort, "percentage", ap), join(ap, "percentage")) : 0,
  };
}

function abortWith(s: FilterCallbacks, abort: NonNullable<FaultDecision["abort"]>): void {
  const grpc = abort.grpcStatus;
  if (grpc === undefined) return s.sendLocalReply(abort.status, "FI");
  s.setGrpcStatus(String(grpc));
  s.addResponseHeaders([
    "content-type",
    "application/grpc",
    "grpc-status",
    String(grpc),
    "grpc-message",
    LOCAL_BODY.FI,
  ]);
  s.sendLocalReply(abort.status, "FI");
}

/** envoy.filters.http.fault: HTTPFault's fixed delay and abort (HTTP or gRPC status), each with its percentage. */
export const faultFilter: HttpFilterExtension<FaultConfig> = {
  name: "envoy.filters.http.fault",
  typeUrls: [TYPE.fault],
  compile: compileFault,
  decodeHeaders(s, config) {
    const d = decideFault(config, s.ctx.random);
    const abort = d.abort;
    if (d.delayMs > 0) {
      s.delay(d.delayMs, () => (abort ? abortWith(s, abort) : s.continueDecoding()));
      return "stop";
    }
    if (!abort) return "continue";
    abortWith(s, abort);
    return "stop";
  },
};
