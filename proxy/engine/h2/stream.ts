// One HTTP/2 stream of a server connection (session.ts): the request as it arrives, and the response's frames
// waiting for flow-control window. The session moves the bytes; a stream only keeps its own state.
import { Code } from "./frames.js";
import type { H2RequestHead } from "./fields.js";
import { Spool } from "../http/spool.js";
import type { RequestBody } from "../http/body.js";
import type { AbortHandler, RequestTimeoutHandler } from "../downstream.js";

/** Queued response bytes above which write() asks the caller to wait for onDrain (as a Writable's highWaterMark). */
export const HIGH_WATER = 64 * 1024;
/** Writes smaller than this are copied (see Spool) when they queue behind others, not queued as they are. */
const SMALL_WRITE = 1024;

/** What a stream asks of its connection. */
export interface StreamOwner {
  sendHeaders(s: H2Stream, fields: string[], endStream: boolean): void;
  /** Sends what the windows allow of s's queue, then its end (END_STREAM or the trailers) once the queue is empty. */
  pump(s: H2Stream): void;
  resetStream(s: H2Stream, code: Code): void;
  /** The socket is backed up: writes should wait. */
  readonly blocked: boolean;
}

export class H2Stream {
  readonly born = performance.now();
  /** When bytes of this stream last moved (its request's DATA in, its response's DATA out): stream_idle_timeout. */
  lastActivity = this.born;
  // The request.
  /** Set once the request's fields are accepted; it is handed over at the end of the read its HEADERS came in. */
  head: H2RequestHead | undefined;
  /** The request's body as it arrives (server side). */
  body: RequestBody | undefined;
  /** Body bytes taken upstream (or padding) whose window isn't given back yet. */
  credit = 0;
  /** Answers the request should it time out while still arriving (set once it is handed over). */
  onTimeout: RequestTimeoutHandler | undefined;
  received = 0;
  declaredLength = -1;
  remoteEnded = false;
  recvWindow: number;
  // The response.
  sendWindow: number;
  readonly queue: Buffer[] = [];
  queued = 0;
  headersSent = false;
  endRequested = false;
  trailers: string[] | undefined;
  sentEnd = false;
  closed = false;
  /**
   * Where small writes queued behind others are copied (an upstream's byte-per-frame DATA would pin each read); made
   * when first needed, as most responses never queue behind their own bytes.
   */
  private spool: Spool | undefined;
  /** Set when a write returned false: onDrain is owed once the queue is low again. */
  wantsDrain = false;
  onAbort: AbortHandler | undefined;
  onDrain: (() => void) | undefined;

  constructor(
    readonly id: number,
    private readonly owner: StreamOwner,
    recvWindow: number,
    sendWindow: number,
  ) {
    this.recvWindow = recvWindow;
    this.sendWindow = sendWindow;
  }

  /** HEADERS for the response (fields from fields.ts's responseFields, `:status` first). */
  respond(fields: string[], endStream: boolean): void {
    if (this.closed || this.headersSent) return;
    this.headersSent = true;
    if (endStream) this.endRequested = true;
    this.owner.sendHeaders(this, fields, endStream);
  }

  /** Queues body bytes; false when the caller should wait for onDrain. */
  write(chunk: Buffer): boolean {
    if (this.closed || this.endRequested) return true;
    if (chunk.length) {
      if (chunk.length < SMALL_WRITE) this.queueSmall(chunk);
      else this.queue.push(chunk);
      this.queued += chunk.length;
      this.owner.pump(this);
    }
    if (this.queued < HIGH_WATER && !this.owner.blocked) return true;
    this.wantsDrain = true;
    return false;
  }

  /**
   * Queues a small write: into an empty queue as it is (the window open, it is sent, copied into the frames, at once)
   * and the spool's store let go, so a stream keeps none while its writes flow; behind others, copied.
   */
  private queueSmall(chunk: Buffer): void {
    if (this.queue.length) return (this.spool ??= new Spool()).append(this.queue, chunk);
    this.spool?.reset();
    this.queue.push(chunk);
  }

  /** Ends the response after the queued bytes, with trailers (a HEADERS frame) when given. */
  end(trailers?: string[]): void {
    if (this.closed || this.endRequested) return;
    this.endRequested = true;
    if (trailers?.length) this.trailers = trailers;
    this.owner.pump(this);
  }

  reset(code: Code = Code.INTERNAL_ERROR): void {
    if (!this.closed) this.owner.resetStream(this, code);
  }
}

/** Closed streams remembered, to tell a frame on a closed stream (STREAM_CLOSED) from one on a never-opened one. */
const RECENT = 256;

/**
 * The last RECENT closed stream ids, and whether this side reset each: a ring written once per stream (a Map's set
 * and delete per stream cost 3% of the engine under h2load), searched only when a frame arrives for a closed stream.
 */
export class ClosedStreams {
  private readonly ids = new Int32Array(RECENT);
  private readonly here = new Uint8Array(RECENT);
  private next = 0;

  add(id: number, resetHere: boolean): void {
    this.ids[this.next] = id;
    this.here[this.next] = resetHere ? 1 : 0;
    this.next = (this.next + 1) % RECENT;
  }

  /** Whether this side reset stream `id`; undefined when it isn't among the ones remembered. */
  get(id: number): boolean | undefined {
    for (let i = 0; i < RECENT; i++) if (this.ids[i] === id) return this.here[i] === 1;
    return undefined;
  }
}
