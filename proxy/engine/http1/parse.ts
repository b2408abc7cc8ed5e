// HTTP/1.1 message heads and chunked framing. Parses only what routing and framing need; the bytes themselves are
// forwarded as they are.

import type { RequestHead, ResponseHead } from "../http/head.js";
import { isTchar, isToken, ParseError } from "./syntax.js";
import { knownName } from "./header-names.js";

export { ChunkedScanner, dechunk, encodeChunk } from "./chunked.js";
export { HeadScanner, MAX_HEAD_BYTES, MAX_HEADERS, ParseError } from "./syntax.js";
export const CRLFCRLF = Buffer.from("\r\n\r\n", "latin1");

interface Framing {
  contentLength: number;
  chunked: boolean;
  connection: string;
  host: string | undefined;
  expect: string;
}

/** Where the line starting at `from` ends in a head's text: its CR, or the text's end (the head's last line). */
function lineEnd(text: string, from: number): number {
  const cr = text.indexOf("\r", from);
  return cr < 0 ? text.length : cr;
}

const isOws = (c: number): boolean => c === 32 || c === 9;

/** 1 to 15 ASCII digits, nothing else (no sign, no space, no "0x"). */
function isDecimal(s: string): boolean {
  if (s.length < 1 || s.length > 15) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * Header fields of a head (latin1, without the final CRLFCRLF), from index `from`. HeadScanner has rejected control
 * characters, bare CR/LF and too many fields, so every line ends with CRLF but the last, and a CR is always one.
 * Walks the text by index: a well-known name is its interned constant (header-names.ts), any other one string
 * (lower-cased only if it isn't already); one string per value. Throws ParseError.
 */
function parseHeaders(text: string, from: number, out: string[]): Framing {
  let contentLength = -1;
  let chunked = false;
  let te = false;
  let connection = "";
  let host: string | undefined;
  let expect = "";
  for (let i = from; i < text.length;) {
    const eol = lineEnd(text, i);
    let colon = i;
    let upper = false;
    // No whitespace before the colon (RFC 9112 §5.1) and no obs-fold (§5.2): both fail the token check.
    for (; colon < eol; colon++) {
      const c = text.charCodeAt(colon);
      if (c === 58) break;
      if (!isTchar(c)) throw new ParseError("malformed header field name");
      if (c >= 65 && c <= 90) upper = true;
    }
    if (colon === i || colon === eol) throw new ParseError("malformed header field name");
    const name = knownName(text, i, colon) ?? (upper ? text.slice(i, colon).toLowerCase() : text.slice(i, colon));
    let a = colon + 1;
    let b = eol;
    while (a < b && isOws(text.charCodeAt(a))) a++;
    while (b > a && isOws(text.charCodeAt(b - 1))) b--;
    const value = text.slice(a, b);
    out.push(name, value);
    i = eol + 2;
    switch (name) {
      case "content-length": {
        if (!isDecimal(value)) throw new ParseError("invalid content-length");
        const n = Number(value);
        if (contentLength >= 0 && contentLength !== n) throw new ParseError("conflicting content-length");
        contentLength = n;
        break;
      }
      case "transfer-encoding":
        // Only "chunked", once (RFC 9112 §6.1: chunked is applied once, and last). Anything else is a 400/502.
        if (te || value.toLowerCase() !== "chunked") throw new ParseError("unsupported transfer-encoding");
        te = chunked = true;
        break;
      case "connection":
        connection = connection ? `${connection},${value.toLowerCase()}` : value.toLowerCase();
        break;
      case "host":
        if (host !== undefined) throw new ParseError("duplicate host");
        if (!validAuthority(value, true)) throw new ParseError("invalid host");
        host = value;
        break;
      case "expect":
        expect = value.toLowerCase();
        break;
    }
  }
  // Both: RFC 9112 §6.3 lets a recipient reject the message, which closes every smuggling door at once.
  if (chunked && contentLength >= 0) throw new ParseError("both content-length and transfer-encoding");
  return { contentLength, chunked, connection, host, expect };
}

/** uri-host [":" port] (RFC 3986 §3.2.2); `allowEmpty` for a Host header, which may be empty. No userinfo. */
const AUTHORITY = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]{0,5})?$/;
export function validAuthority(s: string, allowEmpty: boolean): boolean {
  return (allowEmpty || s.length > 0) && s.length <= 255 + 6 && AUTHORITY.test(s);
}

function keepAlive(minor: number, connection: string): boolean {
  if (!connection) return minor >= 1;
  if (connection === "keep-alive") return true;
  if (connection === "close") return false;
  const tokens = connection.split(",").map((t) => t.trim());
  if (tokens.includes("close")) return false;
  return minor >= 1 || tokens.includes("keep-alive");
}

