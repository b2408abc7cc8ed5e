// HTTP/2 downstream (h2c with prior knowledge, or h2 negotiated by ALPN): each stream becomes a request through the
// same filter chain; gRPC requests get gRPC-style local replies (trailers-only, grpc-status).
import {
  constants,
  createServer,
  type Http2Server,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from "node:http2";
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import type { Downstream, DownstreamRequest } from "../downstream.js";
import { connectionOf } from "../connection.js";
import { ChunkedScanner } from "../http1/parse.js";
import type { ResponseHead } from "../http/head.js";
import { MAX_BODY_BYTES } from "../http1/server.js";
import { flatHeaders, toHttp2Headers } from "./upstream.js";
import { StreamWriter } from "./write.js";
import { grpcStatusOf } from "../local.js";
import { isGrpc } from "../grpc-timeout.js";
import { PLAINTEXT_PEER, peerOf, type DownstreamPeer } from "../peer.js";

/** Streams this side reset (anything else that closes with an error code was reset by the peer). */
const resetHere = new WeakSet<ServerHttp2Stream>();

function resetStream(stream: ServerHttp2Stream, code: number): void {
  resetHere.add(stream);
  stream.close(code);
}

/** stream.respond, or a reset when the headers are unacceptable to HTTP/2 (never an exception out of the engine). */
function respond(
  stream: ServerHttp2Stream,
  headers: OutgoingHttpHeaders,
  opts: { endStream?: boolean; waitForTrailers?: boolean },
): boolean {
  try {
    stream.respond(headers, opts);
    return true;
  } catch {
    resetStream(stream, constants.NGHTTP2_INTERNAL_ERROR);
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
  private readonly out: StreamWriter;

  constructor(
    private readonly stream: ServerHttp2Stream,
    private readonly grpc: boolean,
  ) {
    this.out = new StreamWriter(stream);
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
      out["grpc-status"] ??= String(grpcStatusOf(status)); // a reply may name its own (a duration timeout's is 4)
      out["grpc-message"] = encodeURIComponent(typeof body === "string" ? body : body.toString());
      respond(this.stream, out, { endStream: true });
      return;
    }
    const len = typeof body === "string" ? Buffer.byteLength(body) : body.length;
    if (respond(this.stream, toHttp2Headers(headers, { ":status": status }), { endStream: len === 0 }) && len) {
      this.out.write(body);
      this.out.end();
    }
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
          resetStream(this.stream, constants.NGHTTP2_INTERNAL_ERROR);
        }
      });
    }
    respond(this.stream, toHttp2Headers(headers, { ":status": head.status }), { waitForTrailers: wantTrailers });
  }

  body(chunk: Buffer): boolean {
    if (this.isClosed) return true;
    if (!this.scanner) return this.out.write(chunk);
    let ok = true;
    this.scanner.scan(chunk, 0, chunk.length, (a, b) => (ok = this.out.write(chunk.subarray(a, b))));
    return ok;
  }

  end(trailers: string[] | undefined, _closeAfter: boolean): void {
    this.finished = true;
    this.trailers = trailers;
    if (!this.isClosed) this.out.end();
  }

  reset(): void {
    this.finished = true;
    if (!this.isClosed) resetStream(this.stream, constants.NGHTTP2_INTERNAL_ERROR);
  }
}

/** The HTTP/2 counters, by Envoy's names (`http2.*` in its codec stats, and the HCM's premature-reset counter). */
export type H2Stat = "http2.rx_reset" | "http2.tx_reset" | "downstream_rq_too_many_premature_resets";

export interface H2Options {
  /** SETTINGS_MAX_CONCURRENT_STREAMS (Envoy's http2_protocol_options.max_concurrent_streams; Istio's 100). */
  maxConcurrentStreams?: number;
  /** Envoy's `overload.premature_reset_total_stream_count` (500): see PrematureResets. */
  prematureResetTotalStreamCount?: number;
  /** Envoy's `overload.premature_reset_min_stream_lifetime_seconds` (1 s), in ms. */
  prematureResetMinStreamLifetimeMs?: number;
  /** How often an idle-or-not session must answer a PING (see keepalive()). */
  keepaliveMs?: number;
  count?: (stat: H2Stat) => void;
}

export const H2_DEFAULTS = {
  maxConcurrentStreams: 100,
  prematureResetTotalStreamCount: 500,
  prematureResetMinStreamLifetimeMs: 1000,
  keepaliveMs: 5000,
} as const;

/**
 * Rapid reset (CVE-2023-44487) as Envoy counts it (ConnectionManagerImpl::maybeDrainDueToPrematureResets): a stream
 * the client resets within the minimum lifetime is premature. Once `total` streams have closed on a connection, it is
 * closed when at least half of them were premature; before that, as soon as premature resets reach half of `total`.
 */
export class PrematureResets {
  private closed = 0;
  private premature = 0;
  constructor(private readonly total: number) {}

  /** Counts a closed stream; true when the connection must now be closed. */
  close(premature: boolean): boolean {
    this.closed++;
    if (premature) this.premature++;
    if (this.closed < this.total) return this.premature * 2 >= this.total;
    return this.premature * 2 >= this.closed;
  }
}

