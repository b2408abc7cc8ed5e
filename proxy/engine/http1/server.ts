// The downstream side: one Http1Connection per accepted socket. Requests are parsed one at a time and answered in
// order (pipelined requests wait in the buffer), so responses can never be reordered.
import { neitherHttp1NorUndecided } from "../h2/preface.js";
import type { Socket } from "node:net";
import { ChunkedScanner, CRLFCRLF, encodeChunk, MAX_HEAD_BYTES, parseRequestHead, reason, serializeHead, type RequestHead, type ResponseHead } from "./parse.js";
import type { Downstream, DownstreamRequest } from "../downstream.js";

/** Request bodies are buffered whole (so retries and mirrors can replay them), up to this size. */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;
const CONTINUE = Buffer.from("HTTP/1.1 100 Continue\r\n\r\n", "latin1");

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n", "latin1");

export type RequestHandler = (req: DownstreamRequest) => void;
/** Called with the socket and its first bytes when they are HTTP/2's connection preface (h2c, prior knowledge). */
export type PrefaceHandler = (socket: Socket, first: Buffer) => void;

export class Http1Connection implements Downstream {
  readonly protocol = "http/1.1";
  private first = true;
  private pendingHead: Buffer | undefined;
  private chunkEncode = false;
  private buf: Buffer | undefined;
  private store: Buffer | undefined;
  private storeEnd = 0;
  private reqHead: RequestHead | undefined;
  private bodyStart = 0;
  private scanFrom = 0;
  private readonly scanner = new ChunkedScanner();
  private sentContinue = false;
  private busy = false;
  private closeAfter = false;
  private draining = false;
  private closed = false;
  private abortHandler: (() => void) | undefined;
  private drainHandler: (() => void) | undefined;
  readonly remoteAddress: string;