/**
 * request-target characters: VCHAR (RFC 3986's characters, and the few others real clients send unescaped, such as
 * "|" and "{"), without "#" (a fragment is never sent, RFC 9112 §3.2) and without obs-text.
 */
function validTargetChars(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 32 || c >= 127 || c === 35) return false;
  }
  return true;
}

export function parseRequestHead(text: string): RequestHead {
  const firstEnd = lineEnd(text, 0);
  const first = firstEnd === text.length ? text : text.slice(0, firstEnd);
  const sp1 = first.indexOf(" ");
  const sp2 = first.indexOf(" ", sp1 + 1);
  if (sp1 <= 0 || sp2 < 0 || first.indexOf(" ", sp2 + 1) >= 0) throw new ParseError("malformed request line");
  const method = first.slice(0, sp1);
  const target = first.slice(sp1 + 1, sp2);
  const version = first.slice(sp2 + 1);
  if (!isToken(method)) throw new ParseError("malformed method");
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") throw new ParseError("unsupported HTTP version");
  if (!target || !validTargetChars(target)) throw new ParseError("malformed request target");
  const minor = version === "HTTP/1.1" ? 1 : 0;
  const headers: string[] = [];
  const h = parseHeaders(text, firstEnd + 2, headers);
  // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing.
  if (minor === 0 && h.chunked) throw new ParseError("transfer-encoding in an HTTP/1.0 request");
  let pathPart = target;
  let host = h.host;
  if (target === "*") {
    if (method !== "OPTIONS") throw new ParseError("asterisk-form is only for OPTIONS");
  } else if (!target.startsWith("/")) {
    // absolute-form: its authority replaces Host (RFC 9112 §3.2.2), for routing and forwarding alike.
    const m = /^https?:\/\/([^/?]*)(.*)$/i.exec(target);
    if (!m || !validAuthority(m[1] as string, false)) throw new ParseError("malformed request target");
    host = m[1] as string;
    pathPart = m[2] || "/";
    if (!pathPart.startsWith("/") && !pathPart.startsWith("?")) throw new ParseError("malformed request target");
    if (pathPart.startsWith("?")) pathPart = `/${pathPart}`;
    setHost(headers, host);
  }
  // Every HTTP/1.1 request has a Host (RFC 9112 §3.2); an HTTP/1.0 one without it can't be routed or forwarded
  // faithfully (an HTTP/1.1 upstream needs one), so it is refused too.
  if (host === undefined) throw new ParseError("missing host");
  const q = pathPart.indexOf("?");
  return {
    method,
    target: pathPart,
    path: q < 0 ? pathPart : pathPart.slice(0, q),
    query: q < 0 ? "" : pathPart.slice(q + 1),
    minor,
    headers,
    host,
    contentLength: h.contentLength,
    chunked: h.chunked,
    keepAlive: keepAlive(minor, h.connection),
    expectContinue: h.expect === "100-continue",
  };
}

function setHost(headers: string[], host: string): void {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] === "host") {
      headers[i + 1] = host;
      return;
    }
  }
  headers.push("host", host);
}

/** A digit's value, or -1. */
function digit(text: string, at: number): number {
  const d = text.charCodeAt(at) - 48;
  return d >= 0 && d <= 9 ? d : -1;
}

export function parseResponseHead(text: string): ResponseHead {
  const firstEnd = lineEnd(text, 0);
  // HTTP/1.<0|1> SP <100-599> [SP reason]: the reason phrase may be empty, or absent with its space.
  const minor = digit(text, 7);
  const d0 = digit(text, 9);
  const d1 = digit(text, 10);
  const d2 = digit(text, 11);
  if (
    firstEnd < 12 ||
    !text.startsWith("HTTP/1.") ||
    minor < 0 ||
    minor > 1 ||
    text.charCodeAt(8) !== 32 ||
    d0 < 1 ||
    d0 > 5 ||
    d1 < 0 ||
    d2 < 0 ||
    (firstEnd > 12 && text.charCodeAt(12) !== 32)
  )
    throw new ParseError("malformed status line");
  const headers: string[] = [];
  const h = parseHeaders(text, firstEnd + 2, headers);
  if (minor === 0 && h.chunked) throw new ParseError("transfer-encoding in an HTTP/1.0 response");
  return {
    status: d0 * 100 + d1 * 10 + d2,
    minor,
    headers,
    contentLength: h.contentLength,
    chunked: h.chunked,
    keepAlive: keepAlive(minor, h.connection),
  };
}

const REASONS: Record<number, string> = {
  100: "Continue",
  101: "Switching Protocols",
  200: "OK",
  204: "No Content",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  408: "Request Timeout",
  413: "Payload Too Large",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

export function reason(status: number): string {
  return REASONS[status] ?? "Unknown";
}
