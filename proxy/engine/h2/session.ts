// The server side of one HTTP/2 connection (RFC 9113): frames in, streams and their flow control, frames out. It
// replaces node:http2 for downstream connections: a request is handed over once it is complete (the engine buffers
// request bodies), and the frames of one event-loop turn leave in one write. Every rule the client must follow is
// checked here, with the error code the RFC names (h2spec runs against it: proxy/engine/e2e/h2spec.test.ts).
import type { Socket } from "node:net";
import { HpackDecoder, HpackError } from "./hpack.js";
import {
  ACK,
  Code,
  ConnectionError,
  DEFAULT_MAX_FRAME,
  DEFAULT_WINDOW,
  FRAME_HEADER,
  Flag,
  PREFACE,
  Setting,
  Type,
} from "./frames.js";
import { H2Output } from "./output.js";
import { ClosedStreams, H2Stream } from "./stream.js";
import type { HcmLimits } from "../config/types.js";
import { requestHead, validTrailers, type FieldLimits, type H2RequestHead, type Refusal } from "./fields.js";

/** The receive window this side gives each stream and the connection (bodies are buffered whole anyway). */
const WINDOW = 1024 * 1024;
/** Streams refused for going over max_concurrent_streams before the connection is closed (node:http2's default). */
const MAX_REFUSED = 100;
/** After a GOAWAY for an error, how long the peer has to close before the socket is destroyed. */
const LINGER_MS = 1000;
/** Frames laid out past this many bytes are written before more frames are read (they may back the socket up). */
const FLUSH_AT = 64 * 1024;
const EMPTY = Buffer.alloc(0);

export interface SessionOptions extends FieldLimits {
  maxConcurrentStreams: number;
  maxBodyBytes: number;
  keepaliveMs: number;
}

export interface SessionEvents {
  /** A complete request, or one refused with a status (the handler answers it). */
  request(stream: H2Stream, head: H2RequestHead | Refusal): void;
  /** A stream closed: by both sides ending it, a reset from either side, or the connection closing under it. */
  streamClosed(stream: H2Stream, code: Code, by: ClosedBy): void;
  closed(): void;
}

/** How a stream closed: "ended" (both sides), a reset "here" or by the "peer", or the connection "gone". */
export type ClosedBy = "ended" | "here" | "peer" | "gone";

/** A header block being received: its fragments (`size` bytes), and `wire`, its frames' bytes headers included. */
type Block = {
  stream: number;
  endStream: boolean;
  selfDependent: boolean;
  parts: Buffer[];
  size: number;
  wire: number;
};

export class H2Session extends H2Output {
  private readonly decoder = new HpackDecoder({ maxTableSize: 4096 });
  /** Recently closed stream ids → whether this side reset it (frames still in flight from the peer are ignored). */
  private readonly recent = new ClosedStreams();
  private pending: Buffer | undefined;
  private prefaceSeen = 0;
  private settingsSeen = false;
  private block: Block | undefined;
  private refused = 0;
  private recvWindow = DEFAULT_WINDOW;
  private goawaySent = false;
  private pingOut = false;
  /** Request body bytes held by the streams open (grantConnection). */
  private buffered = 0;
  private readonly bornAt = performance.now();
  /** Since when the connection has had no stream (idle_timeout). */
  private idleSince = this.bornAt;
  private readonly keepalive: NodeJS.Timeout;