export class H2Listener {
  private readonly server: Http2Server;
  private readonly sessions = new Map<
    ServerHttp2Session,
    { socket: Socket; resets: PrematureResets; peer: DownstreamPeer }
  >();
  private draining = false;
  private incoming: Socket | undefined;
  private readonly opts: Required<Omit<H2Options, "count">>;
  private readonly count: (stat: H2Stat) => void;

  constructor(onRequest: (req: DownstreamRequest) => void, opts: H2Options = {}) {
    this.opts = {
      ...H2_DEFAULTS,
      ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)),
    } as Required<Omit<H2Options, "count">>;
    this.count = opts.count ?? (() => undefined);
    // maxSessionRejectedStreams: streams refused for going over max_concurrent_streams before Node ends the session.
    this.server = createServer({
      settings: { maxConcurrentStreams: this.opts.maxConcurrentStreams },
      maxSessionRejectedStreams: 100,
    });
    this.server.on("session", (s: ServerHttp2Session) => {
      const socket = this.incoming as Socket; // emitted synchronously from take()
      this.sessions.set(s, {
        socket,
        resets: new PrematureResets(this.opts.prematureResetTotalStreamCount),
        peer: peerOf(socket),
      });
      // A session that ends for any reason (GOAWAY, a bad HPACK block, a protocol error, the peer's FIN) takes its
      // socket with it: Node's http2 leaves it open otherwise, and the connection sits in CLOSE-WAIT for ever.
      s.once("close", () => {
        this.sessions.delete(s);
        socket.destroy();
      });
      s.on("error", () => {
        s.destroy();
        socket.destroy();
      });
      s.on("frameError", () => undefined);
      this.keepalive(s, socket);
      if (this.draining) s.close();
    });
    this.server.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) =>
      this.onStream(stream, headers, onRequest),
    );
  }

  /** Serves HTTP/2 on a connection (its first bytes already pushed back onto it). */
  take(socket: Socket): void {
    this.incoming = socket;
    try {
      this.server.emit("connection", socket);
    } finally {
      this.incoming = undefined;
    }
  }

  get size(): number {
    return this.sessions.size;
  }

  /** GOAWAY on every session: streams in flight finish, new ones go to a new connection. */
  drain(): void {
    this.draining = true;
    for (const s of this.sessions.keys()) s.close();
  }

  /**
   * After a fatal protocol error (a bad HPACK block, say) nghttp2 sends GOAWAY and stops reading, and Node neither
   * closes the session nor sees the peer's FIN: the socket would sit in CLOSE-WAIT for ever. So each session is
   * pinged every `keepaliveMs`, like Envoy's http2_protocol_options.connection_keepalive; one that hasn't answered the
   * previous ping by the next is dead, and its socket is destroyed.
   */
  private keepalive(s: ServerHttp2Session, socket: Socket): void {
    let waiting = false;
    const timer = setInterval(() => {
      if (waiting) {
        s.destroy();
        socket.destroy();
        return;
      }
      waiting = true;
      try {
        s.ping((err) => (waiting = err !== null));
      } catch {
        s.destroy();
        socket.destroy();
      }
    }, this.opts.keepaliveMs).unref();
    s.once("close", () => clearInterval(timer));
  }

  /** Counts a closed stream's reset, and closes a connection that resets too many streams too early. */
  private onStreamClose(stream: ServerHttp2Stream, session: ServerHttp2Session, born: number): void {
    const code = stream.rstCode ?? constants.NGHTTP2_NO_ERROR;
    const byPeer = code !== constants.NGHTTP2_NO_ERROR && !resetHere.has(stream);
    if (code !== constants.NGHTTP2_NO_ERROR) this.count(byPeer ? "http2.rx_reset" : "http2.tx_reset");
    const entry = this.sessions.get(session);
    if (!entry) return;
    const premature = byPeer && performance.now() - born < this.opts.prematureResetMinStreamLifetimeMs;
    if (entry.resets.close(premature) && !session.destroyed) {
      this.count("downstream_rq_too_many_premature_resets");
      session.destroy();
      entry.socket.destroy();
    }
  }

  private onStream(
    stream: ServerHttp2Stream,
    h: IncomingHttpHeaders,
    onRequest: (req: DownstreamRequest) => void,
  ): void {
    stream.on("error", () => undefined);
    const born = performance.now();
    const session = stream.session as ServerHttp2Session; // set while the stream is open
    stream.once("close", () => this.onStreamClose(stream, session, born));
    const parts: Buffer[] = [];
    let size = 0;
    stream.on("data", (d: Buffer) => {
      size += d.length;
      if (size > MAX_BODY_BYTES) resetStream(stream, constants.NGHTTP2_REFUSED_STREAM);
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
        connection: connectionOf((this.sessions.get(session) as { socket: Socket }).socket),
        peer: this.sessions.get(session)?.peer ?? PLAINTEXT_PEER,
        down: new H2Response(stream, isGrpc(contentType)),
      });
    });
  }
}
