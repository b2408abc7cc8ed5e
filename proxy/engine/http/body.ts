// A request body as it arrives, whatever the codec (Envoy's decodeData path): the request is routed at the end of its
// head and its body streams upstream as it comes. One primary sink (the upstream attempt) takes the bytes, paced by
// it (pause/resume, which the downstream codec maps to flow control); shadows (mirrors) get the same bytes live. What
// was received is kept up to a replay limit so a retry or a mirror can start over from the first byte; past it the
// body overflows: bytes are kept only until the primary takes them, and no new retry or mirror can start.
import { Spool } from "./spool.js";

/** Where a body's bytes go: an upstream request being sent. */
export interface BodySink {
  /** A chunk; false: stop until the body's resume() (the sink is above its high-water mark). */
  data(chunk: Buffer): boolean;
  /** The body is complete, with the request's trailers if any. */
  end(trailers: string[] | undefined): void;
  /** The body can't be delivered whole (it overflowed while this shadow took it): abandon the request. */
  abandon?(): void;
}

/**
 * Bytes kept for retries and mirrors: Envoy's default per_connection_buffer_limit_bytes (1 MiB), which its router
 * uses as retry_shadow_buffer_limit when the route sets no per_request_buffer_limit_bytes (the config doesn't take that
 * field). Measured nothing: a stream also holds up to an HTTP/2 window (1 MiB) not yet sent, so 2 MiB per stream.
 */
export const REPLAY_LIMIT = 1024 * 1024;

/**
 * Chunks smaller than this are copied into shared stores, next to the one before them (Spool): a client sending a
 * byte per DATA frame would otherwise have each byte kept as a Buffer of its own (~100 bytes of heap each, 100 MB for
 * a 1 MiB body) until the replay limit. Larger chunks are kept as given (the caller's own copy).
 */
export const SMALL_CHUNK = 1024;

const EMPTY = Buffer.alloc(0);

/** A filter's rewrite of the body as it arrives (gRPC-Web's base64): undefined when the bytes are not valid. */
export interface BodyTransform {
  push(chunk: Buffer): Buffer | undefined;
  /** The body ended: false when it can't end there. */
  end(): boolean;
}

export class RequestBody implements BodySink {
  /** Bytes received so far (after a transform, what it made of them). */
  received = 0;
  /** The last byte came (END_STREAM, or the whole body at once). */
  ended = false;
  /** The request's trailers (HTTP/2), given at the end. */
  trailers: string[] | undefined;
  /** Every byte so far is kept (received ≤ limit): a retry or mirror may replay it. */
  replayable = true;
  /** Called once when the body overflows the replay limit (the router gives up retries and shadows). */
  onOverflow: (() => void) | undefined;
  /** A shadow's copy (see data()) whose source overflowed: its request can't be completed. */
  onAbandon: (() => void) | undefined;
  /** Called once the last byte came (the router's request-complete: its timeouts start then). */
  onEnd: (() => void) | undefined;
  /** The transform refused what came (the request must be answered 400, or reset once answered). */
  onInvalid: (() => void) | undefined;
  /** Invalid per the transform: nothing more is taken. */
  invalid = false;
  /** From `first`: while replayable every chunk from the first; after, those the primary hasn't taken all of. */
  private chunks: Buffer[] = [];
  private first = 0;
  /** Bytes in chunks[first..]. */
  private heldBytes = 0;
  /** Made on the first small chunk: a request without a body (most) never needs one. */
  private spool: Spool | undefined;
  /** The primary's place: chunks[next], of which `off` bytes it has. */
  private next = 0;
  private off = 0;
  private endSent = false;
  /** Bytes were let go (past the replay limit): a new primary can't have the body from its first byte. */
  private dropped = false;
  private primary: BodySink | undefined;
  private paused = false;
  /** The most bytes ever taken by a primary (a replay to a retry takes none anew). */
  private taken = 0;
  private position = 0;
  private shadows: BodySink[] | undefined;
  private whole_: Buffer | undefined;
  private transform: BodyTransform | undefined;

  constructor(private limit = REPLAY_LIMIT) {}