  constructor(
    readonly socket: Socket,
    private readonly handler: RequestHandler,
    private readonly onClose: (c: Http1Connection) => void,
    private readonly onPreface?: PrefaceHandler,
  ) {
    this.remoteAddress = socket.remoteAddress ?? "";
    socket.setNoDelay(true);
    socket.on("data", this.onData);
    socket.on("drain", () => this.drainHandler?.());
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      this.closed = true;
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
      if (!this.busy && !this.buf && !this.closed) this.socket.end();
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

  private write(data: Buffer | string): boolean {
    if (this.closed) return true;
    return typeof data === "string" ? this.socket.write(data, "latin1") : this.socket.write(data);
  }

  /**
   * The head waits for the first body bytes so both leave in one write; when the upstream sent them in one read
   * (the common case), that write is a single slice of the bytes received, copied nowhere.
   */
  head(head: ResponseHead, headers: string[], raw: Buffer | undefined): void {
    const bodyless = head.status === 204 || head.status === 304;
    this.chunkEncode = head.unframed === true && head.contentLength < 0 && !bodyless;
    if (raw && !this.closing) {
      this.pendingHead = raw;
      return;
    }
    const h = headers.slice();
    for (let i = h.length - 2; i >= 0; i -= 2) if (h[i] === "connection" || (head.unframed && h[i] === "transfer-encoding")) h.splice(i, 2);
    if (this.chunkEncode) h.push("transfer-encoding", "chunked");
    if (this.closing) h.push("connection", "close");
    this.pendingHead = Buffer.from(serializeHead(`HTTP/1.1 ${head.status} ${reason(head.status)}`, h), "latin1");
  }

  body(chunk: Buffer): boolean {
    const head = this.pendingHead;
    if (head) {
      this.pendingHead = undefined;
      if (!this.chunkEncode) {
        if (head.buffer === chunk.buffer && head.byteOffset + head.length === chunk.byteOffset) {
          return this.write(Buffer.from(head.buffer, head.byteOffset, head.length + chunk.length));
        }
        if (chunk.length <= 16 * 1024) return this.write(Buffer.concat([head, chunk]));
        this.write(head);
        return this.write(chunk);
      }
      this.write(head);
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
    this.finish(closeAfter);
  }

  reset(): void {
    this.pendingHead = undefined;
    this.socket.destroy();
  }

  /** The response is complete: close or move on to the next pipelined request. */
  finish(forceClose = false): void {
    if (!this.busy) return;
    this.busy = false;
    this.abortHandler = undefined;
    this.drainHandler = undefined;
    if (forceClose || this.closing) {
      this.buf = undefined;
      this.socket.end();
      return;
    }
    if (this.socket.isPaused()) this.socket.resume();
    if (this.buf) this.next();
  }

  /** A complete local response with a content-length. */
  reply(status: number, headers: string[], body: Buffer | string, close = false): void {
    const len = typeof body === "string" ? Buffer.byteLength(body) : body.length;
    headers.push("content-length", String(len));
    if (close || this.closing) headers.push("connection", "close");
    this.write(serializeHead(`HTTP/1.1 ${status} ${reason(status)}`, headers));
    if (len) this.write(body);
    this.finish(close);
  }

  private fail(status: number): void {
    this.busy = true;
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
    if (store && cur.buffer === store.buffer && cur.byteOffset + cur.length === this.storeEnd && this.storeEnd + chunk.length <= store.length) {
      chunk.copy(store, this.storeEnd);
      this.storeEnd += chunk.length;
      this.buf = store.subarray(cur.byteOffset, this.storeEnd);
      return;
    }
    const next = Buffer.allocUnsafeSlow(Math.max(total * 2, 16 * 1024));
    cur.copy(next, 0);
    chunk.copy(next, cur.length);
    this.store = next;
    this.storeEnd = total;
    this.buf = next.subarray(0, total);
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.closed) return;
    if (this.first) {
      this.first = false;
      if (this.onPreface && chunk.length >= H2_PREFACE.length && chunk.subarray(0, H2_PREFACE.length).equals(H2_PREFACE)) {
        this.socket.removeListener("data", this.onData);
        this.socket.pause();
        this.socket.unshift(chunk);
        this.onClose(this);
        this.onPreface(this.socket, chunk);
        return;
      }
      if (this.onPreface && neitherHttp1NorUndecided(chunk)) return void this.socket.destroy(); // h2/preface.ts
    }
    this.append(chunk);
    if (!this.busy) this.next();
    else if ((this.buf?.length ?? 0) > 2 * MAX_HEAD_BYTES) this.socket.pause();
  };

  private next(): void {
    while (this.buf && !this.busy && !this.closed) {
      const buf = this.buf;
      let head = this.reqHead;
      if (!head) {
        const end = buf.indexOf(CRLFCRLF);
        if (end < 0) {
          if (buf.length > MAX_HEAD_BYTES) this.fail(431);
          return;
        }
        if (end > MAX_HEAD_BYTES) return this.fail(431);
        try {
          head = parseRequestHead(buf.toString("latin1", 0, end));
        } catch {
          return this.fail(400);
        }
        this.reqHead = head;
        this.bodyStart = end + 4;
        this.scanFrom = this.bodyStart;
        this.sentContinue = false;
        this.scanner.reset();
      }
      let bodyEnd: number;
      if (head.chunked) {
        try {
          bodyEnd = this.scanner.scan(buf, this.scanFrom, buf.length);
        } catch {
          return this.fail(400);
        }
        this.scanFrom = buf.length;
      } else {
        const len = head.contentLength < 0 ? 0 : head.contentLength;
        bodyEnd = buf.length - this.bodyStart >= len ? this.bodyStart + len : -1;
        if (len > MAX_BODY_BYTES) return this.fail(413);
      }
      if (bodyEnd < 0) {
        if (buf.length - this.bodyStart > MAX_BODY_BYTES) return this.fail(413);
        if (head.expectContinue && !this.sentContinue) {
          this.sentContinue = true;
          this.write(CONTINUE);
        }
        return;
      }
      const body = buf.subarray(this.bodyStart, bodyEnd);
      this.buf = bodyEnd < buf.length ? buf.subarray(bodyEnd) : undefined;
      this.reqHead = undefined;
      this.busy = true;
      this.closeAfter = !head.keepAlive;
      this.handler({ head, body, remoteAddress: this.remoteAddress, down: this });
    }
  }
}
