// What both sides of an HTTP/2 connection do alike (RFC 9113): the frame-reading loop (paused while the socket is
// backed up, see H2Output.blocked), the frames whose handling doesn't depend on the side (PING, PRIORITY, SETTINGS,
// WINDOW_UPDATE, header blocks split over CONTINUATION), the connection's receive window, keepalive PING and a
// connection error's GOAWAY. session.ts is the server side, client.ts the client side.
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
  Type,
} from "./frames.js";
import { H2Output } from "./output.js";
import type { H2Stream } from "./stream.js";

/** The receive window this side gives each stream and the connection. */
export const WINDOW = 1024 * 1024;
/**
 * Envoy's http2_protocol_options.max_consecutive_inbound_frames_with_empty_payload (default 1): DATA, HEADERS or
 * CONTINUATION frames with no payload and no END_STREAM have no use, and each costs the receiver a frame's work.
 */
const MAX_EMPTY_FRAMES = 1;
/**
 * Envoy's max_inbound_priority_frames_per_stream (100): PRIORITY frames (which this side parses and ignores) beyond
 * 100 per stream opened, and one stream's worth more, close the connection.
 */
const MAX_PRIORITY_PER_STREAM = 100;
/**
 * Envoy's max_inbound_window_update_frames_per_data_frame_sent (10): WINDOW_UPDATE frames beyond
 * 1 + 2 × (streams opened + 10 × DATA frames sent) close the connection.
 */
const MAX_WINDOW_UPDATES_PER_DATA = 10;
/** After a GOAWAY for an error, how long the peer has to close before the socket is destroyed. */
const LINGER_MS = 1000;
/** Frames laid out past this many bytes are written before more frames are read (they may back the socket up). */
const FLUSH_AT = 64 * 1024;
const EMPTY = Buffer.alloc(0);

/** A header block being received: its fragments (`size` bytes), and `wire`, its frames' bytes headers included. */
export type Block = {
  stream: number;
  endStream: boolean;
  selfDependent: boolean;
  parts: Buffer[];
  size: number;
  wire: number;
};

export abstract class H2Connection extends H2Output {
  protected readonly decoder = new HpackDecoder({ maxTableSize: 4096 });
  private pending: Buffer | undefined;
  /** How much of the client preface has been read (the client side reads none: it starts at PREFACE.length). */
  protected prefaceSeen = 0;
  protected settingsSeen = false;
  private block: Block | undefined;
  protected recvWindow = DEFAULT_WINDOW;
  /** A keepalive PING is unanswered (and no bytes came since it left). */
  private pingOut = false;
  /** The code of the connection error this side sent, if any. */
  protected failedWith: Code | undefined;
  /** Consecutive frames with an empty payload (MAX_EMPTY_FRAMES). */
  private emptyRun = 0;
  /** The highest stream id a HEADERS frame came on, and how many ids went up (streams the peer opened). */
  private highestIn = 0;
  private openedIn = 0;
  /** PRIORITY and WINDOW_UPDATE frames received. */
  private priorityIn = 0;
  private windowUpdatesIn = 0;

  constructor(
    socket: Socket,
    /** Header bytes a block may decode to (a header block's frames may hold twice that, and a frame's slack). */
    private readonly maxHeaderBytes: number,
  ) {
    super(socket);
  }

  /** A complete header block (HEADERS and its CONTINUATIONs). */
  protected abstract onBlock(b: Block): void;
  /** DATA on stream `id`, the connection's window already accounted; `p` is the payload with its padding. */
  protected abstract onStreamData(flags: number, id: number, data: Buffer, p: Buffer): void;
  /** RST_STREAM from the peer on an open stream. */
  protected abstract onPeerReset(s: H2Stream, code: number): void;
  protected abstract onGoaway(lastStream: number, code: number): void;
  /** The last stream id a GOAWAY from this side names (the peer's streams: the client side accepts none). */
  protected abstract get goawayId(): number;

  /** Streams opened on this connection (Envoy's opened streams: by the peer on the server side; the client's own). */
  protected get streamsOpened(): number {
    return this.openedIn;
  }

  /** The frames of one read were handled (the server hands over the requests they started). */
  protected afterFrames(): void {}

