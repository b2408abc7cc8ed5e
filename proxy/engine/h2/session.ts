// The server side of one HTTP/2 connection (RFC 9113): frames in, streams and their flow control, frames out. It
// replaces node:http2 for downstream connections: a request is handed over at its HEADERS' END_STREAM, or else at the
// end of the read its HEADERS came in (a small request whose one DATA frame came with it is handed over whole, and
// leaves with a content-length), its body then streaming (request-body.ts); and
// the frames of one event-loop turn leave in one write. Every rule the client must follow is
// checked here, with the error code the RFC names (h2spec runs against it: proxy/engine/e2e/h2spec.test.ts).
import type { Socket } from "node:net";
import { Code, ConnectionError, Flag, Setting, Type } from "./frames.js";
import { H2Connection, WINDOW, type Block } from "./connection.js";
import { ClosedStreams, H2Stream } from "./stream.js";
import type { FloodStat } from "./output.js";
import type { HcmLimits } from "../config/types.js";
import { requestHead, validTrailers, type FieldLimits, type H2RequestHead, type Refusal } from "./fields.js";
import { H2RequestBody, type BodyOwner } from "./request-body.js";
import { SMALL_CHUNK } from "../http/body.js";
import { onBytes } from "../socket-read.js";

/** Streams refused for going over max_concurrent_streams before the connection is closed (node:http2's default). */
const MAX_REFUSED = 100;

export interface SessionOptions extends FieldLimits {
  maxConcurrentStreams: number;
  maxBodyBytes: number;
  keepaliveMs: number;
}

export interface SessionEvents {
  /** A request at the end of its head (its body in stream.body), or one refused with a status (the handler answers it). */
  request(stream: H2Stream, head: H2RequestHead | Refusal): void;
  /** A stream closed: by both sides ending it, a reset from either side, or the connection closing under it. */
  streamClosed(stream: H2Stream, code: Code, by: ClosedBy): void;
  closed(): void;
  /** The connection is closing for a flood (Envoy's http2.<stat>: inbound_empty_frames_flood, outbound_flood, …). */
  flooded?(stat: FloodStat): void;
}

/** How a stream closed: "ended" (both sides), a reset "here" or by the "peer", or the connection "gone". */
export type ClosedBy = "ended" | "here" | "peer" | "gone";

/** Window given back to a stream once its upstream took this much of its body (or sooner, when its window is low). */
const GRANT_AT = WINDOW / 4;

export class H2Session extends H2Connection implements BodyOwner {
  /** Recently closed stream ids → whether this side reset it (frames still in flight from the peer are ignored). */
  private readonly recent = new ClosedStreams();
  private refused = 0;
  private goawaySent = false;
  /** Request body bytes held by the streams open (kept for retries, or not yet taken upstream). */
  private buffered = 0;
  /** Streams whose HEADERS came in the read being processed: handed over once it is (afterFrames). */
  private fresh: H2Stream[] = [];
  private readonly bornAt = performance.now();
  /** Since when the connection has had no stream (idle_timeout). */
  private idleSince = this.bornAt;
  private readonly keepalive: NodeJS.Timeout;

  constructor(
    socket: Socket,
    private readonly opts: SessionOptions,
    private readonly events: SessionEvents,
  ) {
    super(socket, opts.maxBytes);
    this.out.settings([
      [Setting.MAX_CONCURRENT_STREAMS, opts.maxConcurrentStreams],
      [Setting.INITIAL_WINDOW_SIZE, WINDOW],
      [Setting.ENABLE_PUSH, 0],
    ]);
    this.grantInitial();
    this.flush();
    socket.setNoDelay(true);
    onBytes(socket, this.onData);
    socket.on("error", () => socket.destroy());
    socket.once("close", () => this.onClose());
    socket.resume(); // paused when HTTP/1's codec handed it over with the preface pushed back
    // Envoy's connection_keepalive: a peer that doesn't answer one ping by the next is gone.
    this.keepalive = setInterval(() => this.ping(), opts.keepaliveMs).unref();
  }

