// The router filter's upstream work for one request (Envoy's router::Filter and its UpstreamRequest): the cluster by
// weight, the circuit breakers, the upstream head (built once, reused by retries), mirrors (shadow.ts), the route
// timeout, and attempts: a host, a pooled or new connection, a per-try timeout, retries with backoff, outlier records.
// The response goes back through the stream (stream.ts), which owns the client's side, local replies and the stats.
import type { Socket } from "node:net";
import type { ForwardAction, HeaderEdits, RetryPolicy, Route } from "./config/types.js";
import type { ClusterRuntime } from "./cluster.js";
import type { Host } from "./cluster-host.js";
import type { DownstreamRequest } from "./downstream.js";
import { headerValue, type ResponseHead } from "./http/head.js";
import type { Exchange, UpstreamFailure, UpstreamLink, UpstreamRequest } from "./link.js";
import type { LocalFlag } from "./local.js";
import { backoffMs, retriableFailure, retriableStatus } from "./retry.js";
import { PreviousPriorities } from "./lb/previous-priorities.js";
import { rewritePath, setHeader } from "./router/index.js";
import { MAX_TIMER_MS, routeTimeoutMs } from "./grpc-timeout.js";
import { requestHash, type CookieMaker } from "./router/hash.js";
import { REQUESTS, RETRIES } from "./shared-counts.js";
import type { Stream } from "./stream.js";
import { startSpan, type TraceIds } from "./tracing/context.js";
import { sendShadow } from "./shadow.js";
import { clearDeadline, hasDeadline, setDeadline, type Timed } from "./deadlines.js";
import { randomHex, shadowHost, upstreamRequest } from "./upstream-head.js";
import { expectTimeout, overloaded, retryHead, timeLeftMs } from "./router-headers.js";

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

export class Forward implements Exchange, CookieMaker, Timed {
  /** The cluster picked (for the access log and metrics), even one that doesn't exist. */
  clusterName = "";
  /** The response header edits, most specific first: the weighted cluster's, the route's, the vhost's, the RDS's. */
  levels: (HeaderEdits | undefined)[] = [];
  /** The upstream head as sent (the last attempt's). */
  upstream: UpstreamRequest | undefined;
  /** Retries made. */
  retries = 0;
  /**
   * A sticky cookie's connection key (router/hash.ts): the remote and local addresses with their ports, as Envoy
   * hashes them, so clients behind one load balancer's address don't all get one cookie, one host.
   */
  cookieConnection(): string {
    const c = this.req.connection;
    return `${c.remoteIp}:${c.remotePort}|${c.localIp}:${c.localPort}`;
  }

  setCookie(header: string): void {
    this.stream.addResponseHeaders(["set-cookie", header]);
  }

  /** The last host tried. */
  lastHost: Host | undefined;
  /** With a tracer: this request's span. */
  trace: TraceIds | undefined;
  private cluster: ClusterRuntime | undefined;
  private committed = false;
  private closeAfter = false;
  private retry: RetryPolicy | undefined;
  private retryCounted = false;
  private hash: number | undefined;
  private tried: Set<string> | undefined;
  /** retry_priority previous_priorities: the priorities tried, which retries leave out. */
  private priorities: PreviousPriorities | undefined;
  private host: Host | undefined;
  private conn: UpstreamLink | undefined;
  private cancelAcquire: (() => void) | undefined;
  // The route timeout (deadlines.ts owns these).
  deadlineAt = 0;
  deadlinePrev: Timed | undefined;
  deadlineNext: Timed | undefined;
  deadlineTimer: NodeJS.Timeout | undefined;
  private tryTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private transparentRetry = false;
  private requestCounted = false;
  /** The route timeout, started once the request is whole. */
  private timeoutMs = 0;
  /** When the request was whole, for the router's x-envoy-* headers (-1: not yet, or they are suppressed). */
  private completeAt = -1;

  constructor(
    private readonly stream: Stream,
    private readonly req: DownstreamRequest,
    private readonly route: Route,
  ) {}

  private get ctx() {
    return this.stream.ctx;
  }

  private local(status: number, flag: LocalFlag, extra?: string[]): void {
    this.stream.sendLocalReply(status, flag, extra);
  }

