// One downstream request through the filter chain (fault, local rate limit, CORS, RBAC, router) to an upstream, with
// retries, timeouts, circuit breakers, outlier detection, mirroring, header edits and stats.
import type {
  ForwardAction,
  HeaderEdits,
  HttpConnectionManager,
  Listener,
  RequestView,
  RetryPolicy,
  Route,
  RouteConfig,
  VirtualHost,
} from "./config/types.js";
import type { EngineContext } from "./context.js";
import { recordFinished } from "./finished.js";
import { REQUESTS, RETRIES } from "./shared-counts.js";
import type { DownstreamRequest } from "./downstream.js";
import { headerValue, type ResponseHead } from "./http1/parse.js";
import { attemptHead, randomHex, shadowHost, upstreamRequest } from "./upstream-head.js";
import { startSpan, type TraceIds } from "./tracing/context.js";
import { backoffMs, retriableFailure, retriableStatus } from "./retry.js";
import { DISCARD, type Exchange, type UpstreamFailure, type UpstreamLink, type UpstreamRequest } from "./link.js";
import {
  applyEdits,
  hasResponseEdits,
  matchRoute,
  pickCluster,
  redirectLocation,
  rewritePath,
  selectVirtualHost,
  setHeader,
} from "./router/index.js";
import { requestHash } from "./router/hash.js";
import { setCorsHeaders } from "./filters/cors.js";
import type { FilterCallbacks } from "./filters/api.js";
import type { ConnectionInfo } from "./connection.js";
import type { DownstreamPeer } from "./peer.js";
import type { ClusterRuntime, Host } from "./cluster.js";
import { LOCAL_BODY, type LocalFlag } from "./local.js";
import { normalizePath } from "./path.js";

/** Envoy marks a reply the circuit breakers made with this header. */
const OVERLOADED = ["x-envoy-overloaded", "true"];
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

export class Stream implements Exchange, FilterCallbacks {
  private readonly start = performance.now();
  private readonly startTime = Date.now();
  readonly view: RequestView;
  route: Route | undefined;
  vh: VirtualHost | undefined;
  private rc: RouteConfig | undefined;
  private flags = "-";
  private code = 0;
  private responseBytes = 0;
  private extraHeaders: string[] | undefined;
  private corsHeaders: string[] | undefined;
  private finished = false;
  private committed = false;
  private closeAfter = false;
  private clusterName = "";
  private cluster: ClusterRuntime | undefined;
  private levels: (HeaderEdits | undefined)[] = [];
  private upstream: UpstreamRequest | undefined;
  private retry: RetryPolicy | undefined;
  private retries = 0;
  private retryCounted = false;
  private hash: number | undefined;
  private tried: Set<string> | undefined;
  private host: Host | undefined;
  private lastHost: Host | undefined;
  private conn: UpstreamLink | undefined;
  private cancelAcquire: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private tryTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private transparentRetry = false;
  private requestCounted = false;
  private grpcStatus: string | undefined;
  /** The filter running, or the one that stopped the chain. */
  private filterAt = 0;
  /** With a tracer: this request's span. */
  private trace: TraceIds | undefined;

  constructor(
    readonly ctx: EngineContext,
    private readonly listener: Listener,
    private readonly req: DownstreamRequest,
  ) {
    const head = req.head;
    this.view = {
      method: head.method,
      path: head.path,
      query: head.query,
      header: (n) => (n === "host" || n === ":authority" ? head.host : headerValue(head.headers, n)),
    };
    req.down.onAbort(() => this.onDownstreamAbort());
  }

  private get hcm(): HttpConnectionManager {
    return this.listener.hcm as HttpConnectionManager;
  }

  run(): void {
    const hcm = this.hcm;
    if (hcm.normalizePath || hcm.mergeSlashes) {
      // Routed and forwarded alike by the normalised path, as Envoy does.
      const head = this.req.head;
      const p = normalizePath(head.path, hcm.normalizePath, hcm.mergeSlashes);
      if (p === undefined) return this.sendLocalReply(400, "DPE");
      if (p !== head.path) {
        head.path = this.view.path = p;
        head.target = head.query ? `${p}?${head.query}` : p;
      }
    }
    const rc = hcm.routeConfig ?? (hcm.rdsName !== undefined ? this.ctx.routes.get(hcm.rdsName) : undefined);
    this.rc = rc;
    this.vh =
      rc &&
      selectVirtualHost(rc, this.req.head.host, {
        stripAnyPort: hcm.stripAnyHostPort,
        stripPort: hcm.stripMatchingHostPort ? this.listener.port : undefined,
      });
    this.route = this.vh && matchRoute(this.vh, this.view);
    if (!this.route) return this.sendLocalReply(404, "NR");
    this.filters(0);
  }

