// An HTTP/1.1 request's body still arriving (http/body.ts), decoded from its framing as the socket reads it and tied
// to that socket as h2/request-body.ts ties an HTTP/2 body to its window: past READ_AHEAD bytes the upstream hasn't
// taken, the connection stops reading, and reads again once the upstream takes them. An upload of any size holds
// what the body keeps for replays (REPLAY_LIMIT) and READ_AHEAD more, whatever the client's pace.
import { RequestBody, SMALL_CHUNK } from "../http/body.js";
import type { RequestHead } from "../http/head.js";
import { released as reclaim, streamed } from "../reclaim.js";
import { BodyDecoder } from "./request.js";

/** Bytes received and not yet taken by the upstream past which the socket stops reading. */
export const READ_AHEAD = 64 * 1024;

/**
 * Body bytes are copied out of the socket's reads into stores of this size: mmapped (over the engine's
 * MALLOC_MMAP_THRESHOLD_), so given back to the OS once let go. Kept as the 64 KiB reads they came in, they sat in the
 * malloc heap among short-lived reads and pinned it: 40 stalled 8 MiB uploads left 100 MiB resident after they ended.
 */
const STORE = 256 * 1024;

/** The connection the body is read from. */
export interface BodyReader {
  pauseReading(): void;
  resumeReading(): void;
}

export class H1RequestBody extends RequestBody {
  private readonly decoder: BodyDecoder;
  /** Decoded bytes given to push() (before any transform), and those the upstream took (consumed). */
  private fed = 0;
  private took = 0;
  private stopped = false;
  private store: Buffer | undefined;
  private storeEnd = 0;
  /** The buffer being decoded, for onRange (one closure per body, not per read). */
  private cur: Buffer | undefined;
  private readonly onRange = (a: number, b: number): void => {
    const src = this.cur as Buffer;
    this.fed += b - a;
    if (b - a < SMALL_CHUNK) return this.push(src.subarray(a, b)); // the body copies it into its own spool
    while (a < b) {
      let store = this.store;
      if (!store || this.storeEnd === store.length) {
        store = this.store = Buffer.allocUnsafeSlow(STORE);
        this.storeEnd = 0;
      }
      const n = src.copy(store, this.storeEnd, a, b);
      this.push(store.subarray(this.storeEnd, (this.storeEnd += n)));
      a += n;
    }
  };

  constructor(
    private readonly reader: BodyReader,
    head: RequestHead,
  ) {
    super();
    this.decoder = new BodyDecoder(head);
  }

  /**
   * Takes the body's bytes in buf[from..] (copied: buf is not kept). Returns the index just
   * past the body's end (the body is ended; what follows is the next request's), or -1 when more is wanted. Throws
   * ParseError on malformed framing.
   */
  feed(buf: Buffer, from: number): number {
    this.cur = buf;
    streamed(buf.length - from);
    const end = this.decoder.decode(buf, from, this.onRange);
    this.cur = undefined;
    if (end >= 0) this.end();
    else if (!this.stopped && this.fed - this.took > READ_AHEAD) {
      this.stopped = true;
      this.reader.pauseReading();
    }
    return end;
  }

  protected override consumed(n: number): void {
    this.took += n;
    if (this.stopped && this.fed - this.took <= READ_AHEAD / 2) {
      this.stopped = false;
      this.reader.resumeReading();
    }
  }

  protected override released(n: number): void {
    reclaim(n);
  }
}
