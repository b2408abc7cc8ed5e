// The client side of one HTTP/2 connection (RFC 9113), to an upstream host: requests go out as streams (HEADERS,
// then the body as flow control allows), responses come back to each request's Exchange as they arrive
// (client-streams.ts). It replaces node:http2 for upstreams. Receiving is paced by the engine: a stream's window is
// given back only as its response is taken (H2Link.pause()/resume()), so a slow client of the proxy slows the
// upstream's stream, not the connection. This file is the connection: its calls given streams (or queued under the
// peer's limit), SETTINGS, keepalive, idle and age limits, GOAWAY and close.
import type { Socket } from "node:net";
import { ACK, Code, PREFACE, Setting } from "./frames.js";
import { WINDOW } from "./connection.js";
import type { H2Stream } from "./stream.js";
import type { FloodStat } from "./output.js";
import { ClientStream, type ClientCall } from "./call.js";
import type { FieldLimits } from "./fields.js";
import { H2ClientStreams } from "./client-streams.js";
import type { UpstreamFailure } from "../link.js";
import type { DialFailure } from "../dial.js";
import { onBytes } from "../socket-read.js";

export interface ClientOptions extends FieldLimits {
  /** A PING every keepaliveMs; a peer that sends nothing by the next one is gone. */
  keepaliveMs: number;
  /** A connection without a stream for this long is drained (the cluster's idle_timeout; 0: never). */
  idleTimeoutMs: number;
  /** The peer's SETTINGS must come within this once connected (the cluster's connect_timeout). */
  settingsTimeoutMs: number;
  /** Streams one connection carries before it is drained (the cluster's max_requests_per_connection; 0: no limit). */
  maxRequests: number;
  /** Streams open at once at most, whatever the peer allows (the cluster's max_concurrent_streams). */
  maxStreams: number;
  /** The connection is drained this long after it opened (the cluster's max_connection_duration; 0: never). */
  maxDurationMs: number;
}

export interface ClientEvents {
  /** The connection takes no new stream any more (GOAWAY either way, or it is closing): use another. */
  draining(): void;
  /**
   * The socket closed. `failed`: it never became an HTTP/2 connection (no SETTINGS from the peer), by a connect
   * failure or a timeout.
   */
  closed(failed: DialFailure | undefined): void;
  /** It is drained for having had no stream for idle_timeout. */
  idle(): void;
  /** It is drained for having carried max_requests_per_connection streams. */
  maxRequests(): void;
  /** It is drained for having been open max_connection_duration. */
  maxDuration(): void;
  /**
   * A call starts waiting for a stream (+1: the peer's max_concurrent_streams are taken), or stops: it got one, was
   * cancelled (`cancelled`), or failed with the connection (the cluster's pending requests).
   */
  pending?(delta: 1 | -1, cancelled?: boolean): void;
  /** It is closing for a flood from the upstream (Envoy's cluster.<name>.http2.<stat>). */
  flooded?(stat: FloodStat): void;
}

export class H2Client extends H2ClientStreams {
  /** Streams this side opened (ids 1, 3, 5, …). */
  private nextId = 1;
  /** Requests given to this connection, started or queued. */
  private assigned = 0;
  /** The peer's SETTINGS_MAX_CONCURRENT_STREAMS (unlimited until it says). */
  private maxStreams = Infinity;
  /** Calls over that limit, waiting for a stream to close. */
  private readonly queue: ClientCall[] = [];
  private connected = false;
  private draining = false;
  private failure: DialFailure | undefined;
  private readonly keepalive: NodeJS.Timeout;
  /** Since when the connection has had no stream. */
  private idleSince = performance.now();
  private readonly bornAt = performance.now();
  private settingsTimer: NodeJS.Timeout | undefined;
  /** Ticks (see tick()) per keepalive PING, and the ticks so far. */
  private readonly pingEvery: number;
  private ticks = 0;

