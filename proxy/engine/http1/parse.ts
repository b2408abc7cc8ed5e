// HTTP/1.1 message heads and chunked framing. Parses only what routing and framing need; the bytes themselves are
// forwarded as they are.

export const MAX_HEAD_BYTES = 60 * 1024;
export const CRLFCRLF = Buffer.from("\r\n\r\n", "latin1");

export interface RequestHead {
  method: string;
  /** The request-target as sent (path and query). */
  target: string;
  path: string;
  query: string;
  /** HTTP/1.minor */
  minor: number;
  /** [name, value, name, value, …] with lower-case names, in arrival order. */
  headers: string[];
  host: string;
  /** -1 when absent. */
  contentLength: number;
  chunked: boolean;
  keepAlive: boolean;
  expectContinue: boolean;
}

export interface ResponseHead {
  /** Body bytes come without HTTP/1.1 framing, and the end is signalled (an HTTP/2 upstream). */
  unframed?: boolean;
  status: number;
  minor: number;
  headers: string[];
  contentLength: number;
  chunked: boolean;
  keepAlive: boolean;
}

export class ParseError extends Error {}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Headers of a head (latin1, without the final CRLFCRLF), from line index 1. Throws ParseError. */
function parseHeaders(lines: string[], out: string[]): { contentLength: number; chunked: boolean; connection: string; host: string; expect: string } {
  let contentLength = -1;
  let chunked = false;
  let connection = "";
  let host = "";
  let expect = "";
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new ParseError("malformed header line");
    const name = line.slice(0, colon).toLowerCase();
    if (!TOKEN.test(name)) throw new ParseError("malformed header name");
    const value = line.slice(colon + 1).trim();
    out.push(name, value);
    switch (name) {
      case "content-length": {
        if (!/^\d+$/.test(value)) throw new ParseError("invalid content-length");
        const n = Number(value);
        if (contentLength >= 0 && contentLength !== n) throw new ParseError("conflicting content-length");
        contentLength = n;
        break;
      }
      case "transfer-encoding":
        if (value.toLowerCase() !== "chunked") throw new ParseError("unsupported transfer-encoding");
        chunked = true;
        break;
      case "connection":
        connection = connection ? `${connection},${value.toLowerCase()}` : value.toLowerCase();
        break;
      case "host":
        if (host) throw new ParseError("duplicate host");
        host = value;
        break;
      case "expect":
        expect = value.toLowerCase();
        break;
    }
  }
  if (chunked && contentLength >= 0) throw new ParseError("both content-length and transfer-encoding");
  return { contentLength, chunked, connection, host, expect };
}

function keepAlive(minor: number, connection: string): boolean {
  if (!connection) return minor >= 1;
  const tokens = connection.split(",").map((t) => t.trim());
  if (tokens.includes("close")) return false;
  return minor >= 1 || tokens.includes("keep-alive");
}

function hasControlOrSpace(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 32 || c === 127) return true;
  }
  return false;
}

export function parseRequestHead(text: string): RequestHead {
  const lines = text.split("\r\n");
  const first = lines[0] as string;
  const sp1 = first.indexOf(" ");
  const sp2 = first.indexOf(" ", sp1 + 1);
  if (sp1 <= 0 || sp2 < 0 || first.indexOf(" ", sp2 + 1) >= 0) throw new ParseError("malformed request line");
  const method = first.slice(0, sp1);
  const target = first.slice(sp1 + 1, sp2);
  const version = first.slice(sp2 + 1);
  if (!TOKEN.test(method)) throw new ParseError("malformed method");
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") throw new ParseError("unsupported HTTP version");
  if (!target || hasControlOrSpace(target)) throw new ParseError("malformed request target");
  const minor = version === "HTTP/1.1" ? 1 : 0;
  const headers: string[] = [];
  const h = parseHeaders(lines, headers);
  if (minor === 1 && !h.host) throw new ParseError("missing host");
  let pathPart = target;
  // absolute-form (a forward proxy's request): keep the path, take the authority as the host.
  let host = h.host;
  if (!target.startsWith("/") && target !== "*") {
    const m = /^https?:\/\/([^/?#]+)(.*)$/i.exec(target);
    if (!m) throw new ParseError("malformed request target");
    host = m[1] as string;
    pathPart = m[2] || "/";
  }
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

export function parseResponseHead(text: string): ResponseHead {
  const lines = text.split("\r\n");
  const m = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0] as string);
  if (!m) throw new ParseError("malformed status line");
  const minor = Number(m[1]);
  const headers: string[] = [];
  const h = parseHeaders(lines, headers);
  return {
    status: Number(m[2]),
    minor,
    headers,
    contentLength: h.contentLength,
    chunked: h.chunked,
    keepAlive: keepAlive(minor, h.connection),
  };
}

/** Joined value of a header in a flat list, or undefined. */
export function headerValue(headers: readonly string[], name: string): string | undefined {
  let v: string | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] === name) v = v === undefined ? (headers[i + 1] as string) : `${v},${headers[i + 1] as string}`;
  }
  return v;
}

