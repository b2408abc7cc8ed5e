// The field sections of HTTP/2 requests and responses (RFC 9113 §8.2, §8.3). A request's fields come from an
// untrusted client and will be written into an HTTP/1.1 head upstream, so anything that is malformed in HTTP/2 is
// refused here: a stream error PROTOCOL_ERROR, never a field passed on. Limits answer 431 as the HTTP/1 codec does.
import { isTchar, isToken } from "../http1/syntax.js";

export interface H2RequestHead {
  method: string;
  /** :path (origin-form, or `*` for OPTIONS). */
  path: string;
  authority: string;
  /** Regular fields, flat, in arrival order; `cookie` crumbs joined into one field (§8.2.3). */
  headers: string[];
  /** content-length, or -1. */
  contentLength: number;
}

/** Why a request can't be served: `malformed` is a stream error PROTOCOL_ERROR, `status` a local reply. */
export type Refusal = { malformed: string } | { status: 408 | 431 | 501; reason: string };

/** Connection-specific fields (§8.2.2). */
const CONNECTION_SPECIFIC = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);

/** A field name: token characters, none upper case (§8.2.1). */
function validName(n: string): boolean {
  if (!n.length) return false;
  for (let i = 0; i < n.length; i++) {
    const c = n.charCodeAt(i);
    if (!isTchar(c) || (c >= 0x41 && c <= 0x5a)) return false;
  }
  return true;
}

/** No control character but HTAB (NUL, CR and LF above all), and one octet per character (HPACK writes latin1). */
function noControls(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if ((c < 0x20 && c !== 9) || c === 0x7f || c > 0xff) return false;
  }
  return true;
}

/** A request's field value (§8.2.1): no control character but HTAB, no leading or trailing whitespace. */
function validValue(v: string): boolean {
  const n = v.length;
  if (n) {
    const a = v.charCodeAt(0);
    const z = v.charCodeAt(n - 1);
    if (a === 0x20 || a === 9 || z === 0x20 || z === 9) return false;
  }
  return noControls(v);
}

/** :path as an origin-form target: visible ASCII only (it becomes the request line upstream). */
function validPath(p: string, method: string): boolean {
  if (p === "*") return method === "OPTIONS";
  if (p.charCodeAt(0) !== 0x2f) return false;
  for (let i = 1; i < p.length; i++) {
    const c = p.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

/** :authority: host[:port] characters only (RFC 3986 reg-name, IP-literal), nothing that ends a line or a field. */
function validAuthority(a: string): boolean {
  for (let i = 0; i < a.length; i++) {
    const c = a.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x2f || c === 0x3f || c === 0x23 || c === 0x5c) return false;
  }
  return true;
}

/** Why a regular field makes a message malformed (§8.2), or undefined when it is acceptable. */
function fieldDefect(name: string, value: string): string | undefined {
  if (!validName(name)) return `field name ${JSON.stringify(name)}`;
  if (!validValue(value)) return `field ${name}: a character HTTP forbids`;
  if (CONNECTION_SPECIFIC.has(name)) return `connection-specific field ${name}`;
  return undefined;
}

/** content-length's value, given the one seen before (-1: none); a string says why it is malformed. */
function contentLengthOf(value: string, before: number): number | string {
  if (!/^\d{1,15}$/.test(value)) return "content-length";
  const n = Number(value);
  return before >= 0 && n !== before ? "content-length values differ" : n;
}

export interface FieldLimits {
  /** Fields at most (Envoy's max_headers_count). */
  maxHeaders: number;
  /** Names and values together at most, in bytes (Envoy's max_request_headers_kb). */
  maxBytes: number;
}

/** A request's head from its decoded fields, or why it is refused. */
export function requestHead(fields: readonly string[], limits: FieldLimits): H2RequestHead | Refusal {
  let method: string | undefined;
  let path: string | undefined;
  let scheme: string | undefined;
  let authority: string | undefined;
  let regular = false;
  let bytes = 0;
  let contentLength = -1;
  let cookie: string | undefined;
  const headers: string[] = [];
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i] as string;
    const value = fields[i + 1] as string;
    // Counted before a field is checked: a header block of one-byte references to a large table entry decodes to
    // more field bytes than it has octets by thousands of times, and checking all of them would cost as much.
    bytes += name.length + value.length;
    if (bytes > limits.maxBytes) return { status: 431, reason: "header fields too large" };
    if (name.charCodeAt(0) === 0x3a) {
      if (regular) return { malformed: `pseudo-header ${name} after a regular field` };
      if (name === ":method") {
        if (method !== undefined || !isToken(value)) return { malformed: "bad or repeated :method" };
        method = value;
      } else if (name === ":path") {
        if (path !== undefined || !value.length) return { malformed: "empty or repeated :path" };
        path = value;
      } else if (name === ":scheme") {
        if (scheme !== undefined || !isToken(value)) return { malformed: "bad or repeated :scheme" };
        scheme = value;
      } else if (name === ":authority") {
        if (authority !== undefined || !validAuthority(value)) return { malformed: "bad or repeated :authority" };
        authority = value;
      } else return { malformed: `pseudo-header ${name} is not a request's` };
      continue;
    }
    regular = true;
    const defect = fieldDefect(name, value);
    if (defect) return { malformed: defect };
    if (name === "te" && value !== "trailers") return { malformed: "te other than trailers" };
    if (name === "cookie") {
      cookie = cookie === undefined ? value : `${cookie}; ${value}`;
      continue;
    }
    if (name === "content-length") {
      const n = contentLengthOf(value, contentLength);
      if (typeof n === "string") return { malformed: n };
      contentLength = n;
    }
    headers.push(name, value);
  }
  if (method === undefined) return { malformed: "no :method" };
  if (method === "CONNECT") return { status: 501, reason: "CONNECT is not supported" };
  if (scheme === undefined) return { malformed: "no :scheme" };
  if (path === undefined) return { malformed: "no :path" };
  if (!validPath(path, method)) return { malformed: ":path is not an origin-form target" };
  if (cookie !== undefined) headers.push("cookie", cookie);
  if (headers.length / 2 > limits.maxHeaders) return { status: 431, reason: "too many header fields" };
  return { method, path, authority: authority ?? "", headers, contentLength };
}

