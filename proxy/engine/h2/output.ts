// The sending half of an HTTP/2 server connection: response frames laid out as flow control allows (RFC 9113 §5.2;
// the peer's windows, per stream and for the connection), written once per event-loop turn, and backpressure both
// ways: a stream's write() says when to wait, and a peer that doesn't read its acks is cut off. session.ts reads.
import type { Socket } from "node:net";
import { HpackEncoder } from "./hpack.js";
import {
  ACK,
  Code,
  ConnectionError,
  DEFAULT_MAX_FRAME,
  DEFAULT_WINDOW,
  FrameOut,
  MAX_WINDOW,
  Setting,
  Type,
} from "./frames.js";
import { HIGH_WATER, type H2Stream, type StreamOwner } from "./stream.js";

/**
 * Frames written that the socket still holds (the kernel hasn't taken them: the peer isn't reading) before the
 * connection is closed, as Envoy's http2_protocol_options max_outbound_frames (10000) and max_outbound_control_frames
 * (1000: PING, SETTINGS, RST_STREAM): a peer that sends PINGs or SETTINGS as fast as it likes without reading the acks
 * would otherwise grow the queue.
 */
const MAX_OUTBOUND_FRAMES = 10_000;
const MAX_OUTBOUND_CONTROL = 1000;
const EMPTY = Buffer.alloc(0);

/** Envoy's http2 codec flood counters (`http2.<stat>`). */
export type FloodStat =
  | "inbound_empty_frames_flood"
  | "inbound_priority_frames_flood"
  | "inbound_window_update_frames_flood"
  | "outbound_flood"
  | "outbound_control_flood";

/** One write the socket still holds: its bytes, frames and control frames. */
type Held = { bytes: number; frames: number; control: number };

export abstract class H2Output implements StreamOwner {
  protected readonly out = new FrameOut();
  protected readonly encoder = new HpackEncoder();
  protected readonly streams = new Map<number, H2Stream>();
  /** Streams with bytes queued that the windows don't let out yet. */
  protected readonly waiting = new Set<H2Stream>();
  protected sendWindow = DEFAULT_WINDOW;
  /** The peer's SETTINGS_INITIAL_WINDOW_SIZE and SETTINGS_MAX_FRAME_SIZE. */
  protected peerWindow = DEFAULT_WINDOW;
  protected peerMaxFrame = DEFAULT_MAX_FRAME;
  /** Nothing more is written (a connection error was sent, or the socket closed). */
  protected done = false;
  /**
   * The socket is backed up: the peer isn't reading what this side sends. Until it drains, streams' writes ask their
   * callers to wait, and the session reads no more frames (as node:http2 stops reading while a write is in progress):
   * a client that sends requests without reading the answers would otherwise have them queued without bound.
   */
  blocked = false;
  /** performance.now() at the last read or drain: the time bytes last moved, without a clock read per frame. */
  protected clock = performance.now();
  private flushQueued = false;
  /** Writes the socket still holds, oldest first, and their sums; FrameOut's counts at the last write. */
  private held: Held[] = [];
  private readonly heldSum: Held = { bytes: 0, frames: 0, control: 0 };
  private framesWritten = 0;
  private controlWritten = 0;

  constructor(readonly socket: Socket) {
    socket.on("drain", this.onSocketDrain);
  }

  /** The connection is closing for a flood (Envoy counts `http2.<stat>`). */
  protected flooded(_stat: FloodStat): void {}

  /** The response's END_STREAM is laid out. */
  protected abstract sent(s: H2Stream): void;
  /** The socket drained: the frames that waited are read, and reading resumes. */
  protected abstract readMore(): void;
  abstract resetStream(s: H2Stream, code: Code): void;
  /** RST_STREAM with `code` for stream `id`, open or not. */
  protected abstract streamError(id: number, code: Code): void;
  /** The highest stream id the peer has opened. */
  protected lastId = 0;

  /** The peer's SETTINGS: they change how this side sends (§6.5.2), then are acknowledged. */
  protected onSettings(flags: number, id: number, p: Buffer): void {
    if (id) throw new ConnectionError(Code.PROTOCOL_ERROR, "SETTINGS on a stream");
    if (flags & ACK) {
      if (p.length) throw new ConnectionError(Code.FRAME_SIZE_ERROR, "SETTINGS ACK with a payload");
      return;
    }
    if (p.length % 6) throw new ConnectionError(Code.FRAME_SIZE_ERROR, "SETTINGS length not a multiple of 6");
    for (let i = 0; i < p.length; i += 6) {
      const key = p.readUInt16BE(i);
      const v = p.readUInt32BE(i + 2);
      if (key === Setting.HEADER_TABLE_SIZE) this.encoder.setMaxTableSize(Math.min(v, 4096));
      else if (key === Setting.ENABLE_PUSH && v > 1) throw new ConnectionError(Code.PROTOCOL_ERROR, "ENABLE_PUSH");
      else if (key === Setting.INITIAL_WINDOW_SIZE) {
        if (v > MAX_WINDOW) throw new ConnectionError(Code.FLOW_CONTROL_ERROR, "INITIAL_WINDOW_SIZE over 2^31-1");
        const delta = v - this.peerWindow;
        this.peerWindow = v;
        for (const s of this.streams.values()) {
          s.sendWindow += delta;
          if (s.sendWindow > MAX_WINDOW) throw new ConnectionError(Code.FLOW_CONTROL_ERROR, "stream window overflow");
        }
      } else if (key === Setting.MAX_FRAME_SIZE) {
        if (v < DEFAULT_MAX_FRAME || v > 2 ** 24 - 1) throw new ConnectionError(Code.PROTOCOL_ERROR, "MAX_FRAME_SIZE");
        this.peerMaxFrame = v;
      }
    }
    this.out.frame(Type.SETTINGS, ACK, 0);
    this.pumpAll();
  }

