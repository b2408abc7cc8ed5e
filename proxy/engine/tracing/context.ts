// Trace context in and out, pure: W3C `traceparent`, B3 multi-header (`x-b3-*`) and B3 single-header (`b3`).
// A proxy with a tracer makes one span per request: its trace and parent come from the request's headers (the
// request's own sampling decision honoured), or a new trace starts, sampled at the listener's percentage. The
// upstream request carries the span as the parent of the next hop, in both formats (Envoy's Zipkin tracer writes
// B3, its OpenTelemetry tracer traceparent; apps propagate either).
import { headerValue } from "../http/head.js";
import { removeHeader } from "../router/index.js";

export interface TraceIds {
  /** 32 lowercase hex digits. */
  traceId: string;
  /** This span: 16 lowercase hex digits. */
  spanId: string;
  /** The caller's span, when the request carried one. */
  parentId: string | undefined;
  sampled: boolean;
}

interface Incoming {
  traceId: string;
  spanId: string | undefined;
  sampled: boolean | undefined;
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const ZERO32 = "0".repeat(32);
const ZERO16 = "0".repeat(16);

/** A B3 trace id: 16 (padded to 128 bits) or 32 hex digits, not all zero. */
function b3TraceId(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const id = v.length === 16 ? ZERO16 + v.toLowerCase() : v.toLowerCase();
  return HEX32.test(id) && id !== ZERO32 ? id : undefined;
}

function spanIdOf(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const id = v.toLowerCase();
  return HEX16.test(id) && id !== ZERO16 ? id : undefined;
}

/** B3's sampling state: "1"/"true" sampled, "0"/"false" not, "d" (debug) sampled. */
function b3Sampled(v: string | undefined): boolean | undefined {
  if (v === "1" || v === "true" || v === "d") return true;
  if (v === "0" || v === "false") return false;
  return undefined;
}

/** W3C Trace Context §3.2: version 00 (a later version is read by its first four fields), flags bit 0 = sampled. */
function fromTraceparent(v: string): Incoming | undefined {
  const parts = v.trim().split("-");
  if (parts.length < 4 || parts[0] === "ff" || !/^[0-9a-f]{2}$/.test(parts[0] as string)) return undefined;
  if (parts[0] === "00" && parts.length !== 4) return undefined;
  const traceId = parts[1] as string;
  const spanId = spanIdOf(parts[2]);
  const flags = parts[3] as string;
  if (!HEX32.test(traceId) || traceId === ZERO32 || !spanId || !/^[0-9a-f]{2}$/.test(flags)) return undefined;
  return { traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

/** `b3: {traceid}-{spanid}[-{sampled}[-{parentspanid}]]`, or a bare sampling state. */
function fromB3Single(v: string): Incoming | "sampling-only" | undefined {
  const parts = v.trim().split("-");
  if (parts.length === 1) return "sampling-only";
  const traceId = b3TraceId(parts[0]);
  const spanId = spanIdOf(parts[1]);
  if (!traceId || !spanId) return undefined;
  return { traceId, spanId, sampled: b3Sampled(parts[2]) };
}

/** The request's trace context, if it carries a valid one: traceparent first, then B3 headers, then `b3`. */
export function incomingTrace(headers: readonly string[]): Incoming | { sampled: boolean | undefined } | undefined {
  const tp = headerValue(headers, "traceparent");
  const w3c = tp !== undefined ? fromTraceparent(tp) : undefined;
  if (w3c) return w3c;
  const traceId = b3TraceId(headerValue(headers, "x-b3-traceid"));
  if (traceId) {
    const debug = headerValue(headers, "x-b3-flags") === "1";
    return {
      traceId,
      spanId: spanIdOf(headerValue(headers, "x-b3-spanid")),
      sampled: debug || b3Sampled(headerValue(headers, "x-b3-sampled")),
    };
  }
  const single = headerValue(headers, "b3");
  if (single !== undefined) {
    const s = fromB3Single(single);
    if (s === "sampling-only") return { sampled: b3Sampled(single.trim()) };
    if (s) return s;
  }
  const sampled = b3Sampled(headerValue(headers, "x-b3-sampled"));
  return sampled === undefined ? undefined : { sampled };
}

/**
 * This proxy's span for a request: the caller's trace and span as its parent, or a new trace. A new sampling
 * decision is made only when the request carries none (`percent` of new traces are sampled).
 */
export function startSpan(
  headers: readonly string[],
  percent: number,
  random: () => number,
  hex: (bytes: number) => string,
): TraceIds {
  const inc = incomingTrace(headers);
  const sampled = inc?.sampled ?? (percent >= 100 || (percent > 0 && random() * 100 < percent));
  if (inc && "traceId" in inc) return { traceId: inc.traceId, spanId: hex(8), parentId: inc.spanId, sampled };
  const ids = hex(24);
  return { traceId: ids.slice(0, 32), spanId: ids.slice(32), parentId: undefined, sampled };
}

const TRACE_HEADERS = [
  "traceparent",
  "b3",
  "x-b3-traceid",
  "x-b3-spanid",
  "x-b3-parentspanid",
  "x-b3-sampled",
  "x-b3-flags",
] as const;

/** The upstream request's trace headers: this span as the next hop's parent, in W3C and B3 form. */
export function injectSpan(headers: string[], t: TraceIds): void {
  for (const n of TRACE_HEADERS) removeHeader(headers, n);
  headers.push(
    "traceparent",
    `00-${t.traceId}-${t.spanId}-${t.sampled ? "01" : "00"}`,
    "x-b3-traceid",
    t.traceId,
    "x-b3-spanid",
    t.spanId,
    "x-b3-sampled",
    t.sampled ? "1" : "0",
  );
  if (t.parentId) headers.push("x-b3-parentspanid", t.parentId);
}