  /**
   * The route's limit (per_request_buffer_limit_bytes), set when it is routed, before any attempt or shadow takes
   * bytes: a body over it is not replayed, one within it (none let go yet) is again.
   */
  setLimit(n: number): void {
    this.limit = n;
    if (this.received > n) {
      if (this.replayable) this.overflow();
    } else if (!this.dropped) this.replayable = true;
  }

  /** A body received whole already (HTTP/1.1 downstreams buffer it): ended, its one chunk kept. */
  static of(buf: Buffer, limit = REPLAY_LIMIT): RequestBody {
    const b = new RequestBody(limit);
    if (buf.length) b.keep(buf, false);
    b.ended = true;
    b.whole_ = buf;
    if (buf.length > limit) b.replayable = false;
    return b;
  }

  /** Bytes held (kept for replays, or not yet taken). */
  get held(): number {
    return this.heldBytes;
  }

  /** The whole body, once ended and while replayable (the codecs' fast path: sent in one write with its length). */
  whole(): Buffer {
    if (this.whole_) return this.whole_;
    const c = this.first ? this.chunks.slice(this.first) : this.chunks;
    this.whole_ = c.length === 0 ? EMPTY : c.length === 1 ? c[0]! : Buffer.concat(c, this.heldBytes);
    return this.whole_;
  }

  /** As a sink (a shadow's own body, fed by its source's tee): the source's chunks, shared, never copied again. */
  data(chunk: Buffer): boolean {
    this.push(chunk);
    return true;
  }

  abandon(): void {
    this.onAbandon?.();
  }

  /** Appends a chunk: one of SMALL_CHUNK bytes or more must be the caller's own copy; smaller ones are copied. */
  push(chunk: Buffer): void {
    if (this.ended || this.invalid || !chunk.length) return;
    const t = this.transform;
    if (t) {
      const out = t.push(chunk);
      if (!out) return this.refuse();
      if (out.length < chunk.length) this.absorbed(chunk.length - out.length);
      if (!out.length) return;
      chunk = out;
    }
    this.keep(chunk);
    this.arrived(chunk.length);
    const sh = this.shadows;
    if (sh) for (const s of sh) s.data(chunk);
    if (this.replayable && this.received > this.limit) this.overflow();
    this.deliver();
  }

  /** The last byte came. */
  end(trailers?: string[]): void {
    if (this.ended || this.invalid) return;
    if (this.transform && !this.transform.end()) return this.refuse();
    this.ended = true;
    if (trailers?.length) this.trailers = trailers;
    const sh = this.shadows;
    if (sh) for (const s of sh) s.end(this.trailers);
    this.shadows = undefined;
    this.deliver();
    const done = this.onEnd;
    this.onEnd = undefined;
    done?.();
  }

  /**
   * A filter rewrites the body from here on, and what came before it (no sink has taken any yet: filters run before
   * the router). False when what came is not valid.
   */
  setTransform(t: BodyTransform): boolean {
    const before = this.first ? this.chunks.slice(this.first) : this.chunks;
    const held = this.heldBytes;
    this.chunks = [];
    this.first = this.heldBytes = this.received = 0;
    this.spool?.reset();
    this.whole_ = undefined;
    if (held) this.released(held);
    const ended = this.ended;
    this.ended = false;
    this.transform = t;
    for (const c of before) this.push(c);
    if (ended) this.end(this.trailers);
    return !this.invalid;
  }

  /**
   * The primary sink: it gets every byte from the first (a retry's replay), then the rest as it comes. False when the
   * first bytes are gone (the body overflowed while a primary took them): nothing was given to `sink`.
   */
  pipe(sink: BodySink): boolean {
    if (this.dropped) return false;
    this.primary = sink;
    this.next = this.first;
    this.off = 0;
    this.position = 0;
    this.endSent = false;
    this.paused = false;
    this.deliver();
    return true;
  }

  /**
   * The primary sink lets go (its attempt is over): bytes wait for the next one, every one of them (none is let go
   * without a primary, so a retry already on its way when the body outgrew the limit still gets it whole).
   */
  detach(): void {
    this.primary = undefined;
    this.next = this.first;
    this.off = 0;
  }

