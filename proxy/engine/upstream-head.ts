// The request sent upstream: hop-by-hop headers dropped, header edits applied, host rewritten, and
// x-request-id, traceparent/B3 and x-forwarded-proto added when missing.
import { randomFillSync, randomUUID } from "node:crypto";
import type { HeaderEdits } from "./config/types.js";
import type { RequestHead } from "./http1/parse.js";
import { headerValue } from "./http1/parse.js";
import type { UpstreamRequest } from "./link.js";
import { applyEdits, indexOfHeader, removeHeader, setHeader } from "./router/index.js";

const pool = Buffer.alloc(8192);
let poolAt = pool.length;

/** Hex of n random bytes, from a pool refilled 8 KiB at a time. */
function randomHex(n: number): string {
  if (poolAt + n > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  poolAt += n;
  return pool.toString("hex", poolAt - n, poolAt);
}

const HOP = new Set(["connection", "keep-alive", "proxy-connection", "expect", "te", "upgrade"]);

export interface HeadOptions {
  path: string;
  levels: readonly (HeaderEdits | undefined)[];
  host: string | undefined;
  requestId: boolean;
  tracing: boolean;
}

export function upstreamRequest(head: RequestHead, body: Buffer, o: HeadOptions): UpstreamRequest {
  const src = head.headers;
  const headers: string[] = [];
  for (let i = 0; i < src.length; i += 2) if (!HOP.has(src[i] as string)) headers.push(src[i] as string, src[i + 1] as string);
  applyEdits(headers, "request", o.levels);
  if (o.host !== undefined) {
    removeHeader(headers, "host");
    headers.push("host", o.host);
  } else if (indexOfHeader(headers, "host") < 0 && head.host) headers.push("host", head.host);
  if (o.requestId && headerValue(headers, "x-request-id") === undefined) headers.push("x-request-id", randomUUID());
  if (o.tracing && headerValue(headers, "traceparent") === undefined && headerValue(headers, "x-b3-traceid") === undefined) {
    const ids = randomHex(24);
    const trace = ids.slice(0, 32);
    const span = ids.slice(32);
    headers.push("traceparent", `00-${trace}-${span}-01`, "x-b3-traceid", trace, "x-b3-spanid", span, "x-b3-sampled", "1");
  }
  if (headerValue(headers, "x-forwarded-proto") === undefined) headers.push("x-forwarded-proto", "http");
  // An HTTP/2 request may carry a body without content-length; HTTP/1.1 needs framing.
  if (body.length && !head.chunked && headerValue(headers, "content-length") === undefined) headers.push("content-length", String(body.length));
  return { method: head.method, path: o.path, headers, body, chunked: head.chunked };
}

/** The request for a later attempt: x-envoy-attempt-count set (a new head, as the serialized one is cached). */
export function attemptHead(req: UpstreamRequest, attempt: number): UpstreamRequest {
  const headers = req.headers.slice();
  setHeader(headers, "x-envoy-attempt-count", String(attempt));
  return { ...req, headers, h1: undefined };
}

/** The authority of a mirrored request: "-shadow" appended to the host, as Envoy does. */
export function shadowHost(authority: string): string {
  const colon = authority.lastIndexOf(":");
  return colon > 0 && !authority.endsWith("]") ? `${authority.slice(0, colon)}-shadow${authority.slice(colon)}` : `${authority}-shadow`;
}