/**
 * A trailer section may carry no pseudo-header (§8.1), no connection-specific field (§8.2.2) and no content-length
 * (framing can't change after the content, RFC 9110 §6.5.1), and is held to the header limits (counted before each
 * field is checked, as in requestHead); true when it is acceptable. An upstream's trailers are written into an
 * HTTP/1.1 client's chunked trailer section as they are: a transfer-encoding or content-length there is one the
 * client may read as framing.
 */
export function validTrailers(fields: readonly string[], limits: FieldLimits): boolean {
  if (fields.length / 2 > limits.maxHeaders) return false;
  let bytes = 0;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i] as string;
    const value = fields[i + 1] as string;
    bytes += name.length + value.length;
    if (bytes > limits.maxBytes || fieldDefect(name, value) !== undefined || name === "content-length") return false;
  }
  return true;
}

/** HTTP/1.1-only fields, and those the codec writes itself, never carried over to HTTP/2 (both directions). */
export const HTTP1_ONLY: ReadonlySet<string> = new Set([
  "host",
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "content-length",
]);
/** Fields HTTP/2 responses carry once: the last value wins (as node:http2 did). */
const SINGLE = new Set(["content-type", "grpc-status", "grpc-message", "location"]);

/**
 * Fields for the encoder: the pseudo-header fields given, then `headers` with names lower-cased and the dropped ones
 * left out. Undefined when a value holds a character HTTP forbids (the stream is reset, or never opened, instead).
 */
function fieldsOut(pseudo: string[], headers: readonly string[]): string[] | undefined {
  const out = pseudo;
  for (let i = 0; i < headers.length; i += 2) {
    const k = (headers[i] as string).toLowerCase();
    if (HTTP1_ONLY.has(k) || k.charCodeAt(0) === 0x3a) continue;
    const v = headers[i + 1] as string;
    if (!noControls(v)) return undefined;
    if (SINGLE.has(k)) {
      let at = pseudo.length;
      while (at < out.length && out[at] !== k) at += 2;
      if (at < out.length) {
        out[at + 1] = v;
        continue;
      }
    }
    out.push(k, v);
  }
  return out;
}

/** A response's (or trailers') fields for the encoder: `:status` first when given. */
export function responseFields(status: number | undefined, headers: readonly string[]): string[] | undefined {
  return fieldsOut(status === undefined ? [] : [":status", String(status)], headers);
}

/** A request's fields for the encoder (an HTTP/2 upstream): its four pseudo-header fields first. */
export function requestFields(
  method: string,
  scheme: string,
  authority: string,
  path: string,
  headers: readonly string[],
): string[] | undefined {
  return fieldsOut([":method", method, ":scheme", scheme, ":authority", authority, ":path", path], headers);
}

export interface H2ResponseHead {
  status: number;
  /** Regular fields, flat, in arrival order. */
  headers: string[];
  /** content-length, or -1. */
  contentLength: number;
}

/**
 * An upstream response's head from its decoded fields (§8.3.2), or why it is malformed: one `:status` of three digits
 * and no other pseudo-header, names and values as in requests, no connection-specific field, within the limits. A
 * malformed response is never passed on (the proxy answers 502).
 */
export function responseHead(fields: readonly string[], limits: FieldLimits): H2ResponseHead | { malformed: string } {
  let status = -1;
  let regular = false;
  let bytes = 0;
  let contentLength = -1;
  const headers: string[] = [];
  if (fields.length / 2 > limits.maxHeaders + 1) return { malformed: "too many header fields" };
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i] as string;
    const value = fields[i + 1] as string;
    bytes += name.length + value.length;
    if (bytes > limits.maxBytes) return { malformed: "header fields too large" };
    if (name.charCodeAt(0) === 0x3a) {
      if (regular || name !== ":status" || status >= 0 || !/^[1-5]\d\d$/.test(value))
        return { malformed: `pseudo-header ${name}` };
      status = Number(value);
      continue;
    }
    regular = true;
    const defect = fieldDefect(name, value);
    if (defect) return { malformed: defect };
    if (name === "content-length") {
      const n = contentLengthOf(value, contentLength);
      if (typeof n === "string") return { malformed: n };
      // Repeated with the same value it is kept once (RFC 9110 §8.6): an HTTP/1.1 client's parser (llhttp) refuses two.
      if (contentLength >= 0) continue;
      contentLength = n;
    }
    headers.push(name, value);
  }
  if (status < 0) return { malformed: "no :status" };
  if (status === 101) return { malformed: "101 in HTTP/2" };
  return { status, headers, contentLength };
}
