// The upstream side: an HTTP/1.1 client connection that carries one exchange at a time and parses only the
// response framing, handing the head and the raw body bytes to the exchange.
import type { Socket } from "node:net";
import { dial, type DialFailure, type DialOptions } from "../dial.js";
import { ChunkedScanner, HeadScanner, parseResponseHead } from "./parse.js";
import { serializeHead } from "./head-bytes.js";
import { headerValue, listsToken, type ResponseHead } from "../http/head.js";
import { DISCARD, type Exchange, type UpstreamLink, type UpstreamRequest } from "../link.js";
import type { BodySink, RequestBody } from "../http/body.js";
import { offBytes, onBytes } from "../socket-read.js";

export type { Exchange, UpstreamFailure } from "../link.js";

/** An abandoned exchange (its client went away) keeps the connection only if the rest of its response is this small… */
const ABANDON_MAX_BYTES = 1024 * 1024;
/** …and arrives this soon; otherwise the connection is closed. */
const ABANDON_MAX_MS = 5000;

const enum Phase {
  Idle,
  Head,
  Length,
  Chunked,
  UntilClose,
}

export class UpstreamConnection implements UpstreamLink, BodySink {
  readonly socket: Socket;
  private connected = false;
  private exchange: Exchange | undefined;
  private phase = Phase.Idle;
  private buf: Buffer | undefined;
  private remaining = 0;
  private readonly scanner = new ChunkedScanner();
  private readonly headScanner = new HeadScanner();
  private abandonTimer: NodeJS.Timeout | undefined;
  /** performance.now() when it last went back to the pool (the cluster's idle_timeout counts from it). */
  idleSince = 0;
  private abandonBudget = 0;
  private noBody = false;
  private received = false;
  private keepAlive = true;
  /** The exchange in flight is a WebSocket upgrade: a 101 hands the socket over, any other answer closes it. */
  private upgrade = false;
  private dead = false;
  /** A request body still being sent (streamed as it arrives), and whether it goes chunked. */
  private sending: RequestBody | undefined;
  private chunkedOut = false;
  requests = 0;
  /** When it was opened (max_connection_duration). */
  readonly bornAt = performance.now();
  /** Called once the connection closes, for whatever reason. */
  onClosed: ((c: UpstreamConnection) => void) | undefined;
  /** Called when the response completed and the connection may be reused. */
  onReusable: ((c: UpstreamConnection) => void) | undefined;

  constructor(
    readonly key: string,
    host: string,
    port: number,
    options: DialOptions,
    onConnect: (err: DialFailure | undefined) => void,
  ) {
    const s = dial(host, port, options, (err) => {
      if (!err) this.connected = true;
      onConnect(err);
    });
    this.socket = s;
    onBytes(s, this.onData);
    s.on("drain", () => this.sending?.resume());
    s.on("close", () => {
      this.dead = true;
      if (this.connected) this.closeExchange();
      this.onClosed?.(this);
    });
  }

  get alive(): boolean {
    return !this.dead;
  }

  /** Sends a request. `noBody`: the response has no body whatever its headers say (HEAD). */
  send(req: UpstreamRequest, exchange: Exchange, noBody: boolean): void {
    const head = (req.h1 ??= req.chunked
      ? serializeHead(`${req.method} ${req.path} HTTP/1.1`, req.headers, "transfer-encoding", "chunked")
      : serializeHead(`${req.method} ${req.path} HTTP/1.1`, req.headers));
    const body = req.body;
    this.sending = undefined;
    this.exchange = exchange;
    this.phase = Phase.Head;
    this.headScanner.reset();
    this.noBody = noBody;
    this.received = false;
    this.upgrade = req.upgrade === true;
    this.requests++;
    if (!body.ended || req.chunked) {
      // Still arriving: streamed as it comes, with the declared content-length or chunked (as Envoy).
      this.socket.write(head);
      this.sending = body;
      this.chunkedOut = req.chunked;
      body.pipe(this);
      return;
    }
    const whole = body.whole();
    if (whole.length) {
      this.socket.cork();
      this.socket.write(head);
      this.socket.write(whole);
      process.nextTick(() => this.socket.uncork());
    } else this.socket.write(head);
  }

