// HTTP/2 downstream (h2c with prior knowledge, or h2 negotiated by ALPN) on Weft's own codec (session.ts): each
// stream becomes a request through the same filter chain; gRPC requests get gRPC-style local replies (trailers-only,
// grpc-status).
import type { Socket } from "node:net";
import { performance } from "node:perf_hooks";
import type { AbortHandler, Downstream, DownstreamRequest, RequestTimeoutHandler } from "../downstream.js";
import type { RequestBody } from "../http/body.js";
import { connectionOf } from "../connection.js";
import { ChunkedScanner, reason } from "../http1/parse.js";
import { headerValue, type ResponseHead } from "../http/head.js";
import { MAX_HEAD_BYTES, MAX_HEADERS } from "../http1/syntax.js";
import type { HcmLimits } from "../config/types.js";
import { grpcStatusOf } from "../local.js";
import { isGrpc } from "../grpc-timeout.js";
import { peerOf } from "../peer.js";
import { Code } from "./frames.js";
import { responseFields, type H2RequestHead, type Refusal } from "./fields.js";
import { H2Session, type ClosedBy } from "./session.js";
import type { H2Stream } from "./stream.js";
import type { FloodStat } from "./output.js";

const EMPTY = Buffer.alloc(0);

/** The request bodies an HTTP/2 connection's streams may hold together are twice this (session.ts's budget). */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

class H2Response implements Downstream {
  readonly protocol = "h2";
  readonly closing = false;
  private scanner: ChunkedScanner | undefined;
  private wantTrailers = false;
  private finished = false;
  /** The response has no content (§8.1.1): body bytes are dropped, as node:http2's respond() ended such streams. */
  private bodiless = false;
  /**
   * A gRPC head with grpc-status in it, held until the response ends: gRPC's trailers-only response, one HEADERS
   * frame with END_STREAM. Sent without END_STREAM and then an empty DATA frame, gRPC clients take it for response
   * headers, ignore the status, and fail the call ("Call ended without gRPC status").
   */
  private trailersOnly: { status: number; headers: string[] } | undefined;
  private abortHandler: AbortHandler | undefined;

  /** `headRequest`: the request's method is HEAD. */
  constructor(
    private readonly stream: H2Stream,
    private readonly grpc: boolean,
    private readonly headRequest = false,
  ) {}

  /** HEAD's response and a 204's or 304's carry no content: DATA with any would be malformed, and clients reset it. */
  private noContent(status: number): boolean {
    return this.headRequest || status === 204 || status === 304;
  }

  get isClosed(): boolean {
    return this.stream.closed;
  }

  onAbort(handler: AbortHandler | undefined): void {
    this.abortHandler = handler;
    this.stream.onAbort = handler && this;
  }

  /** The stream closed before its end: the handler is told, unless the response was complete already. */
  downstreamAborted(): void {
    if (!this.finished) this.abortHandler?.downstreamAborted();
  }

  onDrain(fn: (() => void) | undefined): void {
    this.stream.onDrain = fn;
  }

  onRequestTimeout(handler: RequestTimeoutHandler | undefined): void {
    this.stream.onTimeout = handler;
  }

  /** HEADERS from `headers`, or a reset when a value can't travel on HTTP/2 (never an exception out of the engine). */
  private respond(status: number, headers: readonly string[], endStream: boolean): boolean {
    const fields = responseFields(status, headers);
    if (!fields) {
      this.stream.reset(Code.INTERNAL_ERROR);
      return false;
    }
    this.stream.respond(fields, endStream);
    return true;
  }

  reply(status: number, headers: string[], body: Buffer | string): void {
    this.finished = true;
    if (this.isClosed) return;
    if (this.grpc && status !== 200) {
      // gRPC clients read errors from grpc-status, not the HTTP status: a trailers-only response.
      const text = typeof body === "string" ? body : body.toString();
      const own = headers.indexOf("grpc-status"); // a reply may name its own (a duration timeout's is 4)
      const fields = [...headers, "content-type", "application/grpc"];
      if (own < 0 || own % 2) fields.push("grpc-status", String(grpcStatusOf(status)));
      fields.push("grpc-message", encodeURIComponent(text));
      this.respond(200, fields, true);
      return;
    }
    const data = this.noContent(status) ? EMPTY : typeof body === "string" ? Buffer.from(body) : body;
    if (this.respond(status, headers, data.length === 0) && data.length) {
      this.stream.write(data);
      this.stream.end();
    }
  }