  constructor(
    socket: Socket,
    private readonly opts: SessionOptions,
    private readonly events: SessionEvents,
  ) {
    super(socket);
    this.out.settings([
      [Setting.MAX_CONCURRENT_STREAMS, opts.maxConcurrentStreams],
      [Setting.INITIAL_WINDOW_SIZE, WINDOW],
      [Setting.ENABLE_PUSH, 0],
    ]);
    this.out.u32(Type.WINDOW_UPDATE, 0, WINDOW - DEFAULT_WINDOW);
    this.recvWindow = WINDOW;
    this.flush();
    socket.setNoDelay(true);
    socket.on("data", this.onData);
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
   * or stream_idle_timeout; a response the client stopped taking (its window shut) is reset at stream_idle_timeout; a
   * connection without streams for idle_timeout, or older than max_connection_duration, is drained with GOAWAY.
   */
  checkTimers(now: number, l: HcmLimits, count: (counter: string) => void): void {
    if (this.done) return;
    for (const s of [...this.streams.values()]) {
      const idle = l.streamIdleMs > 0 && now - s.lastActivity >= l.streamIdleMs;
      if (!s.remoteEnded && !s.headersSent) {
        const counter =
          l.requestMs > 0 && now - s.born >= l.requestMs
            ? "downstream_rq_timeout"
            : idle
              ? "downstream_rq_idle_timeout"
              : undefined;
        if (counter) {
          count(counter);
          // The request is answered, never handed over should it end after all; the 408 gets a stream_idle_timeout
          // to go out before the stream is reset as any other response the client doesn't take.
          s.head = undefined;
          s.lastActivity = now;
          this.events.request(s, { status: 408, reason: counter });
        }
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

  private ping(): void {
    if (this.pingOut) {
      this.socket.destroy();
      return;
    }
    this.pingOut = true;
    this.out.frame(Type.PING, 0, 0, Buffer.alloc(8));
    this.schedule();
  }

  protected readMore(): void {
    if (this.done) return;
    this.socket.resume();
    if (this.pending && this.pending.length >= FRAME_HEADER) this.onData(EMPTY);
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.done || this.socket.destroyed) return;
    this.clock = performance.now();
    this.pingOut = false; // any bytes show the peer alive, as Envoy's keepalive counts any frame: a busy link isn't dead
    const buf = this.pending ? (chunk.length ? Buffer.concat([this.pending, chunk]) : this.pending) : chunk;
    this.pending = undefined;
    try {
      let pos = 0;
      if (this.prefaceSeen < PREFACE.length) {
        const n = Math.min(PREFACE.length - this.prefaceSeen, buf.length);
        if (buf.compare(PREFACE, this.prefaceSeen, this.prefaceSeen + n, 0, n) !== 0)
          throw new ConnectionError(Code.PROTOCOL_ERROR, "not HTTP/2's connection preface");
        this.prefaceSeen += n;
        pos = n;
      }
      // Frames wait while the socket is backed up (see blocked): the rest of the read is kept, and read on drain.
      // None is read once the socket is destroyed (rapid reset's close, say): its requests would reach the engine.
      while (buf.length - pos >= FRAME_HEADER && !this.done && !this.blocked && !this.socket.destroyed) {
        const length = (buf[pos]! << 16) | (buf[pos + 1]! << 8) | buf[pos + 2]!;
        if (length > DEFAULT_MAX_FRAME) throw new ConnectionError(Code.FRAME_SIZE_ERROR, "frame over 16384 bytes");
        if (buf.length - pos < FRAME_HEADER + length) break;
        const type = buf[pos + 3]!;
        const flags = buf[pos + 4]!;
        const id = buf.readUInt32BE(pos + 5) & 0x7fffffff;
        const start = pos + FRAME_HEADER;
        pos = start + length;
        this.frame(type, flags, id, buf.subarray(start, pos));
        if (this.out.pending >= FLUSH_AT) this.flush();
      }
      if (pos < buf.length) this.pending = buf.subarray(pos);
    } catch (e) {
      // Anything else thrown on the way (a request handler's bug) ends this connection, never the process.
      this.fail(
        e instanceof ConnectionError ? e.code : e instanceof HpackError ? Code.COMPRESSION_ERROR : Code.INTERNAL_ERROR,
      );
    }
    this.schedule();
  };

  private frame(type: number, flags: number, id: number, p: Buffer): void {
    if (!this.settingsSeen) {
      if (type !== Type.SETTINGS || flags & ACK) throw new ConnectionError(Code.PROTOCOL_ERROR, "no SETTINGS first");
      this.settingsSeen = true;
    }
    if (this.block && type !== Type.CONTINUATION)
      throw new ConnectionError(Code.PROTOCOL_ERROR, "a frame inside a header block");
    switch (type) {
      case Type.DATA:
        return this.onDataFrame(flags, id, p);
      case Type.HEADERS:
        return this.onHeaders(flags, id, p);
      case Type.PRIORITY:
        if (!id) throw new ConnectionError(Code.PROTOCOL_ERROR, "PRIORITY on stream 0");
        if (p.length !== 5) return this.streamError(id, Code.FRAME_SIZE_ERROR);
        if ((p.readUInt32BE(0) & 0x7fffffff) === id) this.streamError(id, Code.PROTOCOL_ERROR);
        return;
      case Type.RST_STREAM:
        return this.onReset(id, p);
      case Type.SETTINGS:
        return this.onSettings(flags, id, p);
      case Type.PUSH_PROMISE:
        throw new ConnectionError(Code.PROTOCOL_ERROR, "PUSH_PROMISE from a client");
      case Type.PING:
        if (id) throw new ConnectionError(Code.PROTOCOL_ERROR, "PING on a stream");
        if (p.length !== 8) throw new ConnectionError(Code.FRAME_SIZE_ERROR, "PING of other than 8 bytes");
        if (flags & ACK) this.pingOut = false;
        else {
          this.control();
          this.out.frame(Type.PING, ACK, 0, p);
        }
        return;
      case Type.GOAWAY:
        if (id) throw new ConnectionError(Code.PROTOCOL_ERROR, "GOAWAY on a stream");
        if (p.length < 8) throw new ConnectionError(Code.FRAME_SIZE_ERROR, "short GOAWAY");
        this.goawaySent = true; // the peer opens no more streams (and this side none either): close after the last
        if (!this.streams.size) this.socket.end();
        return;
      case Type.WINDOW_UPDATE:
        return this.onWindowUpdate(id, p);
      case Type.CONTINUATION:
        return this.onContinuation(flags, id, p);
      default:
        return; // unknown frame types are ignored (§5.5)
    }
  }

  /** The payload without its padding (PADDED flag), `skip` bytes after the pad length left out too. */
  private unpad(flags: number, p: Buffer, skip: number): Buffer {
    if (!(flags & Flag.PADDED)) {
      if (p.length < skip) throw new ConnectionError(Code.FRAME_SIZE_ERROR, "frame too short");
      return p.subarray(skip);
    }
    const pad = p.length ? p[0]! : 0;
    if (!p.length || pad >= p.length - skip) throw new ConnectionError(Code.PROTOCOL_ERROR, "padding too long");
    return p.subarray(1 + skip, p.length - pad);
  }

  private onDataFrame(flags: number, id: number, p: Buffer): void {
    if (!id) throw new ConnectionError(Code.PROTOCOL_ERROR, "DATA on stream 0");
    const data = this.unpad(flags, p, 0);
    if (p.length > this.recvWindow) throw new ConnectionError(Code.FLOW_CONTROL_ERROR, "connection window exceeded");
    this.recvWindow -= p.length;
    this.grantConnection();
    const s = this.streams.get(id);
    if (!s) return this.closedStreamFrame(id, "DATA");
    if (s.remoteEnded) return this.streamError(id, Code.STREAM_CLOSED);
    s.lastActivity = this.clock;
    if (p.length > s.recvWindow) return this.streamError(id, Code.FLOW_CONTROL_ERROR);
    s.recvWindow -= p.length;
    if (data.length) {
      const total = s.received + data.length;
      if (s.declaredLength >= 0 && total > s.declaredLength) return this.streamError(id, Code.PROTOCOL_ERROR);
      if (total > this.opts.maxBodyBytes) return this.streamError(id, Code.REFUSED_STREAM);
      s.append(data, this.opts.maxBodyBytes);
      this.buffered += data.length;
      this.keepBodiesWithinBudget();
      if (s.closed) return;
    }
    if (flags & Flag.END_STREAM) return this.requestEnded(s);
    if (s.recvWindow <= WINDOW / 2) {
      this.out.u32(Type.WINDOW_UPDATE, id, WINDOW - s.recvWindow);
      s.recvWindow = WINDOW;
    }
  }

  /** Gives the connection its window back once half of it is used. */
  private grantConnection(): void {
    if (this.recvWindow > WINDOW / 2) return;
    this.out.u32(Type.WINDOW_UPDATE, 0, WINDOW - this.recvWindow);
    this.recvWindow = WINDOW;
  }

  /**
   * Request bodies held by one connection's open streams stay within twice the body limit: over it, the newest
   * uploads still arriving are refused (REFUSED_STREAM: nothing was processed, so the client may retry them), so the
   * older ones can finish. 100 streams uploading at once would otherwise hold 100 bodies (800 MiB).
   */
  private keepBodiesWithinBudget(): void {
    const budget = 2 * this.opts.maxBodyBytes;
    if (this.buffered <= budget) return;
    const open = [...this.streams.values()];
    for (let i = open.length - 1; i >= 0 && this.buffered > budget; i--) {
      const s = open[i]!;
      if (!s.remoteEnded && s.received > 0) this.resetStream(s, Code.REFUSED_STREAM);
    }
  }

  private onHeaders(flags: number, id: number, p: Buffer): void {
    if (!id) throw new ConnectionError(Code.PROTOCOL_ERROR, "HEADERS on stream 0");
    const prio = (flags & Flag.PRIORITY) !== 0;
    const frag = this.unpad(flags, p, prio ? 5 : 0);
    const at = flags & Flag.PADDED ? 1 : 0;
    const selfDependent = prio && (p.readUInt32BE(at) & 0x7fffffff) === id;
    const block: Block = {
      stream: id,
      endStream: (flags & Flag.END_STREAM) !== 0,
      selfDependent,
      parts: [frag],
      size: frag.length,
      wire: FRAME_HEADER + p.length,
    };
    if (flags & Flag.END_HEADERS) this.onBlock(block);
    else this.block = block;
  }

  private onContinuation(flags: number, id: number, p: Buffer): void {
    const b = this.block;
    if (!b || id !== b.stream) throw new ConnectionError(Code.PROTOCOL_ERROR, "CONTINUATION out of a header block");
    // A header block can't grow without bound (CONTINUATION flood): twice the header limit, and a frame's slack. The
    // frames' headers count too, or empty CONTINUATION frames would add an entry to `parts` each, for ever.
    b.wire += FRAME_HEADER + p.length;
    if (b.wire > 2 * this.opts.maxBytes + DEFAULT_MAX_FRAME)
      throw new ConnectionError(Code.ENHANCE_YOUR_CALM, "header block too large");
    if (p.length) {
      b.parts.push(p);
      b.size += p.length;
    }
    if (flags & Flag.END_HEADERS) {
      this.block = undefined;
      this.onBlock(b);
    }
  }

  private onBlock(b: Block): void {
    const raw = b.parts.length === 1 ? b.parts[0]! : Buffer.concat(b.parts, b.size);
    // Decoded before anything else: the dynamic table must stay in step with the peer's even for refused streams.
    const fields = this.decoder.decode(raw);
    const id = b.stream;
    const s = this.streams.get(id);
    if (s) {
      // Trailers: they end the stream and carry no pseudo-header (§8.1).
      if (s.remoteEnded) return this.streamError(id, Code.STREAM_CLOSED);
      if (!b.endStream || !validTrailers(fields, this.opts)) return this.streamError(id, Code.PROTOCOL_ERROR);
      return this.requestEnded(s);
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
    if (b.endStream) this.requestEnded(st);
  }

  private requestEnded(s: H2Stream): void {
    s.remoteEnded = true;
    if (s.declaredLength >= 0 && s.received !== s.declaredLength) return this.streamError(s.id, Code.PROTOCOL_ERROR);
    if (s.head) this.events.request(s, s.head);
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

  private onReset(id: number, p: Buffer): void {
    if (!id) throw new ConnectionError(Code.PROTOCOL_ERROR, "RST_STREAM on stream 0");
    if (p.length !== 4) throw new ConnectionError(Code.FRAME_SIZE_ERROR, "RST_STREAM of other than 4 bytes");
    const s = this.streams.get(id);
    if (s) this.close(s, p.readUInt32BE(0), "peer");
    else if (id > this.lastId) throw new ConnectionError(Code.PROTOCOL_ERROR, "RST_STREAM on an idle stream");
  }

  /** RST_STREAM with `code`; the stream (if open) is closed as reset by this side. */
  protected streamError(id: number, code: Code): void {
    const s = this.streams.get(id);
    if (s) return this.resetStream(s, code);
    this.control();
    this.out.u32(Type.RST_STREAM, id, code);
    this.remember(id, true);
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
    if (by !== "ended" && abort) abort();
    this.events.streamClosed(s, code, by);
    this.buffered -= s.received;
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

  /** A connection error: GOAWAY naming it, then the connection closes. */
  private fail(code: Code): void {
    if (this.done) return;
    this.out.goaway(this.lastId, code);
    this.flush();
    this.done = true;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), LINGER_MS).unref();
  }

  private onClose(): void {
    this.done = true;
    clearInterval(this.keepalive);
    for (const s of [...this.streams.values()]) this.close(s, Code.CANCEL, "gone");
    this.events.closed();
  }
}