  /** `clusterName`: the route's cluster, or the weighted cluster drawn when the route matched. */
  start(a: ForwardAction, clusterName: string): void {
    this.clusterName = clusterName;
    const cluster = this.ctx.clusters.get(clusterName);
    if (!cluster) return this.local(503, "NC");
    // A WebSocket upgrade goes over HTTP/1.1 only (extended CONNECT to an HTTP/2 upstream isn't implemented).
    if (this.stream.upgrade && cluster.config.http2) return this.stream.refuseUpgrade();
    this.cluster = cluster;
    this.levels = [this.stream.weighted?.edits, this.route.edits, this.stream.vh?.edits, this.stream.rc?.edits];
    if (cluster.usage.total(REQUESTS) >= cluster.config.breakers.maxRequests) {
      cluster.counters.upstream_rq_pending_overflow++; // Envoy counts the max_requests breaker here too
      return this.local(503, "UO", overloaded(this.stream.hcm.suppressEnvoyHeaders));
    }
    cluster.usage.add(REQUESTS, 1);
    cluster.counters.upstream_rq_total++;
    this.requestCounted = true;
    this.upstream = this.buildRequest(a);
    const vh = this.stream.vh;
    if (vh?.attemptCount) setHeader(this.upstream.headers, "x-envoy-attempt-count", "1");
    this.retry = a.retry ?? vh?.retry;
    if (this.retry?.previousHosts) this.tried = new Set();
    if (this.retry?.previousPriorities) this.priorities = new PreviousPriorities(this.retry.previousPriorities);
    if (a.hashPolicy.length) {
      this.hash = requestHash(
        a.hashPolicy,
        this.stream.view,
        this.stream.view.remoteIp ?? this.req.remoteAddress,
        this,
      );
    }
    const timeoutMs = routeTimeoutMs(a, this.stream.view);
    const limit = this.route.bufferLimit ?? vh?.bufferLimit;
    if (limit !== undefined) this.req.body.setLimit(limit);
    if (!this.req.body.replayable && (this.retry || a.mirrors.length)) cluster.counters.retry_or_shadow_abandoned++;
    else if (!this.req.body.ended) this.req.body.onOverflow = () => this.onBodyOverflow();
    // An upgrade isn't mirrored: a shadow can't take part in the tunnel.
    if (!this.stream.upgrade)
      for (const m of a.mirrors)
        if (m.fraction >= 1 || this.ctx.random() < m.fraction)
          sendShadow(this.ctx.clusters.get(m.cluster), this.ctx.random, this.req, timeoutMs, (body) =>
            this.buildRequest(a, shadowHost(this.req.head.host), body),
          );
    // As Envoy's router (onRequestComplete), the route timeout and each try's count from the request's end: a
    // client-streaming call may take longer to send than its answer may take.
    this.timeoutMs = timeoutMs;
    if (!this.stream.hcm.suppressEnvoyHeaders) {
      expectTimeout(this.upstream, timeoutMs, this.retry?.perTryTimeoutMs ?? 0);
      if (this.req.body.ended) this.completeAt = performance.now();
    }
    if (!this.req.body.ended) this.req.body.onEnd = () => this.requestComplete();
    else if (timeoutMs > 0) setDeadline(this, Math.min(timeoutMs, MAX_TIMER_MS));
    this.attempt();
  }

  /** The request's last byte came: the route timeout starts, and the per-try timeout of the attempt sending it. */
  private requestComplete(): void {
    if (this.stream.finished) return;
    if (!this.stream.hcm.suppressEnvoyHeaders) this.completeAt = performance.now();
    const ms = this.timeoutMs;
    if (ms > 0 && !hasDeadline(this)) setDeadline(this, Math.min(ms, MAX_TIMER_MS));
    if (this.conn && !this.committed && !this.tryTimer) this.startTryTimer();
  }

  private startTryTimer(): void {
    const ms = this.retry?.perTryTimeoutMs ?? 0;
    if (ms > 0) this.tryTimer = setTimeout(() => this.onTryTimeout(), ms);
  }

  private buildRequest(a: ForwardAction, hostOverride?: string, body = this.req.body): UpstreamRequest {
    const head = this.req.head;
    const hcm = this.stream.hcm;
    if (hcm.tracer) this.trace ??= startSpan(head.headers, hcm.samplingPercent, this.ctx.random, randomHex);
    const req = upstreamRequest(head, body, {
      span: this.trace,
      path: rewritePath(a, this.route, head.path, head.query) ?? head.target,
      levels: this.levels,
      host: hostOverride ?? a.hostRewrite,
      appendXfh: hostOverride === undefined && a.appendXForwardedHost,
      requestId: hcm.generateRequestId,
      tracing: this.ctx.tracing,
      sampled: hcm.samplingPercent >= 100 || this.ctx.random() * 100 < hcm.samplingPercent,
      tls: this.req.peer.tls,
    });
    if (this.stream.upgrade) {
      // Upgrade and Connection are hop-by-hop, dropped above: an upgrade keeps them, for this hop.
      req.headers.push("upgrade", headerValue(head.headers, "upgrade") as string, "connection", "Upgrade");
      req.upgrade = true;
    }
    return req;
  }