  head(head: ResponseHead, headers: string[], _raw: Buffer | undefined): void {
    if (this.isClosed) return;
    this.scanner = head.chunked ? new ChunkedScanner() : undefined;
    this.wantTrailers = head.unframed === true && this.grpc;
    this.bodiless = this.noContent(head.status);
    if (this.wantTrailers && headerValue(headers, "grpc-status") !== undefined) {
      this.trailersOnly = { status: head.status, headers };
      return;
    }
    this.respond(head.status, headers, false);
  }

  /** The held head goes out after all (the response has content or trailers after it); false if it can't. */
  private headAfterAll(): boolean {
    const held = this.trailersOnly;
    this.trailersOnly = undefined;
    return !held || this.respond(held.status, held.headers, false);
  }

  body(chunk: Buffer): boolean {
    if (this.isClosed || this.bodiless) return true;
    if (!this.headAfterAll()) return true;
    if (!this.scanner) return this.stream.write(chunk);
    let ok = true;
    this.scanner.scan(chunk, 0, chunk.length, (a, b) => (ok = this.stream.write(chunk.subarray(a, b))));
    return ok;
  }

  end(trailers: string[] | undefined, _closeAfter: boolean): void {
    this.finished = true;
    if (this.isClosed) return;
    const held = this.trailersOnly;
    if (held && !trailers?.length) {
      this.trailersOnly = undefined;
      this.respond(held.status, held.headers, true);
      return;
    }
    if (!this.headAfterAll()) return;
    if (!this.wantTrailers || !trailers?.length) return this.stream.end();
    const fields = responseFields(undefined, trailers);
    if (fields) this.stream.end(fields);
    else this.stream.reset(Code.INTERNAL_ERROR);
  }

  reset(): void {
    this.finished = true;
    if (!this.isClosed) this.stream.reset(Code.INTERNAL_ERROR);
  }
}

/** The HTTP/2 counters, by Envoy's names (`http2.*` in its codec stats, and the HCM's premature-reset counter). */
export type H2Stat =
  "http2.rx_reset" | "http2.tx_reset" | `http2.${FloodStat}` | "downstream_rq_too_many_premature_resets";

export interface H2Options {
  /** SETTINGS_MAX_CONCURRENT_STREAMS (Envoy's http2_protocol_options.max_concurrent_streams; Istio's 100). */
  maxConcurrentStreams?: number;
  /** Envoy's `overload.premature_reset_total_stream_count` (500): see PrematureResets. */
  prematureResetTotalStreamCount?: number;
  /** Envoy's `overload.premature_reset_min_stream_lifetime_seconds` (1 s), in ms. */
  prematureResetMinStreamLifetimeMs?: number;
  /** How often a session must answer a PING (Envoy's connection_keepalive). */
  keepaliveMs?: number;
  /** The HCM's max_request_headers_kb, in bytes, and max_headers_count: over either, a 431. */
  maxHeadBytes?: number;
  maxHeaders?: number;
  count?: (stat: H2Stat) => void;
  /** The HCM's timeouts (checkTimers), and its counters by Envoy's names (downstream_rq_idle_timeout, …). */
  limits?: HcmLimits;
  countHttp?: (counter: string) => void;
}