  /** A chunk of the streamed request body; false when the socket is backed up (the body waits for its drain). */
  data(chunk: Buffer): boolean {
    if (this.sending === undefined || this.dead) return true;
    const s = this.socket;
    if (!this.chunkedOut) return s.write(chunk);
    s.cork();
    s.write(`${chunk.length.toString(16)}\r\n`, "latin1");
    s.write(chunk);
    const ok = s.write("\r\n", "latin1");
    s.uncork();
    return ok;
  }

  /**
   * The streamed body's end: the last chunk when chunked. Request trailers are dropped, as Envoy's HTTP/1 codec does
   * unless enable_trailers (which isn't taken): an HTTP/1.1 server may merge them into the head (RFC 9110 §6.5.2), and a
   * client's `host` or `authorization` there would reach it unchecked.
   */
  end(): void {
    if (this.sending === undefined || this.dead) return;
    this.sending = undefined;
    if (this.chunkedOut) this.socket.write("0\r\n\r\n", "latin1");
  }

  /** Abandons the exchange in flight: the connection can't be reused, so it is closed. */
  abort(): void {
    this.exchange = undefined;
    this.sending = undefined;
    if (this.abandonTimer) clearTimeout(this.abandonTimer);
    this.abandonTimer = undefined;
    this.socket.destroy();
  }

  /** Keeps reading the response but drops it, then lets the connection be reused (retry after a 5xx head). */
  discard(): void {
    if (this.sending) return this.abort(); // the request isn't all sent: the connection can't carry another
    this.exchange = DISCARD;
    this.socket.resume();
  }

  /**
   * The client went away mid-exchange. The request has been written, so the connection is reusable once the rest
   * of the response has been read and dropped, if that is quick and small; a response without framing (read until
   * close) or one still streaming past the bounds closes it instead. Rapid resets then reuse connections rather
   * than open a new one each.
   */
  abandon(): void {
    if (this.phase === Phase.UntilClose || this.phase === Phase.Idle || this.dead || this.sending) return this.abort();
    this.exchange = DISCARD;
    this.abandonBudget = ABANDON_MAX_BYTES;
    this.abandonTimer = setTimeout(() => this.abort(), ABANDON_MAX_MS);
    this.socket.resume();
  }