  /** Our connection window and SETTINGS, laid out after whatever preface this side sends. */
  protected grantInitial(): void {
    this.out.u32(Type.WINDOW_UPDATE, 0, WINDOW - DEFAULT_WINDOW);
    this.recvWindow = WINDOW;
  }

  protected ping(): void {
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

  protected readonly onData = (chunk: Buffer): void => {
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
      this.afterFrames();
    } catch (e) {
      // Anything else thrown on the way (a handler's bug) ends this connection, never the process.
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
    const empty =
      p.length === 0 &&
      !(flags & Flag.END_STREAM) &&
      (type === Type.DATA || type === Type.HEADERS || type === Type.CONTINUATION);
    if (!empty) this.emptyRun = 0;
    else if (++this.emptyRun > MAX_EMPTY_FRAMES) {
      this.flooded("inbound_empty_frames_flood");
      throw new ConnectionError(Code.PROTOCOL_ERROR, "too many consecutive frames with an empty payload");
    }
    if (type === Type.HEADERS) {
      if (id > this.highestIn) {
        this.highestIn = id;
        this.openedIn++;
      }
    } else if (type === Type.PRIORITY) {
      if (++this.priorityIn > MAX_PRIORITY_PER_STREAM * (1 + this.streamsOpened)) {
        this.flooded("inbound_priority_frames_flood");
        throw new ConnectionError(Code.ENHANCE_YOUR_CALM, "too many PRIORITY frames");
      }
    } else if (type === Type.WINDOW_UPDATE) {
      if (++this.windowUpdatesIn > 1 + 2 * (this.streamsOpened + MAX_WINDOW_UPDATES_PER_DATA * this.out.dataFrames)) {
        this.flooded("inbound_window_update_frames_flood");
        throw new ConnectionError(Code.ENHANCE_YOUR_CALM, "too many WINDOW_UPDATE frames");
      }
    }
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
        // A client never sends it, and the client side advertises ENABLE_PUSH 0.
        throw new ConnectionError(Code.PROTOCOL_ERROR, "PUSH_PROMISE");
      case Type.PING:
        if (id) throw new ConnectionError(Code.PROTOCOL_ERROR, "PING on a stream");
        if (p.length !== 8) throw new ConnectionError(Code.FRAME_SIZE_ERROR, "PING of other than 8 bytes");
        if (flags & ACK) this.pingOut = false;
        else this.out.frame(Type.PING, ACK, 0, p);
        return;
      case Type.GOAWAY:
        if (id) throw new ConnectionError(Code.PROTOCOL_ERROR, "GOAWAY on a stream");
        if (p.length < 8) throw new ConnectionError(Code.FRAME_SIZE_ERROR, "short GOAWAY");
        return this.onGoaway(p.readUInt32BE(0) & 0x7fffffff, p.readUInt32BE(4));
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
    // The connection's window is given back at once: a stream's own window bounds what it holds.
    if (this.recvWindow <= WINDOW / 2) {
      this.out.u32(Type.WINDOW_UPDATE, 0, WINDOW - this.recvWindow);
      this.recvWindow = WINDOW;
    }
    this.onStreamData(flags, id, data, p);
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
    if (b.wire > 2 * this.maxHeaderBytes + DEFAULT_MAX_FRAME)
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

  /** A block's fields, decoded (before anything else: the dynamic table must stay in step with the peer's). */
  protected decode(b: Block): string[] {
    return this.decoder.decode(b.parts.length === 1 ? b.parts[0]! : Buffer.concat(b.parts, b.size));
  }

  private onReset(id: number, p: Buffer): void {
    if (!id) throw new ConnectionError(Code.PROTOCOL_ERROR, "RST_STREAM on stream 0");
    if (p.length !== 4) throw new ConnectionError(Code.FRAME_SIZE_ERROR, "RST_STREAM of other than 4 bytes");
    const s = this.streams.get(id);
    if (s) this.onPeerReset(s, p.readUInt32BE(0));
    else if (id > this.lastId) throw new ConnectionError(Code.PROTOCOL_ERROR, "RST_STREAM on an idle stream");
  }

  /** A connection error: GOAWAY naming it, then the connection closes. */
  protected fail(code: Code): void {
    if (this.done) return;
    this.failedWith = code;
    this.out.goaway(this.goawayId, code);
    this.flush();
    this.done = true;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), LINGER_MS).unref();
  }
}
