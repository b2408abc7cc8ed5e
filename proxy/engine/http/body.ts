// A request body as it arrives, whatever the codec (Envoy's decodeData path): the request is routed at the end of its
// head and its body streams upstream as it comes. One primary sink (the upstream attempt) takes the bytes, paced by
// it (pause/resume, which the downstream codec maps to flow control); shadows (mirrors) get the same bytes live. What
// was received is kept up to a replay limit so a retry or a mirror can start over from the first byte; past it the
// body overflows: bytes are kept only until the primary takes them, and no new retry or mirror can start.

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

const EMPTY = Buffer.alloc(0);

export class RequestBody implements BodySink {
  /** Bytes received so far. */
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
  /** While replayable every chunk from the first; after, the chunks the primary hasn't taken. */
  private chunks: Buffer[] = [];
  /** Bytes in `chunks`. */
  private heldBytes = 0;
  /** The primary's position in `chunks`, and whether it was given the end. */
  private next = 0;
  private endSent = false;
  private primary: BodySink | undefined;
  private paused = false;
  /** The most bytes ever taken by a primary (a replay to a retry takes none anew). */
  private taken = 0;
  private position = 0;
  private shadows: BodySink[] | undefined;
  private whole_: Buffer | undefined;

  constructor(private readonly limit = REPLAY_LIMIT) {}

  /** A body received whole already (HTTP/1.1 downstreams buffer it): ended, its one chunk kept. */
  static of(buf: Buffer, limit = REPLAY_LIMIT): RequestBody {
    const b = new RequestBody(limit);
    if (buf.length) b.push(buf);
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
    const c = this.chunks;
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

  /** Appends a chunk (the caller gives a copy it won't touch again). */
  push(chunk: Buffer): void {
    if (this.ended || !chunk.length) return;
    this.received += chunk.length;
    this.chunks.push(chunk);
    this.heldBytes += chunk.length;
    this.arrived(chunk.length);
    const sh = this.shadows;
    if (sh) for (const s of sh) s.data(chunk);
    if (this.replayable && this.received > this.limit) this.overflow();
    this.deliver();
  }

  /** The last byte came. */
  end(trailers?: string[]): void {
    if (this.ended) return;
    this.ended = true;
    if (trailers?.length) this.trailers = trailers;
    const sh = this.shadows;
    if (sh) for (const s of sh) s.end(this.trailers);
    this.shadows = undefined;
    this.deliver();
  }

  /**
   * The primary sink: it gets every byte from the first (a retry's replay), then the rest as it comes. False when the
   * first bytes are gone (the body overflowed after a primary took some): nothing was given to `sink`.
   */
  pipe(sink: BodySink): boolean {
    if (!this.replayable && this.taken > 0) return false;
    this.primary = sink;
    this.next = 0;
    this.position = 0;
    this.endSent = false;
    this.paused = false;
    this.deliver();
    return true;
  }

  /** The primary sink lets go (its attempt is over): bytes wait for the next one. */
  detach(): void {
    this.primary = undefined;
  }

  /** A shadow: every byte so far, then the rest as it comes; never paces the body. False once overflowed. */
  tee(sink: BodySink): boolean {
    if (!this.replayable) return false;
    for (const c of this.chunks) sink.data(c);
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
    this.shadows = undefined;
    const n = this.heldBytes;
    this.chunks = [];
    this.heldBytes = 0;
    this.next = 0;
    if (n) this.released(n);
  }

  /** Bytes a primary took for the first time (a codec gives its flow-control window back for them). */
  protected consumed(_n: number): void {}
  /** Bytes came in and are held. */
  protected arrived(_n: number): void {}
  /** Held bytes let go. */
  protected released(_n: number): void {}

  private overflow(): void {
    this.replayable = false;
    // What the primary took is no longer kept; shadows can't get a whole body now.
    const done = this.chunks.splice(0, this.next);
    let n = 0;
    for (const c of done) n += c.length;
    this.next = 0;
    this.heldBytes -= n;
    if (n) this.released(n);
    const sh = this.shadows;
    this.shadows = undefined;
    if (sh) for (const s of sh) s.abandon?.();
    this.onOverflow?.();
  }

  private deliver(): void {
    const p = this.primary;
    if (!p) return;
    while (!this.paused && this.primary === p && this.next < this.chunks.length) {
      const c = this.chunks[this.next]!;
      if (this.replayable) this.next++;
      else {
        this.chunks.shift();
        this.heldBytes -= c.length;
        this.released(c.length);
      }
      this.position += c.length;
      if (this.position > this.taken) {
        this.consumed(this.position - this.taken);
        this.taken = this.position;
      }
      if (!p.data(c)) this.paused = true;
    }
    if (this.ended && !this.endSent && this.primary === p && this.next >= this.chunks.length) {
      this.endSent = true;
      p.end(this.trailers);
    }
  }
}