  /**
   * The body outgrew the replay limit (Envoy's retry_shadow_buffer_limit): no retry can replay it, so none will be
   * made. A retry waiting for its backoff, with no attempt in flight, can't go: 507, as Envoy answers.
   */
  private onBodyOverflow(): void {
    const a = this.route.action as ForwardAction;
    if (this.cluster && (this.retry || a.mirrors.length)) this.cluster.counters.retry_or_shadow_abandoned++;
    if (this.retryTimer && !this.conn && !this.host && !this.stream.finished) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.stream.respond(507, ["content-type", "text/plain"], "exceeded request buffer limit while retrying upstream");
    }
  }

  /** One try at an upstream host; `fresh`: on a new connection, not a pooled one. */
  private attempt(fresh = false): void {
    const cluster = this.cluster as ClusterRuntime;
    const odh = cluster.config.originalDstHeader;
    const dst = odh ? this.stream.view.header(odh) : this.req.originalDst;
    const host =
      cluster.config.type === "ORIGINAL_DST"
        ? cluster.originalHost(dst)
        : cluster.pick(this.hash, this.ctx.random, this.tried, this.priorities);
    if (!host) return this.local(503, "UH");
    this.host = host;
    this.tried?.add(host.key);
    this.priorities?.attempted(host.priority);
    host.active++;
    // An upgrade always gets a connection of its own: it becomes the tunnel, or is closed after the response.
    const r = cluster.acquire(
      host,
      (conn, err) => this.onConnection(host, conn, err),
      fresh || this.stream.upgrade,
      this.req.down.protocol === "h2",
    );
    if (r === "overflow") {
      this.endAttempt();
      return this.local(503, "UO", overloaded(this.stream.hcm.suppressEnvoyHeaders));
    }
    if (this.host === host && !this.conn) this.cancelAcquire = r;
  }

  private onConnection(host: Host, conn: UpstreamLink | undefined, err: UpstreamFailure | undefined): void {
    this.cancelAcquire = undefined;
    if (this.stream.finished || this.host !== host) {
      if (conn) this.cluster?.release(host, conn);
      return;
    }
    if (err || !conn) {
      // A host that can't be connected to counts for outlier detection (Envoy's LocalOriginConnectFailed, a 503).
      if (err === "connect-failure") this.cluster?.record(host, 503, this.ctx.random, true);
      return this.attemptFailed(err ?? "connect-failure");
    }
    this.conn = conn;
    // As Envoy's UpstreamRequest (onPoolReady): a try is timed from its connection, once the request is whole; the
    // wait for a connection (the pool's queue, the connect) is the route timeout's and the connect timeout's.
    if (this.req.body.ended) this.startTryTimer();
    if (this.retries > 0) {
      const attempt = this.stream.vh?.attemptCount ? this.retries + 1 : undefined;
      const perTry = this.retry?.perTryTimeoutMs ?? 0;
      const left = this.stream.hcm.suppressEnvoyHeaders ? 0 : timeLeftMs(this.timeoutMs, perTry, this.completeAt);
      this.upstream = retryHead(this.upstream as UpstreamRequest, attempt, left);
    }
    conn.send(this.upstream as UpstreamRequest, this, this.req.head.method === "HEAD");
  }

  /** The attempt is over: release its host slot, its timers and its retry count. */
  private endAttempt(): void {
    if (this.host) {
      this.host.active--;
      this.lastHost = this.host;
    }
    this.host = undefined;
    this.conn = undefined;
    this.req.body.detach();
    this.cancelAcquire?.();
    this.cancelAcquire = undefined;
    if (this.tryTimer) clearTimeout(this.tryTimer);
    this.tryTimer = undefined;
    if (this.retryCounted && this.cluster) this.cluster.usage.add(RETRIES, -1);
    this.retryCounted = false;
  }

  onHead(head: ResponseHead, raw: Buffer | undefined): void {
    const host = this.host as Host;
    if (this.tryTimer) clearTimeout(this.tryTimer);
    this.tryTimer = undefined;
    this.cluster?.record(host, head.status, this.ctx.random);
    if (this.retry && retriableStatus(this.retry, head.status, head.headers) && this.canRetry()) {
      this.conn?.discard();
      this.endAttempt();
      return this.scheduleRetry();
    }
    this.committed = true;
    this.closeAfter =
      !head.unframed &&
      head.contentLength < 0 &&
      !head.chunked &&
      head.status !== 204 &&
      head.status !== 304 &&
      this.req.head.method !== "HEAD";
    // grpc-status: trailers-only responses carry it in the head
    const serviceMs = this.completeAt < 0 ? -1 : Math.floor(performance.now() - this.completeAt);
    this.stream.encodeHead(head, raw, this.levels, headerValue(head.headers, "grpc-status"), serviceMs);
  }

  /** The upstream switched to WebSocket: the route and per-try timeouts stop (as Envoy's), the tunnel starts. */
  onUpgrade(head: ResponseHead, _raw: Buffer, rest: Buffer | undefined, socket: Socket): void {
    clearDeadline(this);
    this.cluster?.record(this.host as Host, head.status, this.ctx.random);
    this.committed = true;
    this.endAttempt();
    this.stream.encodeUpgrade(head, socket, rest);
  }

  onBody(chunk: Buffer): void {
    if (!this.stream.encodeBody(chunk)) {
      const up = this.conn;
      up?.pause();
      this.req.down.onDrain(() => up?.resume());
    }
  }

  onEnd(trailers?: string[]): void {
    this.endAttempt();
    this.stream.encodeEnd(trailers, this.closeAfter);
  }

  onError(kind: UpstreamFailure, received: boolean): void {
    const reused = (this.conn?.requests ?? 0) > 1;
    if (this.committed) {
      this.endAttempt();
      this.stream.resetAfterCommit("UC");
      return;
    }
    const host = this.host;
    // A pooled connection the upstream had closed: an idempotent request tries once more on a fresh one, not counted
    // as a retry (RFC 9110 §9.2.2). So does any request an HTTP/2 upstream refused (REFUSED_STREAM, or above a
    // GOAWAY's last stream): it was not processed (RFC 9113 §8.7), as when an upstream closes an idle connection.
    const unprocessed = kind === "refused-stream" || (reused && IDEMPOTENT.has(this.req.head.method));
    if (!received && unprocessed && !this.transparentRetry && this.req.body.replayable) {
      this.transparentRetry = true;
      this.endAttempt();
      return this.attempt(true);
    }
    if (host) this.cluster?.record(host, 503, this.ctx.random, kind !== "protocol");
    this.attemptFailed(kind);
  }

  private attemptFailed(kind: UpstreamFailure | "timeout"): void {
    this.endAttempt();
    if (this.retry && retriableFailure(this.retry, kind) && this.canRetry()) return this.scheduleRetry();
    if (kind === "timeout") return this.local(504, "UT");
    // A malformed upstream response is a 502 (Envoy's and nginx's answer), never passed through.
    if (kind === "protocol") return this.local(502, "UPE");
    this.local(503, kind === "connect-failure" ? "UF" : "UC");
  }

  private canRetry(): boolean {
    const r = this.retry;
    const c = this.cluster;
    // A body over the replay limit can't be sent again (Envoy gives retries up then).
    if (!r || !c || this.retries >= r.numRetries || !this.req.body.replayable) return false;
    if (c.usage.total(RETRIES) >= c.config.breakers.maxRetries) {
      c.counters.upstream_rq_retry_overflow++;
      this.stream.flags = "URX";
      return false;
    }
    return true;
  }

  private scheduleRetry(): void {
    const r = this.retry as RetryPolicy;
    const c = this.cluster as ClusterRuntime;
    this.retries++;
    c.usage.add(RETRIES, 1);
    c.counters.upstream_rq_retry++;
    this.retryCounted = true;
    const delay = backoffMs(r, this.retries, this.ctx.random);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.stream.finished) return;
      this.attempt();
    }, delay);
  }

  private onTryTimeout(): void {
    this.tryTimer = undefined;
    if (this.cluster) this.cluster.counters.upstream_rq_per_try_timeout++;
    this.conn?.abort();
    if (this.host) this.cluster?.record(this.host, 504, this.ctx.random, true);
    this.attemptFailed("timeout");
  }

  /** The route timeout (deadlines.ts). */
  onDeadline(): void {
    if (this.stream.finished) return;
    if (this.cluster) this.cluster.counters.upstream_rq_timeout++;
    this.cancel();
    if (this.committed) return this.stream.resetAfterCommit("UT");
    this.local(504, "UT");
  }

  /** Given up on (a timeout): the attempt in progress is aborted, and no retry follows. */
  cancel(): void {
    this.conn?.abort();
    this.endAttempt();
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  /** The client went away: the connection goes back to the pool if the rest drains cheaply, else it closes. */
  abandon(): void {
    const conn = this.conn;
    if (conn?.abandon) conn.abandon();
    else conn?.abort();
    this.endAttempt();
  }

  /** The request is over, however it ended: timers, the attempt in progress and the breakers' counts let go. */
  finish(): void {
    clearDeadline(this);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.host || this.retryCounted || this.cancelAcquire) this.endAttempt();
    if (this.requestCounted && this.cluster) this.cluster.usage.add(REQUESTS, -1);
  }
}
