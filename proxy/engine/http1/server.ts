// The downstream side: one Http1Connection per accepted socket. Requests are parsed one at a time and answered in
// order (pipelined requests wait in the buffer), so responses can never be reordered. A request is handed over at the
// end of its head; a body not already whole in the read streams (request-body.ts), the socket read only as fast as
// the upstream takes it, and the next request is parsed only once it has ended. Its timeouts, drain and close are
// lifecycle.ts's.
import { RequestBody } from "../http/body.js";
import type { Socket } from "node:net";
import type { OriginalDst } from "../../native/original-dst.js";
import type { HcmLimits } from "../config/types.js";
import { reason } from "./parse.js";
import { serializeHead } from "./head-bytes.js";
import { ResponseEncoder } from "./response-encoder.js";
import type { ResponseHead } from "../http/head.js";
import { RequestParser } from "./request.js";
import type { AbortHandler, Downstream, DownstreamRequest, RequestTimeoutHandler } from "../downstream.js";
import { connectionOf } from "../connection.js";
import { Tunnel } from "./tunnel.js";
import { peerOf, type DownstreamPeer } from "../peer.js";
import { H1RequestBody, type BodyReader } from "./request-body.js";
import { offBytes, onBytes, putBack } from "../socket-read.js";
import { Http1Lifecycle, type CountFn } from "./lifecycle.js";
import { applyServerHeader, type ServerHeader } from "../server-header.js";
export { DELAYED_CLOSE_MS } from "./lifecycle.js";
const CONTINUE = Buffer.from("HTTP/1.1 100 Continue\r\n\r\n", "latin1");

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n", "latin1");

export type RequestHandler = (req: DownstreamRequest) => void;
/** Called with the socket and its first bytes when they are HTTP/2's connection preface (h2c, prior knowledge). */
export type PrefaceHandler = (socket: Socket, first: Buffer) => void;

export interface ConnectionOptions {
  limits: HcmLimits;
  /** The HCM's `server` header, on the codec's own replies too (a request's go through the stream's response). */
  server: ServerHeader;
  count: CountFn;
  onPreface?: PrefaceHandler;
}

export class Http1Connection extends Http1Lifecycle implements Downstream, BodyReader {
  readonly protocol = "http/1.1";
  private first = true;
  private readonly encoder = new ResponseEncoder((data) => this.write(data));
  private reqMinor = 1;
  /** The request being answered is HEAD: its response has no content, whatever its length says. */
  private headRequest = false;
  private readonly parser: RequestParser;
  private abortHandler: AbortHandler | undefined;
  private drainHandler: (() => void) | undefined;
  readonly remoteAddress: string;
  readonly peer: DownstreamPeer;
  /** Where the client meant to connect, when interception redirected it (ORIGINAL_DST clusters go there). */
  originalDst: OriginalDst | undefined;
  protected readonly limits: HcmLimits;
  protected readonly count: CountFn;
  private readonly onPreface: PrefaceHandler | undefined;
  private readonly server: ServerHeader;

