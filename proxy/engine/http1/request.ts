// One request's framing, pure (no socket): the head as it arrives, then its body by Content-Length or chunked,
// decoded. The connection feeds it the bytes of the request in progress; the fuzz test drives the same code.
import { ChunkedScanner, dechunk } from "./chunked.js";
import { parseRequestHead } from "./parse.js";
import type { RequestHead } from "../http/head.js";
import { HeadScanner, ParseError } from "./syntax.js";

export interface RequestLimits {
  maxHeadBytes: number;
  maxHeaders: number;
  maxBodyBytes: number;
}

/** A complete request: its head, its decoded body, and where it ended in the bytes given. */
export interface Framed {
  head: RequestHead;
  body: Buffer;
  end: number;
}

/** undefined: more bytes needed. */
export type ParseResult = Framed | { status: 400 | 413 | 431 } | undefined;

export class RequestParser {
  private readonly headScanner: HeadScanner;
  private readonly chunks = new ChunkedScanner();
  /** The head of the request in progress, once parsed. */
  head: RequestHead | undefined;
  private bodyStart = 0;
  private scanFrom = 0;

  constructor(private readonly limits: RequestLimits) {
    this.headScanner = new HeadScanner(limits.maxHeadBytes, limits.maxHeaders);
  }

  /** Where the body of the request in progress starts in its bytes (once the head is parsed). */
  get bodyOffset(): number {
    return this.bodyStart;
  }

  /** Forget the request in progress; the next parse() starts a new one at buf[0]. */
  reset(): void {
    this.head = undefined;
    this.headScanner.reset();
  }

  /**
   * `buf` holds the request in progress from its first byte; each call passes the same bytes plus any new ones.
   * After a result other than undefined, reset() before the next request.
   */
  parse(buf: Buffer): ParseResult {
    let head = this.head;
    if (!head) {
      try {
        const end = this.headScanner.scan(buf);
        if (end < 0) return undefined;
        head = parseRequestHead(buf.toString("latin1", 0, end));
        this.bodyStart = this.scanFrom = end + 4;
      } catch (err) {
        return { status: err instanceof ParseError ? err.status : 400 };
      }
      this.head = head;
      this.chunks.reset();
    }
    const max = this.limits.maxBodyBytes;
    let bodyEnd: number;
    if (head.chunked) {
      try {
        bodyEnd = this.chunks.scan(buf, this.scanFrom, buf.length);
      } catch {
        return { status: 400 };
      }
      this.scanFrom = buf.length;
      if (this.chunks.chunkSize > max) return { status: 413 };
    } else {
      const len = head.contentLength < 0 ? 0 : head.contentLength;
      if (len > max) return { status: 413 };
      bodyEnd = buf.length - this.bodyStart >= len ? this.bodyStart + len : -1;
    }
    if (bodyEnd < 0) return buf.length - this.bodyStart > max ? { status: 413 } : undefined;
    // Decoded here: the body leaves re-framed, with a content-length of the proxy's own.
    const body = head.chunked ? dechunk(buf.subarray(this.bodyStart, bodyEnd)) : buf.subarray(this.bodyStart, bodyEnd);
    return { head, body, end: bodyEnd };
  }
}
