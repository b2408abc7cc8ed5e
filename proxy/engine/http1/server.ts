// The downstream side: one Http1Connection per accepted socket. Requests are parsed one at a time and answered in
// order (pipelined requests wait in the buffer), so responses can never be reordered.
import { RequestBody } from "../http/body.js";
import type { Socket } from "node:net";
import type { OriginalDst } from "../../native/original-dst.js";
import type { HcmLimits } from "../config/types.js";
import { ChunkedScanner, encodeChunk, reason, serializeHead } from "./parse.js";
import type { RequestHead, ResponseHead } from "../http/head.js";
import { RequestParser } from "./request.js";
import { released } from "../reclaim.js";
import type { Downstream, DownstreamRequest } from "../downstream.js";
import { connectionOf } from "../connection.js";
import { Tunnel } from "./tunnel.js";
import { peerOf, type DownstreamPeer } from "../peer.js";

/** Request bodies are buffered whole (so retries and mirrors can replay them), up to this size. */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;
/** Envoy's delayed_close_timeout default: after the proxy closes its side, how long the client has to close its own. */
export const DELAYED_CLOSE_MS = 1000;
const CONTINUE = Buffer.from("HTTP/1.1 100 Continue\r\n\r\n", "latin1");

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n", "latin1");

export type RequestHandler = (req: DownstreamRequest) => void;
/** Called with the socket and its first bytes when they are HTTP/2's connection preface (h2c, prior knowledge). */
export type PrefaceHandler = (socket: Socket, first: Buffer) => void;

/** The HCM counters a connection bumps, by their Envoy names (downstream_rq_header_timeout, …). */
export type CountFn = (name: string) => void;

export interface ConnectionOptions {
  limits: HcmLimits;
  count: CountFn;
  onPreface?: PrefaceHandler;
}

export class Http1Connection implements Downstream {
  readonly protocol = "http/1.1";
  private first = true;
  private pendingHead: Buffer | undefined;
  private chunkEncode = false;
  /** Decodes a chunked upstream body for an HTTP/1.0 client, which can't take chunked. */
  private decoder: ChunkedScanner | undefined;
  private buf: Buffer | undefined;
  private store: Buffer | undefined;
  private storeEnd = 0;
  private reqHead: RequestHead | undefined;
  private reqMinor = 1;
  /** The request being answered is HEAD: its response has no content, whatever its length says. */
  private headRequest = false;
  private readonly parser: RequestParser;
  private sentContinue = false;
  private busy = false;
  private closeAfter = false;
  private draining = false;
  private closed = false;
  private abortHandler: (() => void) | undefined;
  private drainHandler: (() => void) | undefined;
  readonly remoteAddress: string;
  readonly peer: DownstreamPeer;
  /** Where the client meant to connect, when interception redirected it (ORIGINAL_DST clusters go there). */
  originalDst: OriginalDst | undefined;
  private readonly limits: HcmLimits;
  private readonly count: CountFn;
  private readonly onPreface: PrefaceHandler | undefined;
  // Timekeeping (performance.now() ms) for the listener's sweep: see checkTimers().
  private readonly bornAt = performance.now();
  private reqStartAt = -1;
  private lastActivity = this.bornAt;
  private idleSince = this.bornAt;
  private endedAt = -1;
  private backpressured = false;
  /** Upgraded (WebSocket): the connection is a byte tunnel to the upstream now. */
  private tunnel: Tunnel | undefined;