  protected onWindowUpdate(id: number, p: Buffer): void {
    if (p.length !== 4) throw new ConnectionError(Code.FRAME_SIZE_ERROR, "WINDOW_UPDATE of other than 4 bytes");
    const inc = p.readUInt32BE(0) & 0x7fffffff;
    if (!id) {
      if (!inc) throw new ConnectionError(Code.PROTOCOL_ERROR, "WINDOW_UPDATE of 0");
      if (this.sendWindow + inc > MAX_WINDOW) throw new ConnectionError(Code.FLOW_CONTROL_ERROR, "window overflow");
      this.sendWindow += inc;
      return this.pumpAll();
    }
    const s = this.streams.get(id);
    if (!s) {
      if (id > this.lastId) throw new ConnectionError(Code.PROTOCOL_ERROR, "WINDOW_UPDATE on an idle stream");
      return; // a window for a stream that just closed
    }
    if (!inc) return this.streamError(id, Code.PROTOCOL_ERROR);
    if (s.sendWindow + inc > MAX_WINDOW) return this.streamError(id, Code.FLOW_CONTROL_ERROR);
    s.sendWindow += inc;
    this.pump(s);
  }

  sendHeaders(s: H2Stream, fields: string[], endStream: boolean): void {
    this.out.headers(s.id, this.encoder.encode(fields), endStream, this.peerMaxFrame);
    if (endStream) this.sent(s);
    this.schedule();
  }

  pump(s: H2Stream): void {
    if (s.closed || s.sentEnd) return;
    const q = s.queue;
    while (q.length && s.sendWindow > 0 && this.sendWindow > 0) {
      const chunk = q[0]!;
      const n = Math.min(chunk.length, s.sendWindow, this.sendWindow, this.peerMaxFrame);
      if (n === chunk.length) q.shift();
      else q[0] = chunk.subarray(n);
      s.queued -= n;
      s.sendWindow -= n;
      this.sendWindow -= n;
      const last = !q.length && s.endRequested && !s.trailers;
      s.lastActivity = this.clock;
      this.out.data(s.id, n === chunk.length ? chunk : chunk.subarray(0, n), last);
      if (last) {
        this.sent(s);
        break;
      }
    }
    if (q.length) this.waiting.add(s);
    else {
      this.waiting.delete(s);
      if (s.endRequested && !s.sentEnd) {
        if (s.trailers) this.sendHeaders(s, s.trailers, true);
        else {
          this.out.data(s.id, EMPTY, true);
          this.sent(s);
        }
      }
    }
    if (s.wantsDrain && s.queued < HIGH_WATER / 4 && !this.blocked) {
      s.wantsDrain = false;
      const fn = s.onDrain;
      if (fn) process.nextTick(fn);
    }
    this.schedule();
  }

  protected pumpAll(): void {
    for (const s of this.waiting) {
      if (this.sendWindow <= 0) break;
      this.pump(s);
    }
  }

  protected schedule(): void {
    if (this.flushQueued || this.done) return;
    this.flushQueued = true;
    setImmediate(this.flushNow);
  }

  private readonly flushNow = (): void => {
    this.flushQueued = false;
    this.flush();
  };

  protected flush(): void {
    const parts = this.out.take();
    if (!parts.length || this.socket.destroyed) return;
    let ok = true;
    let bytes = 0;
    if (parts.length === 1) {
      bytes = parts[0]!.length;
      ok = this.socket.write(parts[0]!);
    } else {
      this.socket.cork();
      for (const b of parts) {
        bytes += b.length;
        ok = this.socket.write(b);
      }
      this.socket.uncork();
    }
    this.hold(bytes);
    if (!ok && !this.blocked && !this.done) {
      this.blocked = true;
      this.socket.pause();
    }
  }

  /**
   * Counts the frames just written that the socket still holds: those of the writes its unwritten bytes reach back
   * to (a write partly taken counts whole). Over the limits, the connection is closed without a GOAWAY, as Envoy does:
   * a peer that doesn't read wouldn't read it either.
   */
  private hold(bytes: number): void {
    const frames = this.out.frames - this.framesWritten;
    const control = this.out.control - this.controlWritten;
    this.framesWritten = this.out.frames;
    this.controlWritten = this.out.control;
    const left = this.socket.writableLength;
    if (!left) return this.release();
    const h = this.heldSum;
    this.held.push({ bytes, frames, control });
    h.bytes += bytes;
    h.frames += frames;
    h.control += control;
    while (this.held.length > 1 && h.bytes - this.held[0]!.bytes >= left) {
      const out = this.held.shift()!;
      h.bytes -= out.bytes;
      h.frames -= out.frames;
      h.control -= out.control;
    }
    const stat =
      h.frames > MAX_OUTBOUND_FRAMES
        ? "outbound_flood"
        : h.control > MAX_OUTBOUND_CONTROL
          ? "outbound_control_flood"
          : undefined;
    if (!stat) return;
    this.flooded(stat);
    this.done = true;
    this.socket.destroy();
  }

  private release(): void {
    if (!this.held.length) return;
    this.held = [];
    this.heldSum.bytes = this.heldSum.frames = this.heldSum.control = 0;
  }

  private readonly onSocketDrain = (): void => {
    this.clock = performance.now();
    this.blocked = false;
    this.release();
    for (const s of [...this.streams.values()]) {
      if (s.wantsDrain && s.queued < HIGH_WATER / 4) {
        s.wantsDrain = false;
        s.onDrain?.();
      }
    }
    this.readMore();
  };
}
