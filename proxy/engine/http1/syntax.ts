// The byte-level rules of HTTP/1.1 message heads (RFC 9112 §2, §5; RFC 9110 §5.1, §5.5), shared by requests,
// responses and chunked trailers.

/** Envoy's max_request_headers_kb default (60 KiB): the request line and the header section together. */
export const MAX_HEAD_BYTES = 60 * 1024;
/** Envoy's common_http_protocol_options.max_headers_count default. */
export const MAX_HEADERS = 100;

export class ParseError extends Error {
  /** The status a server answers: 400, or 431 for a head over its size or count limit. */
  constructor(
    message: string,
    readonly status: 400 | 431 = 400,
  ) {
    super(message);
  }
}

const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
  TCHAR[c.charCodeAt(0)] = 1;

/** token characters (RFC 9110 §5.6.2). */
export const isTchar = (c: number): boolean => TCHAR[c] === 1;

export function isToken(s: string): boolean {
  if (!s.length) return false;
  for (let i = 0; i < s.length; i++) if (TCHAR[s.charCodeAt(i)] !== 1) return false;
  return true;
}

/**
 * Finds the end of a message head as bytes arrive, resuming where it stopped, and rejects on the way what no
 * well-formed head contains: a bare LF or a bare CR (every line ends with CRLF), NUL or any other control character
 * but HTAB, more than `maxLines` header lines, or more than `maxBytes` bytes.
 */
export class HeadScanner {
  private pos = 0;
  private lines = 0;

  constructor(
    private readonly maxBytes = MAX_HEAD_BYTES,
    private readonly maxHeaders = MAX_HEADERS,
  ) {}

  reset(): void {
    this.pos = 0;
    this.lines = 0;
  }

  /** Index of the CRLFCRLF that ends the head in buf (the head starting at 0), or -1 if not there yet. */
  scan(buf: Uint8Array): number {
    const end = buf.length;
    let i = this.pos;
    let lines = this.lines;
    let prev = i > 0 ? (buf[i - 1] as number) : 0;
    for (; i < end; i++) {
      const c = buf[i] as number;
      if (prev === 13 && c !== 10) throw new ParseError("bare CR in message head");
      prev = c;
      if ((c >= 0x20 && c !== 0x7f) || c === 9 || c === 13) continue;
      if (c !== 10) throw new ParseError("control character in message head");
      if (i === 0 || buf[i - 1] !== 13) throw new ParseError("bare LF in message head");
      if (i >= 3 && buf[i - 2] === 10) {
        if (i + 1 > this.maxBytes) throw new ParseError("message head too large", 431);
        this.pos = i + 1;
        return i - 3;
      }
      // The first line is the start line; the others are header fields.
      if (++lines > this.maxHeaders + 1) throw new ParseError("too many header fields", 431);
    }
    this.pos = i;
    this.lines = lines;
    if (i > this.maxBytes) throw new ParseError("message head too large", 431);
    return -1;
  }
}