  /** Runs the HTTP filters from `from` until one stops (it replied, or resumes the chain later). */
  private filters(from: number): void {
    const list = this.hcm.filters;
    const route = this.route as Route;
    const vh = this.vh as VirtualHost;
    for (let i = from; i < list.length; i++) {
      const f = list[i] as (typeof list)[number];
      const cfg = route.perFilter.get(f.name) ?? vh.perFilter.get(f.name) ?? f.config;
      this.filterAt = i;
      if (cfg.extension.decodeHeaders(this, cfg.config, f.name) === "stop") return;
    }
  }

  // FilterCallbacks (filters/api.ts)
  get statPrefix(): string {
    return this.hcm.statPrefix;
  }
  get connection(): ConnectionInfo {
    return this.req.connection;
  }
  get peer(): DownstreamPeer {
    return this.req.peer;
  }
  continueDecoding(): void {
    this.filters(this.filterAt + 1);
  }
  delay(ms: number, then: () => void): void {
    this.flags = "DI";
    this.timer = setTimeout(() => {
      this.timer = undefined;
      then();
    }, ms);
  }
  addResponseHeaders(headers: readonly string[]): void {
    (this.extraHeaders ??= []).push(...headers);
  }
  overrideResponseHeaders(headers: string[] | undefined): void {
    this.corsHeaders = headers;
  }
  setGrpcStatus(status: string): void {
    this.grpcStatus = status;
  }

  routeRequest(): void {
    const route = this.route as Route;
    const a = route.action;
    if (a.kind === "direct") {
      this.respond(a.status, a.body.length ? ["content-type", "text/plain"] : [], a.body);
    } else if (a.kind === "redirect") {
      const loc = redirectLocation(a, route, "http", this.req.head.host, this.req.head.path, this.req.head.query);
      this.respond(a.code, ["location", loc], "");
    } else this.forward(a);
  }

  /** A local reply with the flag's standard body. */
  sendLocalReply(status: number, flag: LocalFlag, extra: string[] = []): void {
    this.flags = this.flags === "DI" && flag === "FI" ? "DI,FI" : flag;
    this.respond(
      status,
      ["content-type", "text/plain", ...extra],
      status === 200 && flag === "FI" ? "" : LOCAL_BODY[flag],
    );
  }

  respond(status: number, headers: string[], body: Buffer | string): void {
    this.code = status;
    if (this.finished || this.req.down.isClosed) {
      this.finishOnce();
      return this.req.down.end(undefined, true);
    }
    if (this.extraHeaders) headers.push(...this.extraHeaders);
    if (this.route) applyEdits(headers, "response", this.editLevels());
    if (this.corsHeaders) setCorsHeaders(headers, this.corsHeaders);
    this.responseBytes = typeof body === "string" ? Buffer.byteLength(body) : body.length;
    this.finishOnce();
    this.req.down.reply(status, headers, body);
  }

  private editLevels(): (HeaderEdits | undefined)[] {
    return this.levels.length ? this.levels : [this.route?.edits, this.vh?.edits, this.rc?.edits];
  }

  private forward(a: ForwardAction): void {
    const pick = pickCluster(a, this.ctx.random);
    this.clusterName = pick.name;
    const cluster = this.ctx.clusters.get(pick.name);
    if (!cluster) return this.sendLocalReply(503, "NC");
    this.cluster = cluster;
    this.levels = [pick.weighted?.edits, (this.route as Route).edits, this.vh?.edits, this.rc?.edits];
    if (cluster.usage.total(REQUESTS) >= cluster.config.breakers.maxRequests) {
      cluster.counters.upstream_rq_pending_overflow++; // Envoy counts the max_requests breaker here too
      return this.sendLocalReply(503, "UO", OVERLOADED);
    }
    cluster.usage.add(REQUESTS, 1);
    cluster.counters.upstream_rq_total++;
    this.requestCounted = true;
    this.upstream = this.buildRequest(a);
    if (this.vh?.attemptCount) setHeader(this.upstream.headers, "x-envoy-attempt-count", "1");
    this.retry = a.retry ?? this.vh?.retry;
    if (this.retry?.previousHosts) this.tried = new Set();
    if (a.hashPolicy.length) this.hash = requestHash(a.hashPolicy, this.view, this.req.remoteAddress);
    for (const m of a.mirrors) if (m.fraction >= 1 || this.ctx.random() < m.fraction) this.mirror(m.cluster);
    if (a.timeoutMs > 0) this.timer = setTimeout(() => this.onTimeout(), a.timeoutMs);
    this.attempt();
  }

