// HTTP/2 downstream (h2c with prior knowledge, or h2 negotiated by ALPN): each stream becomes a request through the
// same filter chain; gRPC requests get gRPC-style local replies (trailers-only, grpc-status).
import {
  constants, createServer, type Http2Server, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream,
} from "node:http2";
import type { Socket } from "node:net";
import type { Downstream, DownstreamRequest } from "../downstream.js";
import { ChunkedScanner, type ResponseHead } from "../http1/parse.js";
import { MAX_BODY_BYTES } from "../http1/server.js";
import { flatHeaders, toHttp2Headers } from "./upstream.js";
import { grpcStatusOf } from "../local.js";

/** stream.respond, or a reset when the headers are unacceptable to HTTP/2 (never an exception out of the engine). */
function respond(stream: ServerHttp2Stream, headers: OutgoingHttpHeaders, opts: { endStream?: boolean; waitForTrailers?: boolean }): boolean {
  try {
    stream.respond(headers, opts);
    return true;
  } catch {
    stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    return false;
  }
}

class H2Response implements Downstream {
  readonly protocol = "h2";
  readonly closing = false;
  private scanner: ChunkedScanner | undefined;
  private trailers: string[] | undefined;
  private finished = false;
  private abortFn: (() => void) | undefined;

  constructor(
    private readonly stream: ServerHttp2Stream,
    private readonly grpc: boolean,
  ) {
    stream.once("close", () => {
      if (!this.finished) this.abortFn?.();
    });
  }

  get isClosed(): boolean {
    return this.stream.closed || this.stream.destroyed;
  }

  onAbort(fn: (() => void) | undefined): void {
    this.abortFn = fn;
  }

  onDrain(fn: (() => void) | undefined): void {
    this.stream.removeAllListeners("drain");
    if (fn) this.stream.once("drain", fn);
  }

  reply(status: number, headers: string[], body: Buffer | string): void {
    this.finished = true;
    if (this.isClosed) return;
    if (this.grpc && status !== 200) {
      // gRPC clients read errors from grpc-status, not the HTTP status: a trailers-only response.
      const out = toHttp2Headers(headers, { ":status": 200 });
      out["content-type"] = "application/grpc";
      out["grpc-status"] = String(grpcStatusOf(status));
      out["grpc-message"] = encodeURIComponent(typeof body === "string" ? body : body.toString());
      respond(this.stream, out, { endStream: true });
      return;
    }
    const len = typeof body === "string" ? Buffer.byteLength(body) : body.length;
    if (respond(this.stream, toHttp2Headers(headers, { ":status": status }), { endStream: len === 0 }) && len) this.stream.end(body);
  }

  head(head: ResponseHead, headers: string[], _raw: Buffer | undefined): void {
    if (this.isClosed) return;
    this.scanner = head.chunked ? new ChunkedScanner() : undefined;
    const wantTrailers = head.unframed === true && this.grpc;
    if (wantTrailers) {
      this.stream.once("wantTrailers", () => {
        try {
          this.stream.sendTrailers(toHttp2Headers(this.trailers ?? [], {}));
        } catch {
          this.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
        }
      });
    }
    respond(this.stream, toHttp2Headers(headers, { ":status": head.status }), { waitForTrailers: wantTrailers });
  }

  body(chunk: Buffer): boolean {
    if (this.isClosed) return true;
    if (!this.scanner) return this.stream.write(chunk);
    let ok = true;
    this.scanner.scan(chunk, 0, chunk.length, (a, b) => (ok = this.stream.write(chunk.subarray(a, b))));
    return ok;
  }

  end(trailers: string[] | undefined, _closeAfter: boolean): void {
    this.finished = true;
    this.trailers = trailers;
    if (!this.isClosed) this.stream.end();
  }

  reset(): void {
    this.finished = true;
    if (!this.isClosed) this.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
  }
}

export class H2Listener {
  private readonly server: Http2Server;
  private readonly sessions = new Set<ServerHttp2Session>();
  private draining = false;

  constructor(onRequest: (req: DownstreamRequest) => void) {
    this.server = createServer();
    this.server.on("session", (s: ServerHttp2Session) => {
      this.sessions.add(s);
      s.once("close", () => this.sessions.delete(s));
      s.on("error", () => undefined);
      if (this.draining) s.close();
    });
    this.server.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => this.onStream(stream, headers, onRequest));
  }

  /** Serves HTTP/2 on a connection (its first bytes already pushed back onto it). */
  take(socket: Socket): void {
    this.server.emit("connection", socket);
  }

  get size(): number {
    return this.sessions.size;
  }

  /** GOAWAY on every session: streams in flight finish, new ones go to a new connection. */
  drain(): void {
    this.draining = true;
    for (const s of this.sessions) s.close();
  }

  private onStream(stream: ServerHttp2Stream, h: IncomingHttpHeaders, onRequest: (req: DownstreamRequest) => void): void {
    stream.on("error", () => undefined);
    const parts: Buffer[] = [];
    let size = 0;
    stream.on("data", (d: Buffer) => {
      size += d.length;
      if (size > MAX_BODY_BYTES) stream.close(constants.NGHTTP2_REFUSED_STREAM);
      else parts.push(d);
    });
    stream.once("end", () => {
      const target = String(h[":path"] ?? "/");
      const q = target.indexOf("?");
      const headers = flatHeaders(h);
      const contentType = String(h["content-type"] ?? "");
      const body = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
      onRequest({
        head: {
          method: String(h[":method"] ?? "GET"),
          target,
          path: q < 0 ? target : target.slice(0, q),
          query: q < 0 ? "" : target.slice(q + 1),
          minor: 1,
          headers,
          host: String(h[":authority"] ?? h.host ?? ""),
          contentLength: body.length,
          chunked: false,
          keepAlive: true,
          expectContinue: false,
        },
        body,
        remoteAddress: stream.session?.socket?.remoteAddress ?? "",
        down: new H2Response(stream, contentType.startsWith("application/grpc")),
      });
    });
  }
}