  constructor(
    socket: Socket,
    readonly secure: boolean,
    protected readonly opts: ClientOptions,
    private readonly events: ClientEvents,
  ) {
    super(socket, opts.maxBytes);
    this.prefaceSeen = PREFACE.length; // the client sends the preface, and reads none
    this.out.bytes(PREFACE);
    this.out.settings([
      [Setting.ENABLE_PUSH, 0],
      [Setting.INITIAL_WINDOW_SIZE, WINDOW],
      [Setting.MAX_HEADER_LIST_SIZE, opts.maxBytes],
    ]);
    this.grantInitial();
    onBytes(socket, this.onData);
    socket.on("error", () => socket.destroy());
    socket.once("close", () => this.onClose());
    this.maxStreams = opts.maxStreams;
    const every = Math.min(opts.keepaliveMs, ...[opts.idleTimeoutMs, opts.maxDurationMs].filter((ms) => ms > 0));
    this.pingEvery = Math.max(1, Math.round(opts.keepaliveMs / every));
    this.keepalive = setInterval(() => this.tick(), every);
    this.keepalive.unref();
  }

  /** The socket is connected (and its TLS verified): what was laid out goes out, and the peer's SETTINGS are due. */
  connect(): void {
    this.connected = true;
    this.settingsTimer = setTimeout(() => {
      if (this.settingsSeen) return;
      this.failure = "timeout";
      this.fail(Code.SETTINGS_TIMEOUT);
    }, this.opts.settingsTimeoutMs).unref();
    this.flush();
  }

  /** It was never connected: dial failed or timed out. */
  connectFailed(why: DialFailure): void {
    this.failure = why;
    this.socket.destroy();
  }

  /** The connection is up (SETTINGS came) or still coming, and takes new streams. */
  get usable(): boolean {
    return !this.draining && !this.done && !this.socket.destroyed && !this.full;
  }

  /** It was given max_requests_per_connection requests: no more, and it drains once the last one has its stream. */
  private get full(): boolean {
    return this.opts.maxRequests > 0 && this.assigned >= this.opts.maxRequests;
  }

  /** A new stream would start now, not wait for one to close. */
  get hasRoom(): boolean {
    return this.streams.size + this.queue.length < this.maxStreams;
  }

  /** Streams open and calls waiting for one. */
  get load(): number {
    return this.streams.size + this.queue.length;
  }

  /** Starts a call: a stream now, or once the peer's stream limit allows. */
  start(call: ClientCall): void {
    if (!this.usable) return this.failCall(call, "refused-stream", false);
    this.assigned++;
    if (this.streams.size < this.maxStreams) this.open(call);
    else {
      this.queue.push(call);
      this.events.pending?.(1);
    }
  }

  /** The call is abandoned: its stream reset (CANCEL), or its place in the queue given up. */
  cancel(call: ClientCall): void {
    call.exchange = undefined;
    call.dropHeld();
    const s = call.stream;
    if (s) this.resetStream(s, Code.CANCEL);
    else {
      const i = this.queue.indexOf(call);
      if (i >= 0) {
        this.queue.splice(i, 1);
        this.events.pending?.(-1, true);
      }
    }
  }

  /** GOAWAY: streams open finish, new ones go elsewhere; the connection closes after the last. */
  drain(): void {
    if (this.done) return;
    this.stopTaking();
    this.out.goaway(0, Code.NO_ERROR);
    this.schedule();
    this.endIfIdle();
  }

  private open(call: ClientCall): void {
    const id = this.nextId;
    this.nextId += 2;
    this.lastId = id;
    const s = new ClientStream(id, this, this.peerWindow, call);
    call.stream = s;
    this.streams.set(id, s);
    const body = call.body;
    if (body.ended && !body.trailers) {
      // The whole body, ended: its last DATA frame carries END_STREAM (none: the HEADERS do).
      const whole = body.whole();
      s.respond(call.fields, whole.length === 0);
      if (whole.length) {
        s.queue.push(whole);
        s.queued = whole.length;
        s.endRequested = true;
        this.pump(s);
      }
    } else {
      // Streamed as it arrives (and replayed from its start on a retry), paced by the stream's queue.
      s.respond(call.fields, false);
      s.onDrain = () => body.resume();
      body.pipe(call);
    }
    // No stream id left: the next streams go to a new connection. Only now, with this stream open: drained without
    // one, the connection closed before its HEADERS went out, and the request failed as reset.
    if (this.nextId > 2 ** 31 - 1) this.drain();
    if (this.full && !this.queue.length && !this.draining) {
      this.events.maxRequests();
      this.drain();
    }
  }

