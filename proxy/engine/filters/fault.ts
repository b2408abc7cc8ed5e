// Fault injection: the decision for one request (delay first, then abort), from HTTPFault's percentages.
import type { FaultConfig } from "../config/types.js";

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
