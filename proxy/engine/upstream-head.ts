// The request sent upstream: hop-by-hop headers dropped, header edits applied, host rewritten, and
// x-request-id, traceparent/B3 and x-forwarded-proto added when missing.
import type { RequestBody } from "./http/body.js";
import { randomFillSync } from "node:crypto";
import type { HeaderEdits } from "./config/types.js";
import { type RequestHead, headerValue } from "./http/head.js";
import type { UpstreamRequest } from "./link.js";
import { injectSpan, type TraceIds } from "./tracing/context.js";
import { applyEdits, removeHeader, setHeader } from "./router/index.js";

const pool = Buffer.alloc(8192);
let poolAt = pool.length;

/** Where n random bytes are in the pool, refilled 8 KiB at a time. */
function random(n: number): number {
  if (poolAt + n > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  poolAt += n;
  return poolAt - n;
}

/** Hex of n random bytes. */
export function randomHex(n: number): string {
  const at = random(n);
  return pool.toString("hex", at, at + n);
}

const HEX = Buffer.from("0123456789abcdef", "latin1");
const uuidText = Buffer.alloc(36, 45); // the dashes stay where they are

/**
 * A random (version 4) UUID for x-request-id, as crypto.randomUUID() makes, from the same pool: laid out into one
 * buffer and read as one string, where randomUUID() builds it by concatenating 20 strings (a sixth of the bytes
 * a proxied request allocated).
 */
export function requestId(): string {
  const at = random(16);
  let o = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) o++;
    let byte = pool[at + i] as number;
    if (i === 6) byte = (byte & 0x0f) | 0x40;
    else if (i === 8) byte = (byte & 0x3f) | 0x80;
    uuidText[o++] = HEX[byte >> 4] as number;
    uuidText[o++] = HEX[byte & 15] as number;
  }
  return uuidText.toString("latin1");
}

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1), and the client's framing: the body leaves re-framed by the proxy, so
 * Transfer-Encoding and Content-Length are the proxy's own, never the client's.
 */
const HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "expect",
  "te",
  "upgrade",
  "transfer-encoding",
  "content-length",
  "trailer",
  "http2-settings",
]);

export interface HeadOptions {
  path: string;
  levels: readonly (HeaderEdits | undefined)[];
  host: string | undefined;
  requestId: boolean;
  tracing: boolean;
  /** A trace this proxy starts is marked sampled (traceparent flags 01, x-b3-sampled 1), else not (00, 0). */
  sampled?: boolean;
  /** With a tracer: this proxy's span, sent as the next hop's parent (replacing the caller's trace headers). */
  span?: TraceIds | undefined;
  /** The client's connection is TLS (x-forwarded-proto https). */
  tls?: boolean;
  /** append_x_forwarded_host: `host` rewriting the request's appends the one it had to x-forwarded-host. */
  appendXfh?: boolean;
}

/** Header names the Connection header lists: hop-by-hop too. */
function connectionTokens(head: RequestHead): Set<string> | undefined {
  const v = headerValue(head.headers, "connection");
  if (!v) return undefined;
  const out = new Set<string>();
  for (const t of v.split(",")) {
    const n = t.trim().toLowerCase();
    if (n && n !== "close" && n !== "keep-alive") out.add(n);
  }
  return out.size ? out : undefined;
}

/**
 * `body` is the request's decoded body (ended, or still arriving). One authority: the Host sent is the one the request was routed by
 * (head.host: absolute-form or :authority over a Host header), unless a rewrite names another.
 */
export function upstreamRequest(head: RequestHead, body: RequestBody, o: HeadOptions): UpstreamRequest {
  const src = head.headers;
  const extra = connectionTokens(head);
  const headers: string[] = [];
  for (let i = 0; i < src.length; i += 2) {
    const n = src[i] as string;
    if (!HOP.has(n) && n !== "host" && !extra?.has(n)) headers.push(n, src[i + 1] as string);
  }
  if (head.host) headers.push("host", head.host);
  applyEdits(headers, "request", o.levels);
  if (o.host !== undefined) {
    if (o.appendXfh) appendForwardedHost(headers);
    removeHeader(headers, "host");
    headers.push("host", o.host);
  }
  if (o.requestId && headerValue(headers, "x-request-id") === undefined) headers.push("x-request-id", requestId());
  if (o.span) injectSpan(headers, o.span);
  else if (
    o.tracing &&
    headerValue(headers, "traceparent") === undefined &&
    headerValue(headers, "x-b3-traceid") === undefined
  ) {
    const ids = randomHex(24);
    const trace = ids.slice(0, 32);
    const span = ids.slice(32);
    const sampled = o.sampled !== false;
    headers.push(
      "traceparent",
      `00-${trace}-${span}-${sampled ? "01" : "00"}`,
      "x-b3-traceid",
      trace,
      "x-b3-spanid",
      span,
      "x-b3-sampled",
      sampled ? "1" : "0",
    );
  }
  // As Envoy: the scheme of the client's connection, when no earlier hop said.
  if (headerValue(headers, "x-forwarded-proto") === undefined)
    headers.push("x-forwarded-proto", o.tls ? "https" : "http");
  // The proxy's own framing: a content-length whenever the request had a body or said it had one; a body still
  // arriving keeps the length its client declared, else goes chunked on HTTP/1.1 (as Envoy).
  let chunked = false;
  if (!body.ended) {
    removeHeader(headers, "content-length");
    if (head.contentLength >= 0) headers.push("content-length", String(head.contentLength));
    else chunked = true;
  } else if (body.received || head.chunked || headerValue(src, "content-length") !== undefined) {
    removeHeader(headers, "content-length");
    headers.push("content-length", String(body.received));
  }
  // Every field named here, the later ones too: set afterwards, they would cost the object a property array.
  return { method: head.method, path: o.path, headers, body, chunked, upgrade: false, h1: undefined };
}

/**
 * The request's host appended to x-forwarded-host before a rewrite replaces it, unless it is the last value there
 * already (Envoy's Utility::updateAuthority with append_xfh); a request with no host appends nothing.
 */
function appendForwardedHost(headers: string[]): void {
  const host = headerValue(headers, "host");
  if (!host) return;
  const xfh = headerValue(headers, "x-forwarded-host");
  if (!xfh) return setHeader(headers, "x-forwarded-host", host);
  if (xfh.slice(xfh.lastIndexOf(",") + 1).trim() !== host) setHeader(headers, "x-forwarded-host", `${xfh},${host}`);
}

/** The authority of a mirrored request: "-shadow" appended to the host, as Envoy does. */
export function shadowHost(authority: string): string {
  const colon = authority.lastIndexOf(":");
  return colon > 0 && !authority.endsWith("]")
    ? `${authority.slice(0, colon)}-shadow${authority.slice(colon)}`
    : `${authority}-shadow`;
}