export const H2_DEFAULTS = {
  maxConcurrentStreams: 100,
  prematureResetTotalStreamCount: 500,
  prematureResetMinStreamLifetimeMs: 1000,
  keepaliveMs: 5000,
  maxHeadBytes: MAX_HEAD_BYTES,
  maxHeaders: MAX_HEADERS,
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
  private readonly sessions = new Map<H2Session, PrematureResets>();
  private draining = false;
  private readonly opts: Required<Omit<H2Options, "count" | "limits" | "countHttp">>;
  private readonly count: (stat: H2Stat) => void;
  private readonly limits: HcmLimits | undefined;
  private readonly countHttp: (counter: string) => void;

  constructor(
    private readonly onRequest: (req: DownstreamRequest) => void,
    opts: H2Options = {},
  ) {
    this.opts = {
      ...H2_DEFAULTS,
      ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)),
    } as Required<Omit<H2Options, "count" | "limits" | "countHttp">>;
    this.count = opts.count ?? (() => undefined);
    this.limits = opts.limits;
    this.countHttp = opts.countHttp ?? (() => undefined);
  }

  /** Every session's timeouts (the listener's sweep). */
  checkTimers(now: number): void {
    const l = this.limits;
    if (l) for (const s of this.sessions.keys()) s.checkTimers(now, l, this.countHttp);
  }

  /** Serves HTTP/2 on a connection (its first bytes, if read already, pushed back onto it). */
  take(socket: Socket): void {
    const o = this.opts;
    const peer = peerOf(socket);
    const resets = new PrematureResets(o.prematureResetTotalStreamCount);
    const session: H2Session = new H2Session(
      socket,
      {
        maxConcurrentStreams: o.maxConcurrentStreams,
        maxBodyBytes: MAX_BODY_BYTES,
        keepaliveMs: o.keepaliveMs,
        maxBytes: o.maxHeadBytes,
        maxHeaders: o.maxHeaders,
      },
      {
        request: (stream, head) => this.serve(socket, peer, stream, head),
        streamClosed: (stream, code, by) => this.onStreamClose(session, resets, stream, code, by),
        closed: () => this.sessions.delete(session),
        flooded: (stat) => this.count(`http2.${stat}`),
      },
    );
    this.sessions.set(session, resets);
    if (this.draining) session.drain();
  }

  get size(): number {
    return this.sessions.size;
  }

  /**
   * GOAWAY on every session (or on those whose socket `only` picks): streams in flight finish, new ones go to a new
   * connection.
   */
  drain(only?: (socket: Socket) => boolean): void {
    if (!only) this.draining = true;
    for (const s of this.sessions.keys()) if (!only || only(s.socket)) s.drain();
  }

  /**
   * Counts a closed stream's reset, and closes a connection that resets too many streams too early. A stream this
   * side reset before answering is premature too (Envoy counts any stream closed early without a response): a client
   * can have it reset one as cheaply as reset it itself, with a WINDOW_UPDATE of 0 or DATA after END_STREAM.
   */
  private onStreamClose(session: H2Session, resets: PrematureResets, s: H2Stream, code: Code, by: ClosedBy): void {
    if (by === "gone") return;
    const byPeer = by === "peer";
    if (code !== Code.NO_ERROR) this.count(byPeer ? "http2.rx_reset" : "http2.tx_reset");
    const early = performance.now() - s.born < this.opts.prematureResetMinStreamLifetimeMs;
    // REFUSED_STREAM is not the client's doing (streams over a limit, bodies over the connection's budget), and it
    // costs the client the upload that made it: those refusals are not counted.
    const premature = early && (byPeer || (by === "here" && !s.headersSent && code !== Code.REFUSED_STREAM));
    if (resets.close(premature) && !session.socket.destroyed) {
      this.count("downstream_rq_too_many_premature_resets");
      session.destroy();
    }
  }

  private serve(socket: Socket, peer: DownstreamRequest["peer"], stream: H2Stream, h: H2RequestHead | Refusal): void {
    if ("malformed" in h) return stream.reset(Code.PROTOCOL_ERROR);
    if ("status" in h) {
      const res = new H2Response(stream, false);
      res.reply(h.status, ["content-type", "text/plain"], `${reason(h.status)}\n`);
      return;
    }
    const q = h.path.indexOf("?");
    const body = stream.body as RequestBody;
    const grpc = isGrpc(contentType(h.headers));
    this.onRequest({
      head: {
        method: h.method,
        target: h.path,
        path: q < 0 ? h.path : h.path.slice(0, q),
        query: q < 0 ? "" : h.path.slice(q + 1),
        minor: 1,
        headers: h.headers,
        host: h.authority || hostField(h.headers),
        contentLength: body.ended ? body.received : h.contentLength,
        chunked: false,
        keepAlive: true,
        expectContinue: false,
      },
      body,
      remoteAddress: socket.remoteAddress ?? "",
      connection: connectionOf(socket),
      peer,
      down: new H2Response(stream, grpc, h.method === "HEAD"),
    });
  }
}

function contentType(headers: readonly string[]): string {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === "content-type") return headers[i + 1] as string;
  return "";
}

function hostField(headers: readonly string[]): string {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === "host") return headers[i + 1] as string;
  return "";
}