  private buildRequest(a: ForwardAction, hostOverride?: string): UpstreamRequest {
    const head = this.req.head;
    const hcm = this.hcm;
    if (hcm.tracer) this.trace ??= startSpan(head.headers, hcm.samplingPercent, this.ctx.random, randomHex);
    return upstreamRequest(head, this.req.body, {
      span: this.trace,
      path: rewritePath(a, this.route as Route, head.path, head.query) ?? head.target,
      levels: this.levels,
      host: hostOverride ?? a.hostRewrite,
      requestId: this.hcm.generateRequestId,
      tracing: this.ctx.tracing,
      sampled: this.hcm.samplingPercent >= 100 || this.ctx.random() * 100 < this.hcm.samplingPercent,
      xfcc: { mode: this.hcm.xfcc, details: this.req.peer.clientCertDetails },
    });
  }

  private mirror(name: string): void {
    const cluster = this.ctx.clusters.get(name);
    const host = cluster?.pick(undefined, this.ctx.random);
    if (!cluster || !host) return;
    const req = this.buildRequest((this.route as Route).action as ForwardAction, shadowHost(this.req.head.host));
    cluster.acquire(host, (conn) => conn?.send(req, DISCARD, this.req.head.method === "HEAD"));
  }

  /** One try at an upstream host; `fresh`: on a new connection, not a pooled one. */
  private attempt(fresh = false): void {
    const cluster = this.cluster as ClusterRuntime;
    const odh = cluster.config.originalDstHeader;
    const dst = odh ? this.view.header(odh) : this.req.originalDst;
    const host =
      cluster.config.type === "ORIGINAL_DST"
        ? cluster.originalHost(dst)
        : cluster.pick(this.hash, this.ctx.random, this.tried);
    if (!host) return this.sendLocalReply(503, "UH");
    this.host = host;
    this.tried?.add(host.key);
    host.active++;
    if (this.retry && this.retry.perTryTimeoutMs > 0)
      this.tryTimer = setTimeout(() => this.onTryTimeout(), this.retry.perTryTimeoutMs);
    const r = cluster.acquire(host, (conn, err) => this.onConnection(host, conn, err), fresh);
    if (r === "overflow") {
      this.endAttempt();
      return this.sendLocalReply(503, "UO", OVERLOADED);
    }
    if (this.host === host && !this.conn) this.cancelAcquire = r;
  }

  private onConnection(host: Host, conn: UpstreamLink | undefined, err: UpstreamFailure | undefined): void {
    this.cancelAcquire = undefined;
    if (this.finished || this.host !== host) {
      if (conn) this.cluster?.release(host, conn);
      return;
    }
    if (err || !conn) return this.attemptFailed(err ?? "connect-failure");
    this.conn = conn;
    if (this.vh?.attemptCount && this.retries > 0)
      this.upstream = attemptHead(this.upstream as UpstreamRequest, this.retries + 1);
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
    if (this.retry && retriableStatus(this.retry, head.status) && this.canRetry()) {
      this.conn?.discard();
      this.endAttempt();
      return this.scheduleRetry();
    }
    this.committed = true;
    this.code = head.status;
    this.grpcStatus = headerValue(head.headers, "grpc-status"); // trailers-only responses carry it here
    this.closeAfter =
      !head.unframed &&
      head.contentLength < 0 &&
      !head.chunked &&
      head.status !== 204 &&
      head.status !== 304 &&
      this.req.head.method !== "HEAD";
    if (!this.extraHeaders && !this.corsHeaders && !hasResponseEdits(this.levels))
      return this.req.down.head(head, head.headers, raw);
    const h = head.headers.slice();
    applyEdits(h, "response", this.levels);
    if (this.extraHeaders) h.push(...this.extraHeaders);
    if (this.corsHeaders) setCorsHeaders(h, this.corsHeaders);
    this.req.down.head(head, h, undefined);
  }