const enum S {
  Size,
  Ext,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerStart,
  TrailerLine,
  FinalLf,
  Done,
}

/** Finds the end of a chunked body without copying it. */
export class ChunkedScanner {
  private state = S.Size;
  private size = 0;
  private digits = 0;
  private remaining = 0;

  reset(): void {
    this.state = S.Size;
    this.size = 0;
    this.digits = 0;
    this.remaining = 0;
  }

  /**
   * Scans buf[start, end). Returns the index just past the body's end, or -1 when more bytes are needed.
   * `onData` receives the ranges of chunk data (to decode the body rather than only find its end).
   */
  scan(buf: Uint8Array, start: number, end: number, onData?: (from: number, to: number) => void): number {
    let i = start;
    while (i < end) {
      const c = buf[i] as number;
      switch (this.state) {
        case S.Size: {
          const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
          if (d >= 0) {
            if (++this.digits > 12) throw new ParseError("chunk size too large");
            this.size = this.size * 16 + d;
          } else if (this.digits === 0) throw new ParseError("malformed chunk size");
          else if (c === 13) this.state = S.SizeLf;
          else if (c === 59 || c === 32 || c === 9) this.state = S.Ext;
          else throw new ParseError("malformed chunk size");
          i++;
          break;
        }
        case S.Ext:
          if (c === 13) this.state = S.SizeLf;
          i++;
          break;
        case S.SizeLf:
          if (c !== 10) throw new ParseError("malformed chunk size line");
          i++;
          if (this.size === 0) this.state = S.TrailerStart;
          else {
            this.remaining = this.size;
            this.state = S.Data;
          }
          break;
        case S.Data: {
          const n = Math.min(this.remaining, end - i);
          if (onData && n > 0) onData(i, i + n);
          this.remaining -= n;
          i += n;
          if (this.remaining === 0) this.state = S.DataCr;
          break;
        }
        case S.DataCr:
          if (c !== 13) throw new ParseError("missing CRLF after chunk");
          this.state = S.DataLf;
          i++;
          break;
        case S.DataLf:
          if (c !== 10) throw new ParseError("missing CRLF after chunk");
          this.state = S.Size;
          this.size = 0;
          this.digits = 0;
          i++;
          break;
        case S.TrailerStart:
          this.state = c === 13 ? S.FinalLf : S.TrailerLine;
          i++;
          break;
        case S.TrailerLine:
          if (c === 10) this.state = S.TrailerStart;
          i++;
          break;
        case S.FinalLf:
          if (c !== 10) throw new ParseError("malformed chunked trailer");
          this.state = S.Done;
          return i + 1;
        case S.Done:
          return i;
      }
    }
    return -1;
  }
}

/** The data of a complete chunked body. */
export function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  new ChunkedScanner().scan(body, 0, body.length, (a, b) => parts.push(body.subarray(a, b)));
  return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
}

/** One chunk of a chunked body, framed. */
export function encodeChunk(data: Buffer): Buffer[] {
  return [Buffer.from(`${data.length.toString(16)}\r\n`, "latin1"), data, CRLF];
}
const CRLF = Buffer.from("\r\n", "latin1");

const REASONS: Record<number, string> = {
  100: "Continue", 200: "OK", 204: "No Content", 301: "Moved Permanently", 302: "Found", 303: "See Other",
  307: "Temporary Redirect", 308: "Permanent Redirect", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
  413: "Payload Too Large", 429: "Too Many Requests", 431: "Request Header Fields Too Large",
  500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
  504: "Gateway Timeout",
};

export function reason(status: number): string {
  return REASONS[status] ?? "Unknown";
}

/** A response or request head from a flat header list. */
export function serializeHead(startLine: string, headers: readonly string[]): string {
  let s = `${startLine}\r\n`;
  for (let i = 0; i < headers.length; i += 2) s += `${headers[i] as string}: ${headers[i + 1] as string}\r\n`;
  return `${s}\r\n`;
}