  /** Whether the connection can carry another exchange: open both ways, reading, and between exchanges. */
  get reusable(): boolean {
    const s = this.socket;
    return (
      !this.dead && this.phase === Phase.Idle && !s.isPaused() && !s.readableEnded && !s.writableEnded && !s.destroyed
    );
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  close(): void {
    if (this.abandonTimer) clearTimeout(this.abandonTimer);
    this.socket.destroy();
  }

  private closeExchange(): void {
    const ex = this.exchange;
    this.exchange = undefined;
    if (!ex) return;
    if (this.phase === Phase.UntilClose) {
      ex.onEnd();
      return;
    }
    ex.onError("reset", this.received);
  }

  private protocolError(): void {
    const ex = this.exchange;
    this.exchange = undefined;
    this.socket.destroy();
    ex?.onError("protocol", this.received);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.received = true;
    if (this.abandonTimer && (this.abandonBudget -= chunk.length) < 0) return this.abort();
    if (this.phase === Phase.Idle) {
      this.socket.destroy(); // bytes without a request: the connection is unusable
      return;
    }
    if (this.phase === Phase.Head) {
      this.buf = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
      this.parseHead();
      return;
    }
    this.onBodyBytes(chunk);
  };

  private parseHead(): void {
    while (this.phase === Phase.Head && this.buf) {
      const buf = this.buf;
      // Held to the same rules as requests: a bare LF, CR or NUL, a bad field or framing is a 502, never passed on.
      let head: ResponseHead;
      let end: number;
      try {
        end = this.headScanner.scan(buf);
        if (end < 0) return;
        head = parseResponseHead(buf.toString("latin1", 0, end));
      } catch {
        this.protocolError();
        return;
      }
      const rest = end + 4 < buf.length ? buf.subarray(end + 4) : undefined;
      this.buf = undefined;
      this.headScanner.reset();
      if (head.status >= 100 && head.status < 200) {
        if (head.status === 101) return this.switched(head, buf.subarray(0, end + 4), rest);
        this.buf = rest; // interim response: skip it
        continue;
      }
      // An upgrade request answered without switching: the connection is closed after the response, never pooled.
      this.keepAlive = head.keepAlive && !this.upgrade;
      if (this.noBody || head.status === 204 || head.status === 304) this.remaining = 0;
      else if (head.chunked) {
        this.phase = Phase.Chunked;
        this.scanner.reset();
      } else if (head.contentLength >= 0) this.remaining = head.contentLength;
      else {
        this.phase = Phase.UntilClose;
        this.keepAlive = false;
      }
      if (this.phase === Phase.Head) this.phase = Phase.Length;
      this.exchange?.onHead(head, buf.subarray(0, end + 4));
      if (rest) this.onBodyBytes(rest);
      else if (this.phase === Phase.Length && this.remaining === 0) this.complete();
    }
  }

  /**
   * A 101: only a WebSocket upgrade request, answered with Upgrade: websocket named in Connection, switches; the
   * socket then leaves this connection (it is never pooled) for the exchange's tunnel. Any other 101 is a 502.
   */
  private switched(head: ResponseHead, raw: Buffer, rest: Buffer | undefined): void {
    const ex = this.exchange;
    if (!this.upgrade || !ex?.onUpgrade || !isWebsocketSwitch(head)) return this.protocolError();
    this.exchange = undefined;
    this.keepAlive = false;
    this.phase = Phase.Idle;
    this.buf = undefined;
    offBytes(this.socket, this.onData);
    ex.onUpgrade(head, raw, rest, this.socket);
  }

  private onBodyBytes(chunk: Buffer): void {
    switch (this.phase) {
      case Phase.Length: {
        if (chunk.length <= this.remaining) {
          this.remaining -= chunk.length;
          if (chunk.length) this.exchange?.onBody(chunk);
          if (this.remaining === 0) this.complete();
        } else {
          this.exchange?.onBody(chunk.subarray(0, this.remaining));
          this.remaining = 0;
          this.keepAlive = false; // extra bytes: a broken upstream
          this.complete();
        }
        return;
      }
      case Phase.Chunked: {
        let end: number;
        try {
          end = this.scanner.scan(chunk, 0, chunk.length);
        } catch {
          this.protocolError();
          return;
        }
        if (end < 0) {
          this.exchange?.onBody(chunk);
          return;
        }
        this.exchange?.onBody(end === chunk.length ? chunk : chunk.subarray(0, end));
        if (end < chunk.length) this.keepAlive = false;
        this.complete();
        return;
      }
      case Phase.UntilClose:
        this.exchange?.onBody(chunk);
        return;
      default:
        this.socket.destroy();
    }
  }

  private complete(): void {
    const ex = this.exchange;
    this.exchange = undefined;
    this.phase = Phase.Idle;
    if (this.abandonTimer) clearTimeout(this.abandonTimer);
    this.abandonTimer = undefined;
    // Paused for a slow client, the exchange is over now: reading again is what keeps it poolable.
    this.socket.resume();
    // Answered before its request was all sent: the rest isn't wanted, and the connection can't be reused.
    if (this.sending) {
      this.sending = undefined;
      this.keepAlive = false;
    }
    if (!this.keepAlive) this.socket.destroy();
    ex?.onEnd();
    if (this.keepAlive && !this.dead) this.onReusable?.(this);
  }
}

/** A 101 that switches to WebSocket: Upgrade: websocket, and Connection naming upgrade (RFC 6455 §4.1). */
function isWebsocketSwitch(head: ResponseHead): boolean {
  return (
    headerValue(head.headers, "upgrade")?.trim().toLowerCase() === "websocket" &&
    listsToken(head.headers, "connection", "upgrade")
  );
}