  protected override flush(): void {
    if (this.connected) super.flush(); // nothing goes out before the connection (and its TLS peer) is verified
  }

  protected override onSettings(flags: number, id: number, p: Buffer): void {
    super.onSettings(flags, id, p);
    if (flags & ACK) return;
    for (let i = 0; i < p.length; i += 6)
      if (p.readUInt16BE(i) === Setting.MAX_CONCURRENT_STREAMS)
        this.maxStreams = Math.min(p.readUInt32BE(i + 2), this.opts.maxStreams);
    if (this.settingsTimer) clearTimeout(this.settingsTimer);
    this.settingsTimer = undefined;
    this.startQueued();
  }

  private startQueued(): void {
    while (this.queue.length && this.streams.size < this.maxStreams && this.usable) {
      this.events.pending?.(-1);
      this.open(this.queue.shift()!);
    }
  }

  protected onGoaway(lastStream: number, _code: number): void {
    this.stopTaking();
    // Streams above the last one the peer processed never were: they fail as refused, safe to send again.
    for (const s of [...this.streams.values()])
      if (s.id > lastStream) this.failStream(s as ClientStream, "refused-stream");
    this.endIfIdle();
  }

  protected override fail(code: Code): void {
    this.stopTaking();
    super.fail(code);
  }

  protected get goawayId(): number {
    return 0;
  }

  protected override get streamsOpened(): number {
    return (this.nextId - 1) / 2;
  }

  protected override flooded(stat: FloodStat): void {
    this.events.flooded?.(stat);
  }

  private failCall(call: ClientCall, kind: UpstreamFailure, answered: boolean): void {
    const ex = call.exchange;
    call.exchange = undefined;
    ex?.onError(kind, answered);
  }

  /**
   * idle_timeout, checked as often as the keepalive or the timeout when that is shorter, and the keepalive PING every
   * keepaliveMs whatever the timeout (a short one mustn't hurry a busy upstream's answer).
   */
  private tick(): void {
    const idle = this.opts.idleTimeoutMs;
    const now = performance.now();
    if (idle > 0 && !this.load && !this.draining && now - this.idleSince >= idle) {
      this.events.idle();
      return this.drain();
    }
    const max = this.opts.maxDurationMs;
    if (max > 0 && !this.draining && now - this.bornAt >= max) {
      this.events.maxDuration();
      return this.drain();
    }
    if (++this.ticks % this.pingEvery === 0) this.ping();
  }

  protected close(s: H2Stream): void {
    if (s.closed) return;
    s.closed = true;
    this.streams.delete(s.id);
    if (!this.streams.size) this.idleSince = performance.now();
    this.waiting.delete(s);
    s.onDrain = undefined;
    this.startQueued();
    this.endIfIdle();
  }

  private stopTaking(): void {
    if (this.draining) return;
    this.draining = true;
    for (const call of this.queue.splice(0)) {
      this.events.pending?.(-1);
      this.failCall(call, "refused-stream", false);
    }
    this.events.draining();
  }

  private endIfIdle(): void {
    if (!this.draining || this.streams.size || this.done) return;
    this.flush();
    this.done = true;
    this.socket.end();
  }

  private onClose(): void {
    this.done = true;
    clearInterval(this.keepalive);
    if (this.settingsTimer) clearTimeout(this.settingsTimer);
    const failed = this.settingsSeen ? undefined : (this.failure ?? "connect-failure");
    this.stopTaking();
    // Never HTTP/2: the requests failed to connect. Else a connection error this side found is the upstream's
    // protocol error; a close is a reset.
    const kind: UpstreamFailure = failed
      ? "connect-failure"
      : this.failedWith !== undefined && this.failedWith !== Code.NO_ERROR
        ? "protocol"
        : "reset";
    for (const s of [...this.streams.values()]) this.failStream(s as ClientStream, kind);
    this.events.closed(failed);
  }
}