  onBody(chunk: Buffer): void {
    this.responseBytes += chunk.length;
    if (!this.req.down.body(chunk)) {
      const up = this.conn;
      up?.pause();
      this.req.down.onDrain(() => up?.resume());
    }
  }

  onEnd(trailers?: string[]): void {
    if (trailers) this.grpcStatus = headerValue(trailers, "grpc-status");
    this.endAttempt();
    this.finishOnce();
    this.req.down.end(trailers, this.closeAfter);
  }

  onError(kind: UpstreamFailure, received: boolean): void {
    const reused = (this.conn?.requests ?? 0) > 1;
    if (this.committed) {
      this.flags = "UC";
      this.endAttempt();
      this.finishOnce();
      this.req.down.reset();
      return;
    }
    const host = this.host;
    if (!received && reused && !this.transparentRetry && IDEMPOTENT.has(this.req.head.method)) {
      // A pooled connection the upstream had closed: an idempotent request tries once more on a fresh one,
      // not counted as a retry (RFC 9110 §9.2.2).
      this.transparentRetry = true;
      this.endAttempt();
      return this.attempt(true);
    }
    if (host) this.cluster?.record(host, 503, this.ctx.random);
    this.attemptFailed(kind);
  }

  private attemptFailed(kind: UpstreamFailure | "timeout"): void {
    this.endAttempt();
    if (this.retry && retriableFailure(this.retry, kind) && this.canRetry()) return this.scheduleRetry();
    if (kind === "timeout") return this.sendLocalReply(504, "UT");
    // A malformed upstream response is a 502 (Envoy's and nginx's answer), never passed through.
    if (kind === "protocol") return this.sendLocalReply(502, "UPE");
    this.sendLocalReply(503, kind === "connect-failure" ? "UF" : "UC");
  }

  private canRetry(): boolean {
    const r = this.retry;
    const c = this.cluster;
    if (!r || !c || this.retries >= r.numRetries) return false;
    if (c.usage.total(RETRIES) >= c.config.breakers.maxRetries) {
      c.counters.upstream_rq_retry_overflow++;
      this.flags = "URX";
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
      if (this.finished) return;
      this.attempt();
    }, delay);
  }

  private onTryTimeout(): void {
    this.tryTimer = undefined;
    if (this.cluster) this.cluster.counters.upstream_rq_per_try_timeout++;
    this.conn?.abort();
    if (this.host) this.cluster?.record(this.host, 504, this.ctx.random);
    this.attemptFailed("timeout");
  }

  private onTimeout(): void {
    this.timer = undefined;
    if (this.finished) return;
    if (this.cluster) this.cluster.counters.upstream_rq_timeout++;
    this.conn?.abort();
    this.endAttempt();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.committed) {
      this.flags = "UT";
      this.finishOnce();
      this.req.down.reset();
      return;
    }
    this.sendLocalReply(504, "UT");
  }

  private onDownstreamAbort(): void {
    if (this.finished) return;
    this.flags = "DC";
    // The upstream connection goes back to the pool if the rest of its response drains cheaply, else it closes.
    const conn = this.conn;
    if (conn?.abandon) conn.abandon();
    else conn?.abort();
    this.endAttempt();
    this.finishOnce();
  }

  private finishOnce(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.host || this.retryCounted || this.cancelAcquire) this.endAttempt();
    if (this.requestCounted && this.cluster) this.cluster.usage.add(REQUESTS, -1);
    const head = this.req.head;
    recordFinished(this.ctx, this.hcm, {
      head,
      inbound: this.listener.direction === "inbound",
      startTime: this.startTime,
      durationMs: performance.now() - this.start,
      code: this.code,
      flags: this.flags,
      grpcStatus: this.grpcStatus,
      cluster: this.clusterName,
      host: this.lastHost,
      routeName: this.route?.name,
      remoteAddress: this.req.remoteAddress,
      requestBytes: this.req.body.length,
      responseBytes: this.responseBytes,
      attempts: this.retries + 1,
      sentHeaders: this.upstream?.headers ?? head.headers,
      trace: this.trace,
    });
  }
}