  /** Request body bytes held by this connection's open streams. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  get size(): number {
    return this.streams.size;
  }

  /**
   * The HCM's timeouts, as the HTTP/1 codec keeps them (http1/server.ts): the listener's sweep calls this a few times
   * per shortest timeout, so nothing is armed per stream. A request still arriving is answered 408 at request_timeout
   * or stream_idle_timeout (as Envoy: request_timeout runs until the request's end) if nothing was answered yet, and
   * its stream reset if a response is under way; a response the client stopped taking (its window shut) is reset at
   * stream_idle_timeout; a
   * connection without streams for idle_timeout, or older than max_connection_duration, is drained with GOAWAY.
   */
  checkTimers(now: number, l: HcmLimits, count: (counter: string) => void): void {
    if (this.done) return;
    for (const s of [...this.streams.values()]) {
      const idle = l.streamIdleMs > 0 && now - s.lastActivity >= l.streamIdleMs;
      if (!s.remoteEnded && !s.endRequested) {
        const counter =
          l.requestMs > 0 && now - s.born >= l.requestMs
            ? "downstream_rq_timeout"
            : idle
              ? "downstream_rq_idle_timeout"
              : undefined;
        if (!counter) continue;
        count(counter);
        // The 408 gets a stream_idle_timeout to go out before the stream is reset as any other response the client
        // doesn't take. A request handed over is answered by its handler; a response under way is never replaced.
        s.lastActivity = now;
        if (!s.headersSent) {
          const handler = s.onTimeout;
          s.onTimeout = undefined;
          if (handler) handler.requestTimedOut(counter);
          else if (s.head) {
            s.head = undefined;
            this.events.request(s, { status: 408, reason: counter });
          }
        }
        if (!s.closed && !s.endRequested) this.resetStream(s, Code.CANCEL);
      } else if (s.queued > 0 && idle) {
        // A response the client doesn't take (its window shut), whether or not its request ended: a 408 queued
        // behind a window of 0 would otherwise hold the stream for ever.
        count("downstream_rq_idle_timeout");
        this.resetStream(s, Code.CANCEL);
      }
    }
    if (this.goawaySent) return;
    if (!this.streams.size && l.idleMs > 0 && now - this.idleSince >= l.idleMs) {
      count("downstream_cx_idle_timeout");
      this.drain();
    } else if (l.maxConnectionDurationMs > 0 && now - this.bornAt >= l.maxConnectionDurationMs) {
      count("downstream_cx_max_duration_reached");
      this.drain();
    }
  }

