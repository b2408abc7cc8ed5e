// One request's framing, pure (no socket): the head as it arrives, then its body by Content-Length or chunked,
// decoded. A body already whole in the bytes given is returned with its head (the common case: one slice, no copy);
// one still arriving is decoded as it comes by a BodyDecoder. The connection feeds both the bytes of the request in
// progress; the fuzz test drives the same code.
import { ChunkedScanner, dechunk } from "./chunked.js";
import { parseRequestHead } from "./parse.js";
import type { RequestHead } from "../http/head.js";
import { HeadScanner, ParseError } from "./syntax.js";

export interface RequestLimits {
  maxHeadBytes: number;
  maxHeaders: number;
}

/**
 * A request's head and where its body starts. `body`: the decoded body when it was whole in the bytes given, `end`
 * just past it; undefined when it is still arriving: it starts at `end` (a BodyDecoder takes it from there).
 */
export interface Framed {
  head: RequestHead;
  body: Buffer | undefined;
  end: number;
}

/** undefined: more bytes needed. */
export type ParseResult = Framed | { status: 400 | 431 } | undefined;

export class RequestParser {
  private readonly headScanner: HeadScanner;
  private readonly chunks = new ChunkedScanner();

  constructor(limits: RequestLimits) {
    this.headScanner = new HeadScanner(limits.maxHeadBytes, limits.maxHeaders);
  }

  /** Forget the request in progress; the next parse() starts a new one at buf[0]. */
  reset(): void {
    this.headScanner.reset();
  }

  /**
   * `buf` holds the request in progress from its first byte; each call passes the same bytes plus any new ones, until
   * a result other than undefined. Then reset() before the next request. A malformed chunked body in the bytes given
   * is a 400 before the request is handed over.
   */
  parse(buf: Buffer): ParseResult {
    let head: RequestHead;
    let start: number;
    try {
      const end = this.headScanner.scan(buf);
      if (end < 0) return undefined;
      head = parseRequestHead(buf.toString("latin1", 0, end));
      start = end + 4;
    } catch (err) {
      return { status: err instanceof ParseError ? err.status : 400 };
    }
    let bodyEnd: number;
    if (head.chunked) {
      this.chunks.reset();
      try {
        bodyEnd = this.chunks.scan(buf, start, buf.length);
      } catch {
        return { status: 400 };
      }
    } else {
      const len = head.contentLength < 0 ? 0 : head.contentLength;
      bodyEnd = buf.length - start >= len ? start + len : -1;
    }
    if (bodyEnd < 0) return { head, body: undefined, end: start };
    // Decoded here: the body leaves re-framed, with a content-length of the proxy's own.
    const body = head.chunked ? dechunk(buf.subarray(start, bodyEnd)) : buf.subarray(start, bodyEnd);
    return { head, body, end: bodyEnd };
  }
}

/**
 * A request body's framing as its bytes arrive, after its head: the ranges of body data (chunked framing, extensions
 * and trailers validated and left out) and where the body ends. Chunked trailers are dropped, as Envoy's HTTP/1
 * codec does without `enable_trailers`.
 */
export class BodyDecoder {
  /** Content-length bytes still to come (chunked: unused). */
  private remaining: number;
  private readonly chunks: ChunkedScanner | undefined;

  constructor(head: RequestHead) {
    this.chunks = head.chunked ? new ChunkedScanner() : undefined;
    this.remaining = head.contentLength < 0 ? 0 : head.contentLength;
  }

  /**
   * Decodes buf[from, buf.length): `onData` gets each range of body data. Returns the index just past the body's end
   * (what follows is the next request's), or -1 when more bytes are needed. Throws ParseError on malformed framing.
   */
  decode(buf: Buffer, from: number, onData: (a: number, b: number) => void): number {
    if (this.chunks) return this.chunks.scan(buf, from, buf.length, onData);
    const n = Math.min(this.remaining, buf.length - from);
    if (n > 0) onData(from, from + n);
    this.remaining -= n;
    return this.remaining === 0 ? from + n : -1;
  }
}