  constructor(
    readonly socket: Socket,
    private readonly handler: RequestHandler,
    private readonly onClose: (c: Http1Connection) => void,
    opts: ConnectionOptions,
  ) {
    super();
    this.limits = opts.limits;
    this.count = opts.count;
    this.onPreface = opts.onPreface;
    this.server = opts.server;
    this.parser = new RequestParser({ maxHeadBytes: this.limits.maxHeadBytes, maxHeaders: this.limits.maxHeaders });
    this.remoteAddress = socket.remoteAddress ?? "";
    this.peer = peerOf(socket);
    socket.setNoDelay(true);
    onBytes(socket, this.onData);
    socket.on("drain", () => {
      this.backpressured = false;
      this.lastActivity = performance.now();
      this.drainHandler?.();
    });
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      this.closed = true;
      // Buffered bytes (pipelined requests) go with the connection.
      this.rb.clear();
      this.encoder.drop();
      this.reading?.dispose(); // a body still arriving: what it holds is let go
      this.reading = this.arrivalHandler = undefined;
      const abort = this.abortHandler;
      this.abortHandler = undefined;
      if (this.busy && abort) abort.downstreamAborted();
      this.onClose(this);
    });
  }

  onAbort(handler: AbortHandler | undefined): void {
    this.abortHandler = handler;
  }

  onDrain(fn: (() => void) | undefined): void {
    this.drainHandler = fn;
  }

  onRequestTimeout(handler: RequestTimeoutHandler | undefined): void {
    this.arrivalHandler = handler;
  }

  /** The body's upstream is behind by READ_AHEAD bytes: the client waits (TCP's window fills). */
  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.lastActivity = performance.now();
    if (this.reading && this.endedAt < 0) this.socket.resume();
  }

  /**
   * A response starts before its request ended: the connection closes after it, as Envoy's HCM does for HTTP/1
   * (counting downstream_rq_response_before_rq_complete), rather than read the rest of the body.
   */
  private beforeRequestEnded(): void {
    if (!this.reading) return;
    this.closeAfter = true;
    this.count("downstream_rq_response_before_rq_complete");
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

  head(head: ResponseHead, headers: string[], raw: Buffer | undefined): void {
    this.beforeRequestEnded();
    this.encoder.head(this.statusLine(head.status), head, headers, raw, this.reqMinor === 0, this.closing);
  }

  body(chunk: Buffer): boolean {
    return this.encoder.body(chunk);
  }

  end(trailers: string[] | undefined, closeAfter: boolean): void {
    this.encoder.end(trailers);
    this.finish(closeAfter);
  }

  reset(): void {
    this.encoder.drop();
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
    this.encoder.drop();
    this.abortHandler = this.drainHandler = undefined;
    offBytes(this.socket, this.onData);
    const early = this.rb.clear();
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
    this.arrivalHandler = undefined;
    this.idleSince = performance.now();
    if (forceClose || this.closing) return this.close();
    if (this.socket.isPaused()) this.socket.resume();
    if (this.rb.bytes) this.next();
  }

  /**
   * A complete local response with a content-length. A HEAD request's gets the head alone, and a 204 or 304 neither
   * body nor length (RFC 9110 §6.4.1, §8.6): bytes after them would be read as the next response by the client.
   */
  reply(status: number, headers: string[], body: Buffer | string, close = false): void {
    this.beforeRequestEnded();
    const len = typeof body === "string" ? Buffer.byteLength(body) : body.length;
    const noContent = status === 204 || status === 304;
    if (!noContent) headers.push("content-length", String(len));
    if (close || this.closing) headers.push("connection", "close");
    this.write(serializeHead(this.statusLine(status), headers));
    if (len && !noContent && !this.headRequest) this.write(body);
    this.finish(close);
  }

  /** The codec's own answer (400, 408, 431) before a request exists: as Envoy's, it carries the HCM's `server`. */
  protected fail(status: number): void {
    this.busy = true;
    this.headRequest = false;
    this.reqStartAt = -1;
    const headers = ["content-type", "text/plain"];
    applyServerHeader(headers, this.server);
    this.reply(status, headers, `${reason(status)}\n`, true);
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
        offBytes(this.socket, this.onData);
        this.socket.pause();
        putBack(this.socket, chunk);
        this.onClose(this);
        this.onPreface(this.socket, chunk);
        return;
      }
    }
    const body = this.reading;
    if (body) {
      const end = this.bodyData(body, chunk);
      if (end < 0 || end === chunk.length || this.endedAt >= 0 || this.closed) return;
      chunk = chunk.subarray(end); // the next request's, parsed once this one is answered
    }
    this.rb.append(chunk);
    if (!this.busy) this.next();
    else if ((this.rb.bytes?.length ?? 0) > 2 * this.limits.maxHeadBytes) this.socket.pause();
  };

  /** A read of a body still arriving: where the body ended in it, or -1. */
  private bodyData(body: H1RequestBody, chunk: Buffer): number {
    let end: number;
    try {
      end = body.feed(chunk, 0);
    } catch {
      this.arrivalFailed(undefined); // malformed chunked framing: a 400 if nothing was answered yet
      return -1;
    }
    if (end >= 0 && this.reading === body) {
      this.reading = this.arrivalHandler = undefined;
      this.reqStartAt = -1;
    }
    return end;
  }

  private next(): void {
    while (this.rb.bytes && !this.busy && !this.closed) {
      if (this.reqStartAt < 0) {
        if (!this.rb.skipEmptyLines()) return;
        this.reqStartAt = performance.now();
        this.parser.reset();
      }
      const buf = this.rb.bytes as Buffer;
      const r = this.parser.parse(buf);
      if (!r) return;
      if ("status" in r) return this.fail(r.status);
      const head = r.head;
      this.reqMinor = head.minor;
      this.headRequest = head.method === "HEAD";
      this.busy = true;
      // An HTTP/1.0 client gets a close-delimited or content-length response, then the connection closes.
      this.closeAfter = !head.keepAlive || head.minor === 0;
      let body: RequestBody;
      if (r.body) {
        // Whole in what was read (the common case): handed over ended, one slice of the bytes received.
        this.rb.bytes = r.end < buf.length ? buf.subarray(r.end) : undefined;
        this.reqStartAt = -1;
        body = RequestBody.of(r.body);
      } else {
        // Still arriving: what came so far is the body's (the parser validated it), the rest as it is read.
        const b = new H1RequestBody(this, head);
        this.rb.bytes = undefined;
        this.reading = b;
        b.feed(buf, r.end);
        body = b;
        if (head.expectContinue && head.minor === 1) this.write(CONTINUE);
      }
      this.handler({
        head,
        body,
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
