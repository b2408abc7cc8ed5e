// HTTP/2 upstreams (gRPC backends, http2_protocol_options): a host's connections on Weft's own codec (client.ts), a
// stream per request (H2Link).
import { headerValue } from "../http/head.js";
import { MAX_HEAD_BYTES, MAX_HEADERS } from "../http1/syntax.js";
import type { Exchange, UpstreamLink, UpstreamRequest } from "../link.js";
import { dial, type DialFailure, type DialOptions } from "../dial.js";
import { requestFields } from "./fields.js";
import { isGrpc } from "../grpc-timeout.js";
import { H2Client } from "./client.js";
import { ClientCall } from "./call.js";
import type { FloodStat } from "./output.js";

/** An upstream connection with no bytes from its peer for this long is sent a PING; unanswered by the next, closed. */
const KEEPALIVE_MS = 10_000;

/** What a host's pool needs of its cluster. */
export interface PoolOwner {
  dialOptions(): DialOptions;
  /** Whether one more connection stays within the cluster's max_connections. */
  underConnectionLimit(): boolean;
  /** A connection opens (+1) or closes (-1), and how one that never became HTTP/2 failed. */
  connection(delta: 1 | -1, failed?: DialFailure): void;
  /** The cluster's idle_timeout (0: none), and a connection drained for it. */
  idleTimeoutMs(): number;
  idleTimeout(): void;
  /** The cluster's max_requests_per_connection (0: none), and a connection drained for it. */
  maxRequestsPerConnection(): number;
  maxRequestsReached(): void;
  /** The cluster's max_concurrent_streams (under the peer's SETTINGS), and max_connection_duration (0: none). */
  maxConcurrentStreams(): number;
  maxConnectionDurationMs(): number;
  maxDurationReached(): void;
  /** A request starts (+1) or stops (-1) waiting for a stream on a full connection (`cancelled`: given up). */
  pending(delta: 1 | -1, cancelled?: boolean): void;
  /** A connection closed for the upstream's flood (`http2.<stat>`). */
  flooded(stat: FloodStat): void;
}

/**
 * One host's HTTP/2 connections. As Envoy's pool: a request gets a stream on a connection with room under the peer's
 * SETTINGS_MAX_CONCURRENT_STREAMS; when none has room, a new connection opens while the cluster's max_connections
 * allows (a host with none always gets one), else the request waits on the least busy connection for a stream to
 * close. Envoy does this rather than queue behind a full connection because a peer's limit is that connection's,
 * not the host's: a second connection serves at once what one would hold back. A connection that got or sent GOAWAY,
 * or is closing, leaves the pool at once, so new requests never queue behind it.
 */
export class H2Pool {
  private readonly clients: H2Client[] = [];
  /** Connections open or opening, those that left the pool but still finish their streams included. */
  private live = 0;

  constructor(
    private readonly address: string,
    private readonly port: number,
    private readonly owner: PoolOwner,
  ) {}

  /** Connections open or opening (a host with any is kept). */
  get size(): number {
    return this.live;
  }

  /**
   * A stream for the next request; undefined when it would wait for one (every connection full and no other may open:
   * a pending request) and `mayWait` says it may not (max_pending_requests). The connection is picked once.
   */
  link(mayWait: () => boolean): H2Link | undefined {
    const c = this.pick();
    if (c && !c.hasRoom && !mayWait()) return undefined;
    return new H2Link(c ?? this.open());
  }

  /** A connection with room, else the least busy one when no other may open, else none (open one). */
  private pick(): H2Client | undefined {
    let best: H2Client | undefined;
    for (const c of this.clients) {
      if (!c.usable) continue;
      if (c.hasRoom) return c;
      if (!best || c.load < best.load) best = c;
    }
    return best && !this.owner.underConnectionLimit() ? best : undefined;
  }

  /** GOAWAY on every connection: streams in flight finish, and each closes after its last. */
  close(): void {
    for (const c of this.clients.splice(0)) c.drain();
  }

  private open(): H2Client {
    const o = this.owner.dialOptions();
    const tls = o.tls && { ...o.tls, alpn: o.tls.alpn.length ? o.tls.alpn : ["h2"] };
    let client: H2Client | undefined = undefined;
    const socket = dial(this.address, this.port, { ...o, tls }, (err) => {
      if (!err) client?.connect();
      else client?.connectFailed(err);
    });
    const c = new H2Client(
      socket,
      tls !== undefined,
      {
        keepaliveMs: KEEPALIVE_MS,
        idleTimeoutMs: this.owner.idleTimeoutMs(),
        settingsTimeoutMs: o.connectTimeoutMs,
        maxRequests: this.owner.maxRequestsPerConnection(),
        maxStreams: this.owner.maxConcurrentStreams(),
        maxDurationMs: this.owner.maxConnectionDurationMs(),
        maxBytes: MAX_HEAD_BYTES,
        maxHeaders: MAX_HEADERS,
      },
      {
        draining: () => this.leave(c),
        idle: () => this.owner.idleTimeout(),
        maxRequests: () => this.owner.maxRequestsReached(),
        maxDuration: () => this.owner.maxDurationReached(),
        pending: (delta, cancelled) => this.owner.pending(delta, cancelled),
        flooded: (stat) => this.owner.flooded(stat),
        closed: (failed) => {
          this.leave(c);
          this.live--;
          this.owner.connection(-1, failed);
        },
      },
    );
    client = c;
    this.live++;
    this.owner.connection(1);
    this.clients.push(c);
    return c;
  }

  private leave(c: H2Client): void {
    const i = this.clients.indexOf(c);
    if (i >= 0) this.clients.splice(i, 1);
  }
}

/** One request's stream on a connection. */
export class H2Link implements UpstreamLink {
  readonly requests = 1;
  private call: ClientCall | undefined;

  constructor(private readonly client: H2Client) {}

  send(req: UpstreamRequest, exchange: Exchange, noBody: boolean): void {
    const scheme = this.client.secure ? "https" : "http";
    const authority = headerValue(req.headers, "host") ?? "";
    const fields = requestFields(req.method, scheme, authority, req.path, req.headers);
    // A value HTTP forbids (a filter's doing): never sent.
    if (!fields) return exchange.onError("protocol", false);
    // gRPC asks for te: trailers, and gRPC's C core (its C++, Python and Ruby servers) refuses a call without it. The
    // client's te is hop-by-hop and dropped with the rest, so the proxy says it, as Envoy does for gRPC.
    if (isGrpc(headerValue(req.headers, "content-type"))) fields.push("te", "trailers");
    this.call = new ClientCall(fields, req.body, noBody, exchange);
    this.client.start(this.call);
  }

  abort(): void {
    if (this.call) this.client.cancel(this.call);
    this.call = undefined;
  }

  discard(): void {
    this.abort(); // a stream is cheap: cancel it rather than read the rest
  }

  pause(): void {
    if (this.call) this.call.paused = true;
  }

  resume(): void {
    if (this.call) this.client.resume(this.call);
  }
}