  /** GOAWAY: streams in flight finish, new ones are refused; the connection closes when the last one ends. */
  drain(): void {
    if (this.goawaySent || this.done) return;
    this.goawaySent = true;
    this.out.goaway(this.lastId, Code.NO_ERROR);
    this.flush();
    if (!this.streams.size) this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  protected onStreamData(flags: number, id: number, data: Buffer, p: Buffer): void {
    const s = this.streams.get(id);
    if (!s) return this.closedStreamFrame(id, "DATA");
    if (s.remoteEnded) return this.streamError(id, Code.STREAM_CLOSED);
    s.lastActivity = this.clock;
    if (p.length > s.recvWindow) return this.streamError(id, Code.FLOW_CONTROL_ERROR);
    s.recvWindow -= p.length;
    // Padding is given back as taken; the data as the upstream takes it (bodyConsumed).
    s.credit += p.length - data.length;
    if (data.length) {
      const total = s.received + data.length;
      if (s.declaredLength >= 0 && total > s.declaredLength) return this.streamError(id, Code.PROTOCOL_ERROR);
      s.received = total;
      // A payload is a slice of the socket read it came in, which a few kept bytes would pin whole: copied (small
      // ones by the body, into shared stores).
      s.body?.push(data.length < SMALL_CHUNK ? data : Buffer.from(data));
      this.keepBodiesWithinBudget();
      if (s.closed) return;
    }
    if (flags & Flag.END_STREAM) return this.requestEnded(s, undefined);
    this.grantStream(s);
  }

  bodyConsumed(s: H2Stream, n: number): void {
    s.credit += n;
    this.grantStream(s);
  }

  bodyHeld(n: number): void {
    this.buffered += n;
  }

  /**
   * The stream's window given back for what its upstream took: a client uploading faster than its upstream takes
   * holds at most a window of bytes here (and what is kept for retries), and is held back by its window.
   */
  private grantStream(s: H2Stream): void {
    const c = s.credit;
    if (!c || s.remoteEnded || s.closed || (c < GRANT_AT && s.recvWindow > 16384)) return;
    s.credit = 0;
    s.recvWindow += c;
    this.out.u32(Type.WINDOW_UPDATE, s.id, c);
    this.schedule();
  }

  /**
   * Request bodies held by one connection's open streams (kept for retries, or not yet taken upstream) stay within
   * twice the HTTP/1.1 body limit: over it, the newest uploads still arriving and holding bytes are refused
   * (REFUSED_STREAM), so the older ones can finish. Each holds at most a window (1 MiB) not taken and the replay limit
   * (1 MiB): 100 streams uploading to stalled upstreams would otherwise hold 200 MiB.
   */
  private keepBodiesWithinBudget(): void {
    const budget = 2 * this.opts.maxBodyBytes;
    if (this.buffered <= budget) return;
    const open = [...this.streams.values()];
    for (let i = open.length - 1; i >= 0 && this.buffered > budget; i--) {
      const s = open[i]!;
      if (!s.remoteEnded && s.body && s.body.held > 0) this.resetStream(s, Code.REFUSED_STREAM);
    }
  }

  protected onBlock(b: Block): void {
    // Decoded before anything else: the dynamic table must stay in step with the peer's even for refused streams.
    const fields = this.decode(b);
    const id = b.stream;
    const s = this.streams.get(id);
    if (s) {
      // Trailers: they end the stream and carry no pseudo-header (§8.1).
      if (s.remoteEnded) return this.streamError(id, Code.STREAM_CLOSED);
      if (!b.endStream || !validTrailers(fields, this.opts)) return this.streamError(id, Code.PROTOCOL_ERROR);
      return this.requestEnded(s, fields);
    }
    if (id % 2 === 0) throw new ConnectionError(Code.PROTOCOL_ERROR, "a client's stream id must be odd");
    if (id <= this.lastId) return this.closedStreamFrame(id, "HEADERS");
    if (this.goawaySent) return; // no new streams after GOAWAY (§6.8)
    this.lastId = id;
    if (b.selfDependent) return this.streamError(id, Code.PROTOCOL_ERROR);
    if (this.streams.size >= this.opts.maxConcurrentStreams) {
      if (++this.refused > MAX_REFUSED) throw new ConnectionError(Code.ENHANCE_YOUR_CALM, "too many refused streams");
      return this.streamError(id, Code.REFUSED_STREAM);
    }
    const head = requestHead(fields, this.opts);
    if ("malformed" in head) return this.streamError(id, Code.PROTOCOL_ERROR);
    const st = new H2Stream(id, this, WINDOW, this.peerWindow);
    this.streams.set(id, st);
    if ("status" in head) {
      st.remoteEnded = b.endStream;
      return this.events.request(st, head);
    }
    st.head = head;
    st.declaredLength = head.contentLength;
    st.body = new H2RequestBody(this, st);
    if (b.endStream) {
      // Whole already (a GET): handed over now, as each stream of a read full of them is answered in turn.
      this.requestEnded(st, undefined);
      if (!st.closed) this.events.request(st, head);
      return;
    }
    this.fresh.push(st);
  }

  /** The streams whose HEADERS came in this read are handed over, with whatever of their body came with them. */
  protected override afterFrames(): void {
    const fresh = this.fresh;
    if (!fresh.length) return;
    this.fresh = [];
    if (this.socket.destroyed) return;
    for (const s of fresh) if (!s.closed && s.head) this.events.request(s, s.head);
  }

  private requestEnded(s: H2Stream, trailers: string[] | undefined): void {
    s.remoteEnded = true;
    if (s.declaredLength >= 0 && s.received !== s.declaredLength) return this.streamError(s.id, Code.PROTOCOL_ERROR);
    s.body?.end(trailers);
  }

  /**
   * A frame for a stream that isn't open: ignored if this side reset it, else STREAM_CLOSED or PROTOCOL_ERROR. DATA on
   * a stream no longer remembered (RECENT streams closed since) is ignored too, as nghttp2 does: it is most likely an
   * upload this side reset, still in flight on a busy connection, and an error would end every other stream with it.
   */
  private closedStreamFrame(id: number, what: "DATA" | "HEADERS"): void {
    if (id > this.lastId) throw new ConnectionError(Code.PROTOCOL_ERROR, `${what} on an idle stream`);
    const resetHere = this.recent.get(id);
    if (resetHere) return;
    if (resetHere === false) throw new ConnectionError(Code.STREAM_CLOSED, `${what} on a closed stream`);
    if (what === "DATA") return;
    throw new ConnectionError(Code.PROTOCOL_ERROR, `${what} on a stream never opened`);
  }

  protected onPeerReset(s: H2Stream, code: number): void {
    this.close(s, code, "peer");
  }

  protected onGoaway(): void {
    this.goawaySent = true; // the peer opens no more streams (and this side none either): close after the last
    if (!this.streams.size) this.socket.end();
  }

  protected get goawayId(): number {
    return this.lastId;
  }

  /** RST_STREAM with `code`; the stream (if open) is closed as reset by this side. */
  protected streamError(id: number, code: Code): void {
    const s = this.streams.get(id);
    if (s) return this.resetStream(s, code);
    this.out.u32(Type.RST_STREAM, id, code);
    this.remember(id, true);
  }

  protected override flooded(stat: FloodStat): void {
    this.events.flooded?.(stat);
  }

  resetStream(s: H2Stream, code: Code): void {
    if (s.closed) return;
    this.out.u32(Type.RST_STREAM, s.id, code);
    this.close(s, code, "here");
    this.schedule();
  }

  private remember(id: number, resetHere: boolean): void {
    this.recent.add(id, resetHere);
  }

  private close(s: H2Stream, code: Code, by: ClosedBy): void {
    if (s.closed) return;
    s.closed = true;
    this.streams.delete(s.id);
    this.waiting.delete(s);
    // Frames the peer sent before it saw this side's reset are ignored; after a clean end they are its error.
    this.remember(s.id, by === "here");
    const abort = s.onAbort;
    s.onAbort = s.onDrain = undefined;
    s.onTimeout = undefined;
    if (by !== "ended" && abort) abort.downstreamAborted();
    this.events.streamClosed(s, code, by);
    s.body?.dispose();
    if (!this.streams.size) this.idleSince = performance.now();
    if (this.goawaySent && !this.streams.size && !this.done) {
      this.flush();
      this.socket.end();
    }
  }

  /** The response's END_STREAM is out: the stream closes if the request ended too. */
  protected sent(s: H2Stream): void {
    s.sentEnd = true;
    if (s.remoteEnded) return this.close(s, Code.NO_ERROR, "ended");
    // Answered before the request ended (a refusal): the client is told to stop sending (§8.1).
    this.out.u32(Type.RST_STREAM, s.id, Code.NO_ERROR);
    this.close(s, Code.NO_ERROR, "here");
  }

  private onClose(): void {
    this.done = true;
    clearInterval(this.keepalive);
    for (const s of [...this.streams.values()]) this.close(s, Code.CANCEL, "gone");
    this.events.closed();
  }
}