  constructor(
    readonly socket: Socket,
    private readonly handler: RequestHandler,
    private readonly onClose: (c: Http1Connection) => void,
    opts: ConnectionOptions,
  ) {
    this.limits = opts.limits;
    this.count = opts.count;
    this.onPreface = opts.onPreface;
    this.parser = new RequestParser({
      maxHeadBytes: this.limits.maxHeadBytes,
      maxHeaders: this.limits.maxHeaders,
      maxBodyBytes: MAX_BODY_BYTES,
    });
    this.remoteAddress = socket.remoteAddress ?? "";
    this.peer = peerOf(socket);
    socket.setNoDelay(true);
    socket.on("data", this.onData);
    socket.on("drain", () => {
      this.backpressured = false;
      this.lastActivity = performance.now();
      this.drainHandler?.();
    });
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      this.closed = true;
      // Buffered bytes (up to a whole upload) go with the connection.
      if (this.store) released(this.store.length);
      this.buf = this.store = this.pendingHead = undefined;
      const abort = this.abortHandler;
      this.abortHandler = undefined;
      if (this.busy && abort) abort();
      this.onClose(this);
    });
  }

  /**
   * Stop keeping the connection alive: the next response carries Connection: close and the connection closes after
   * it. An idle connection is closed after `idleGraceMs` unless a request comes first (closing it at once would race
   * a client that is sending a request on it right now).
   */
  drain(idleGraceMs = 0): void {
    this.draining = true;
    const closeIfIdle = () => {
      if (!this.busy && !this.buf && !this.closed) this.close();
    };
    if (idleGraceMs <= 0) closeIfIdle();
    else setTimeout(closeIfIdle, idleGraceMs).unref();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Whether the response being written will be followed by a close. */
  get closing(): boolean {
    return this.closeAfter || this.draining;
  }

  onAbort(fn: (() => void) | undefined): void {
    this.abortHandler = fn;
  }

  onDrain(fn: (() => void) | undefined): void {
    this.drainHandler = fn;
  }

  /**
   * Enforces the HCM's timeouts; the listener calls it every few hundred ms for each connection, so the hot path
   * only records times and never arms a timer.
   */
  checkTimers(now: number): void {
    if (this.closed) return;
    const l = this.limits;
    if (this.tunnel) {
      // Envoy's stream_idle_timeout applies to an upgraded stream: no byte either way for that long closes it.
      if (l.streamIdleMs > 0 && now - this.tunnel.lastActivity >= l.streamIdleMs) {
        this.count("downstream_rq_idle_timeout");
        this.tunnel.close();
      }
      return;
    }
    if (this.endedAt >= 0) {
      if (now - this.endedAt >= DELAYED_CLOSE_MS) this.socket.destroy();
      return;
    }
    if (this.reqStartAt >= 0 && !this.busy) {
      if (!this.reqHead && l.requestHeadersMs > 0 && now - this.reqStartAt >= l.requestHeadersMs)
        return this.timeout("downstream_rq_header_timeout");
      if (l.requestMs > 0 && now - this.reqStartAt >= l.requestMs) return this.timeout("downstream_rq_timeout");
      if (l.streamIdleMs > 0 && now - this.lastActivity >= l.streamIdleMs)
        return this.timeout("downstream_rq_idle_timeout");
    } else if (this.busy && this.backpressured && l.streamIdleMs > 0 && now - this.lastActivity >= l.streamIdleMs) {
      // A client that stopped reading the response holds its upstream connection: reset it.
      this.count("downstream_rq_idle_timeout");
      this.reset();
      return;
    } else if (!this.busy && !this.buf && l.idleMs > 0 && now - this.idleSince >= l.idleMs) {
      this.count("downstream_cx_idle_timeout");
      this.close();
      return;
    }
    if (l.maxConnectionDurationMs > 0 && !this.draining && now - this.bornAt >= l.maxConnectionDurationMs) {
      this.count("downstream_cx_max_duration_reached");
      this.drain(0);
    }
  }

  private timeout(counter: string): void {
    this.count(counter);
    this.reqHead = undefined;
    this.fail(408);
  }

  /** Closes our side; the client has DELAYED_CLOSE_MS to close its own before the socket is destroyed. */
  private close(): void {
    if (this.endedAt >= 0 || this.closed) return;
    this.endedAt = performance.now();
    this.buf = undefined;
    this.socket.end();
  }

  private write(data: Buffer | string): boolean {
    if (this.closed) return true;
    const ok = typeof data === "string" ? this.socket.write(data, "latin1") : this.socket.write(data);
    if (!ok) this.backpressured = true;
    return ok;
  }

  private statusLine(status: number): string {
    return `HTTP/1.${this.reqMinor} ${status} ${reason(status)}`;
  }

  /**
   * The head waits for the first body bytes so both leave in one write; when the upstream sent them in one read
   * (the common case), that write is a single slice of the bytes received, copied nowhere.
   */
  head(head: ResponseHead, headers: string[], raw: Buffer | undefined): void {
    const bodyless = head.status === 204 || head.status === 304;
    const old = this.reqMinor === 0;
    this.chunkEncode = !old && head.unframed === true && head.contentLength < 0 && !bodyless;
    this.decoder = old && head.chunked ? new ChunkedScanner() : undefined;
    if (raw && !this.closing) {
      this.pendingHead = raw;
      return;
    }
    const h = headers.slice();
    for (let i = h.length - 2; i >= 0; i -= 2) {
      const n = h[i];
      if (n === "connection" || n === "keep-alive" || ((head.unframed || old) && n === "transfer-encoding"))
        h.splice(i, 2);
    }
    if (this.chunkEncode) h.push("transfer-encoding", "chunked");
    if (this.closing) h.push("connection", "close");
    this.pendingHead = Buffer.from(serializeHead(this.statusLine(head.status), h), "latin1");
  }

  body(chunk: Buffer): boolean {
    const head = this.pendingHead;
    if (head) {
      this.pendingHead = undefined;
      if (!this.chunkEncode && !this.decoder) {
        if (head.buffer === chunk.buffer && head.byteOffset + head.length === chunk.byteOffset) {
          return this.write(Buffer.from(head.buffer, head.byteOffset, head.length + chunk.length));
        }
        if (chunk.length <= 16 * 1024) return this.write(Buffer.concat([head, chunk]));
        this.write(head);
        return this.write(chunk);
      }
      this.write(head);
    }
    if (this.decoder) {
      let ok = true;
      this.decoder.scan(chunk, 0, chunk.length, (a, b) => (ok = this.write(chunk.subarray(a, b))));
      return ok;
    }
    if (!this.chunkEncode) return this.write(chunk);
    let ok = true;
    for (const part of encodeChunk(chunk)) ok = this.write(part);
    return ok;
  }

  end(trailers: string[] | undefined, closeAfter: boolean): void {
    if (this.pendingHead) {
      this.write(this.pendingHead);
      this.pendingHead = undefined;
    }
    if (this.chunkEncode) {
      this.chunkEncode = false;
      this.write(serializeHead("0", trailers ?? []));
    }
    this.decoder = undefined;
    this.finish(closeAfter);
  }

  reset(): void {
    this.pendingHead = undefined;
    this.socket.destroy();
  }

  /**
   * The upstream switched protocols: its 101 head as is (Upgrade and Connection kept, no framing), then the socket
   * is a tunnel. Bytes the client sent after its request (waiting in the buffer) go upstream first.
   */
  upgrade(
    headers: string[],
    upstream: Socket,
    rest: Buffer | undefined,
    onEnd: (toClient: number, toUpstream: number) => void,
  ): void {
    const h: string[] = [];
    for (let i = 0; i < headers.length; i += 2)
      if (!NOT_IN_101.has(headers[i] as string)) h.push(headers[i] as string, headers[i + 1] as string);
    this.pendingHead = undefined;
    this.abortHandler = this.drainHandler = undefined;
    this.socket.removeListener("data", this.onData);
    const early = this.buf;
    if (this.store) released(this.store.length);
    this.buf = this.store = undefined;
    this.write(serializeHead(this.statusLine(101), h));
    this.tunnel = new Tunnel(this.socket, upstream, early, rest, (t) => onEnd(t.toClient, t.toUpstream));
  }

  /** The response is complete: close or move on to the next pipelined request. */
  finish(forceClose = false): void {
    if (!this.busy) return;
    this.busy = false;
    this.backpressured = false;
    this.abortHandler = undefined;
    this.drainHandler = undefined;
    this.idleSince = performance.now();
    if (forceClose || this.closing) return this.close();
    if (this.socket.isPaused()) this.socket.resume();
    if (this.buf) this.next();
  }

  /**
   * A complete local response with a content-length. A HEAD request's gets the head alone, and a 204 or 304 neither
   * body nor length (RFC 9110 §6.4.1, §8.6): bytes after them would be read as the next response by the client.
   */
  reply(status: number, headers: string[], body: Buffer | string, close = false): void {
    const len = typeof body === "string" ? Buffer.byteLength(body) : body.length;
    const noContent = status === 204 || status === 304;
    if (!noContent) headers.push("content-length", String(len));
    if (close || this.closing) headers.push("connection", "close");
    this.write(serializeHead(this.statusLine(status), headers));
    if (len && !noContent && !this.headRequest) this.write(body);
    this.finish(close);
  }

  private fail(status: number): void {
    this.busy = true;
    this.headRequest = false;
    this.reqStartAt = -1;
    this.reply(status, ["content-type", "text/plain"], `${reason(status)}\n`, true);
  }

  /**
   * Appends to the pending bytes without copying them all again each time: a growing store doubles its capacity, so
   * a large body arriving in many reads costs linear time. Views handed out (request bodies) stay valid.
   */
  private append(chunk: Buffer): void {
    const cur = this.buf;
    if (!cur) {
      this.buf = chunk;
      return;
    }
    const store = this.store;
    const total = cur.length + chunk.length;
    if (
      store &&
      cur.buffer === store.buffer &&
      cur.byteOffset + cur.length === this.storeEnd &&
      this.storeEnd + chunk.length <= store.length
    ) {
      chunk.copy(store, this.storeEnd);
      this.storeEnd += chunk.length;
      this.buf = store.subarray(cur.byteOffset, this.storeEnd);
      return;
    }
    // A body of known length gets a store of exactly its size, not twice the bytes seen so far.
    const h = this.reqHead;
    const want = h && !h.chunked && h.contentLength > 0 ? this.parser.bodyOffset + h.contentLength : 0;
    const next = Buffer.allocUnsafeSlow(Math.max(total * 2 > want && want >= total ? want : total * 2, 16 * 1024));
    cur.copy(next, 0);
    chunk.copy(next, cur.length);
    this.store = next;
    this.storeEnd = total;
    this.buf = next.subarray(0, total);
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.closed || this.endedAt >= 0) return;
    this.lastActivity = performance.now();
    if (this.first) {
      this.first = false;
      if (
        this.onPreface &&
        chunk.length >= H2_PREFACE.length &&
        chunk.subarray(0, H2_PREFACE.length).equals(H2_PREFACE)
      ) {
        this.socket.removeListener("data", this.onData);
        this.socket.pause();
        this.socket.unshift(chunk);
        this.onClose(this);
        this.onPreface(this.socket, chunk);
        return;
      }
    }
    this.append(chunk);
    if (!this.busy) this.next();
    else if ((this.buf?.length ?? 0) > 2 * this.limits.maxHeadBytes) this.socket.pause();
  };

  /** Drops empty lines before a request line (RFC 9112 §2.2). False: nothing to parse yet. */
  private skipEmptyLines(): boolean {
    const buf = this.buf as Buffer;
    let k = 0;
    while (k + 1 < buf.length && buf[k] === 13 && buf[k + 1] === 10) k += 2;
    if (k === buf.length) {
      this.buf = undefined;
      return false;
    }
    if (k) this.buf = buf.subarray(k);
    return !(buf.length - k === 1 && buf[k] === 13);
  }

  private next(): void {
    while (this.buf && !this.busy && !this.closed) {
      if (this.reqStartAt < 0) {
        if (!this.skipEmptyLines()) return;
        this.reqStartAt = performance.now();
        this.sentContinue = false;
        this.parser.reset();
      }
      const buf = this.buf as Buffer;
      const r = this.parser.parse(buf);
      if (!r) {
        const head = this.parser.head;
        if (head) {
          this.reqHead = head;
          this.reqMinor = head.minor;
          if (head.expectContinue && head.minor === 1 && !this.sentContinue) {
            this.sentContinue = true;
            this.write(CONTINUE);
          }
        }
        return;
      }
      if ("status" in r) return this.fail(r.status);
      const head = r.head;
      this.reqMinor = head.minor;
      this.headRequest = head.method === "HEAD";
      this.buf = r.end < buf.length ? buf.subarray(r.end) : undefined;
      this.reqHead = undefined;
      this.reqStartAt = -1;
      this.busy = true;
      // An HTTP/1.0 client gets a close-delimited or content-length response, then the connection closes.
      this.closeAfter = !head.keepAlive || head.minor === 0;
      this.handler({
        head,
        body: RequestBody.of(r.body),
        remoteAddress: this.remoteAddress,
        connection: connectionOf(this.socket),
        originalDst: this.originalDst,
        peer: this.peer,
        down: this,
      });
    }
  }
}

/** Framing a 101 can't have (it has no content): dropped from the head the client gets. */
const NOT_IN_101 = new Set(["content-length", "transfer-encoding", "keep-alive"]);