  /** A shadow: every byte so far, then the rest as it comes; never paces the body. False once overflowed. */
  tee(sink: BodySink): boolean {
    if (!this.replayable) return false;
    for (let i = this.first; i < this.chunks.length; i++) sink.data(this.chunks[i]!);
    if (this.ended) sink.end(this.trailers);
    else (this.shadows ??= []).push(sink);
    return true;
  }

  /** The primary sink takes bytes again. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.deliver();
  }

  /** The request is over: whatever is held is let go. */
  dispose(): void {
    this.primary = undefined;
    const sh = this.shadows;
    this.shadows = undefined;
    // A shadow still waiting for the rest (the client reset mid-body) can't be completed: its request is abandoned,
    // as Envoy cancels its shadow streams when the request goes (router onDestroy).
    if (sh && !this.ended) for (const s of sh) s.abandon?.();
    const n = this.heldBytes;
    this.chunks = [];
    this.first = this.heldBytes = this.next = this.off = 0;
    this.spool?.reset();
    if (n) this.released(n);
  }

  /** Bytes a primary took for the first time (a codec gives its flow-control window back for them). */
  protected consumed(_n: number): void {}
  /** Bytes the transform took in and made nothing of (given back as if consumed). */
  protected absorbed(n: number): void {
    this.consumed(n);
  }
  /** Bytes came in and are held. */
  protected arrived(_n: number): void {}
  /** Held bytes let go. */
  protected released(_n: number): void {}

  /** Stores a chunk: a small one copied next to the last (extending it while it is the spool's latest view). */
  private keep(chunk: Buffer, copySmall = true): void {
    this.received += chunk.length;
    this.heldBytes += chunk.length;
    if (copySmall && chunk.length < SMALL_CHUNK) (this.spool ??= new Spool()).append(this.chunks, chunk);
    else this.chunks.push(chunk);
  }

  private refuse(): void {
    this.invalid = true;
    this.onInvalid?.();
  }

  private overflow(): void {
    this.replayable = false;
    this.dropTaken();
    const sh = this.shadows;
    this.shadows = undefined;
    if (sh) for (const s of sh) s.abandon?.();
    this.onOverflow?.();
  }

  /** Once not replayable: the chunks the primary has taken all of are let go. */
  private dropTaken(): void {
    let n = 0;
    while (this.first < this.next) n += this.chunks[this.first++]!.length;
    if (this.first > 64 && this.first * 2 > this.chunks.length) {
      // Compacted now and then, never per chunk: a shift() per chunk is quadratic in a body of tiny chunks.
      this.chunks = this.chunks.slice(this.first);
      this.next -= this.first;
      this.first = 0;
    }
    this.heldBytes -= n;
    if (n) {
      this.dropped = true;
      this.released(n);
    }
  }

  private deliver(): void {
    const p = this.primary;
    if (!p) return;
    const chunks = this.chunks;
    while (!this.paused && this.primary === p && this.chunks === chunks && this.next < chunks.length) {
      const c = chunks[this.next]!;
      const part = this.off ? c.subarray(this.off) : c;
      const last = this.next === chunks.length - 1;
      // The last chunk may still grow (small chunks join it): the primary stays on it, at its end.
      if (last) this.off = c.length;
      else {
        this.next++;
        this.off = 0;
      }
      if (!part.length) {
        if (last) break;
        continue; // the primary had all of it: on to the next
      }
      if (!this.replayable) this.dropTaken();
      this.position += part.length;
      if (this.position > this.taken) {
        this.consumed(this.position - this.taken);
        this.taken = this.position;
      }
      if (!p.data(part)) this.paused = true;
    }
    if (this.chunks !== chunks) return this.deliver();
    if (this.ended && !this.endSent && this.primary === p && this.atEnd()) {
      this.endSent = true;
      p.end(this.trailers);
    }
  }

  private atEnd(): boolean {
    const n = this.chunks.length;
    return this.next >= n || (this.next === n - 1 && this.off === this.chunks[n - 1]!.length);
  }
}
