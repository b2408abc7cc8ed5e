// One downstream request through the HTTP filter chain (Envoy's filter manager): routing, the filters in order
// (filters/), and the request's stats and access log once it ends; its response (local replies, the response's header
// edits) is stream-response.ts's. The router filter's upstream work (the cluster, attempts, retries, timeouts) is
// forward.ts's.
import { applyForwarding } from "./http/forwarded.js";
import { settleXfcc } from "./xfcc.js";
import type {
  HttpConnectionManager,
  Listener,
  Route,
  RouteConfig,
  VirtualHost,
  WeightedCluster,
} from "./config/types.js";
import type { EngineContext } from "./context.js";
import { recordFinished } from "./finished.js";
import { HeadView } from "./request-view.js";
import type { Downstream, DownstreamRequest, RequestTimeoutHandler } from "./downstream.js";
import type { BodyTransform } from "./http/body.js";
import { headerValue, listsToken } from "./http/head.js";
import {
  matchRoute,
  pickCluster,
  redirectLocation,
  removeHeader,
  selectVirtualHost,
  setHeader,
} from "./router/index.js";
import type { FilterCallbacks } from "./filters/api.js";
import type { ConnectionInfo } from "./connection.js";
import type { DownstreamPeer } from "./peer.js";
import { Forward } from "./forward.js";
import { normalizePath } from "./path.js";
import { isGrpc, MAX_TIMER_MS, streamLimitMs } from "./grpc-timeout.js";
import { StreamResponse } from "./stream-response.js";

/** A WebSocket upgrade request (RFC 6455 §4.1): HTTP/1.1, GET, Upgrade: websocket. */
function isWebsocket(head: DownstreamRequest["head"]): boolean {
  return (
    head.minor === 1 &&
    head.method === "GET" &&
    headerValue(head.headers, "upgrade")?.trim().toLowerCase() === "websocket"
  );
}

/** An HTTP/1.1 upgrade request (RFC 9110 §7.8): Upgrade, named in Connection; h2c aside. */
function isUpgrade(head: DownstreamRequest["head"]): boolean {
  const upgrade = headerValue(head.headers, "upgrade");
  if (upgrade === undefined || upgrade.trim().toLowerCase() === "h2c") return false;
  return listsToken(head.headers, "connection", "upgrade");
}

export class Stream extends StreamResponse implements FilterCallbacks, RequestTimeoutHandler {
  private readonly start = performance.now();
  private readonly startTime = Date.now();
  readonly view: HeadView;
  route: Route | undefined;
  vh: VirtualHost | undefined;
  rc: RouteConfig | undefined;
  weighted: WeightedCluster | undefined;
  /** The cluster of a forward route, drawn by weight as the route matched. */
  private clusterName = "";
  /** The filter running, or the one that stopped the chain. */
  private filterAt = 0;
  /** A filter's delay (fault injection) in progress. */
  private delayTimer: NodeJS.Timeout | undefined;
  /** The route's max_stream_duration (or the request's grpc-timeout), counting from the stream's start. */
  private durationTimer: NodeJS.Timeout | undefined;
  /** The router filter's upstream work, once it started. */
  protected forward: Forward | undefined;
  /** A WebSocket upgrade the HCM allows: forwarded with its Upgrade, tunnelled on a 101. */
  upgrade = false;

  constructor(
    readonly ctx: EngineContext,
    private readonly listener: Listener,
    protected readonly req: DownstreamRequest,
  ) {
    super();
    const head = req.head;
    this.view = new HeadView(head);
    req.down.onAbort(this);
    if (!req.body.ended) req.down.onRequestTimeout?.(this);
  }

  /**
   * request_timeout or stream_idle_timeout while the request still arrives and nothing was answered (HTTP/2: the
   * request is handed over at its head): the attempt is given up and the client answered 408, as Envoy does.
   */
  requestTimedOut(_counter: string): void {
    if (this.finished || this.committed) return;
    this.forward?.cancel();
    this.respond(408, ["content-type", "text/plain"], "request timeout");
  }

  /** The body's framing broke after the request was handed over (HTTP/1.1 chunked): 400 DPE, as Envoy's codec. */
  requestMalformed(): void {
    if (this.finished || this.committed) return;
    this.forward?.cancel();
    this.sendLocalReply(400, "DPE");
  }

  get hcm(): HttpConnectionManager {
    return this.listener.hcm as HttpConnectionManager;
  }

  run(): void {
    const hcm = this.hcm;
    const conn = this.req.connection;
    // Before anything reads the request (routes, filters, RBAC's remote_ip): who the client is, as Envoy decides it.
    this.view.remoteIp = applyForwarding(this.req.head.headers, hcm.forwarding, {
      peer: conn.remoteIp,
      local: conn.localIp,
      localPort: conn.localPort,
      tls: this.req.peer.tls,
    });
    settleXfcc(this.req.head.headers, hcm.xfcc, this.req.peer.xfcc(hcm.xfccDetails));
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
    // require_tls (Istio's httpsRedirect): plaintext gets Envoy's 301 to the same place over https.
    if (this.vh?.requireTls && !this.req.peer.tls) {
      const head = this.req.head;
      return this.respond(301, ["location", `https://${head.host}${head.target}`], "");
    }
    this.route = this.vh && matchRoute(this.vh, this.view);
    const a = this.route?.action;
    // Only an HTTP/1.1 downstream can ask (HTTP/2 refuses Upgrade and Connection): no header walk for the others.
    if (this.req.down.upgrade && isUpgrade(this.req.head)) {
      // WebSocket over HTTP/1.1 is tunnelled when upgrade_configs allows it: the route's say, else the HCM's (as
      // Envoy's table). Any other upgrade is refused as Envoy refuses an upgrade nothing is configured for, rather
      // than sent on without its Upgrade header for the backend to answer as a plain request. h2c is not one: it is
      // served as HTTP/1.1, as Envoy does.
      const allowed = (a?.kind === "route" ? a.websocket : undefined) ?? hcm.websocket;
      if (!allowed || !isWebsocket(this.req.head)) return this.refuseUpgrade();
      this.upgrade = true;
    }
    if (!this.route || !a) return this.sendLocalReply(404, "NR");
    if (a.kind === "route") {
      const pick = pickCluster(a, this.ctx.random);
      this.clusterName = pick.name;
      this.weighted = pick.weighted;
      const ms = streamLimitMs(a, this.view);
      // Counted from the stream's creation, once its head and body were read (Envoy counts from the head's arrival).
      if (ms !== undefined)
        this.durationTimer = setTimeout(
          () => this.onMaxDuration(),
          Math.min(MAX_TIMER_MS, Math.max(0, ms - (performance.now() - this.start))),
        );
    }
    this.filters(0);
  }

  /** Runs the HTTP filters from `from` until one stops (it replied, or resumes the chain later). */
  private filters(from: number): void {
    const list = this.hcm.filters;
    const vh = this.vh as VirtualHost;
    for (let i = from; i < list.length; i++) {
      const f = list[i] as (typeof list)[number];
      // Read each time: a filter may have cleared the route cache (and the request may have no route now).
      const route = this.route;
      if (!route) return this.sendLocalReply(404, "NR");
      const cfg =
        this.weighted?.perFilter.get(f.name) ?? route.perFilter.get(f.name) ?? vh.perFilter.get(f.name) ?? f.config;
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
    this.delayTimer = setTimeout(() => {
      this.delayTimer = undefined;
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
  setRequestHeader(name: string, value: string | undefined): void {
    if (value === undefined) removeHeader(this.req.head.headers, name);
    else setHeader(this.req.head.headers, name, value);
  }
  setRequestQuery(query: string): void {
    const head = this.req.head;
    head.query = this.view.query = query;
    head.target = query ? `${head.path}?${query}` : head.path;
  }
  clearRouteCache(): void {
    if (!this.vh) return;
    const before = this.route;
    this.route = matchRoute(this.vh, this.view);
    if (this.route === before) return;
    const a = this.route?.action;
    if (a?.kind !== "route") {
      this.clusterName = "";
      this.weighted = undefined;
      return;
    }
    const pick = pickCluster(a, this.ctx.random);
    this.clusterName = pick.name;
    this.weighted = pick.weighted;
  }
  transformRequestBody(t: BodyTransform, invalid: { status: number; body: string }): boolean {
    const body = this.req.body;
    // Its length is the transform's now: a body still arriving leaves without the client's content-length.
    this.req.head.contentLength = -1;
    body.onInvalid = () => {
      if (this.finished) return;
      this.forward?.cancel();
      if (this.committed) return this.resetAfterCommit("UC");
      this.respond(invalid.status, ["content-type", "text/plain"], invalid.body);
    };
    return body.setTransform(t);
  }
  wrapDownstream(wrap: (down: Downstream) => Downstream): void {
    this.req.down = wrap(this.req.down);
  }

  routeRequest(): void {
    const route = this.route as Route;
    const a = route.action;
    if (a.kind === "direct") {
      this.respond(a.status, a.body.length ? ["content-type", "text/plain"] : [], a.body);
    } else if (a.kind === "redirect") {
      const loc = redirectLocation(a, route, "http", this.req.head.host, this.req.head.path, this.req.head.query);
      this.respond(a.code, ["location", loc], "");
    } else {
      this.forward = new Forward(this, this.req, route);
      this.forward.start(a, this.clusterName);
    }
  }

  /** An upgrade nothing allows (or that can't go where it is routed): 403, as Envoy's. */
  refuseUpgrade(): void {
    this.ctx.counters.inc("http", this.hcm.statPrefix, "downstream_rq_ws_on_non_ws_route"); // Envoy's name for it
    this.respond(403, ["content-type", "text/plain"], "upgrade failed");
  }

  /** max_stream_duration reached: 504 if nothing was answered yet (DEADLINE_EXCEEDED to gRPC), else a reset; DT. */
  private onMaxDuration(): void {
    this.durationTimer = undefined;
    if (this.finished) return;
    this.ctx.counters.inc("http", this.hcm.statPrefix, "downstream_rq_max_duration_reached");
    this.forward?.cancel();
    if (this.committed) return this.resetAfterCommit("DT");
    const grpc = isGrpc(this.view.header("content-type"));
    if (grpc) this.grpcStatus = "4";
    // Envoy answers 504 once the request is whole, 408 while it still arrives.
    this.sendLocalReply(this.req.body.ended ? 504 : 408, "DT", grpc ? ["grpc-status", "4"] : []);
  }

  downstreamAborted(): void {
    if (this.finished) return;
    this.flags = "DC";
    this.forward?.abandon();
    this.finishOnce();
  }

  protected finishOnce(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.delayTimer) clearTimeout(this.delayTimer);
    if (this.durationTimer) clearTimeout(this.durationTimer);
    const f = this.forward;
    f?.finish();
    const head = this.req.head;
    recordFinished(this.ctx, this.hcm, {
      head,
      inbound: this.listener.direction === "inbound",
      startTime: this.startTime,
      durationMs: performance.now() - this.start,
      code: this.code,
      flags: this.flags,
      grpcStatus: this.grpcStatus,
      // Chosen when the route matched (as Envoy sets the upstream cluster then): a fault abort is counted against it.
      cluster: f?.clusterName ?? this.clusterName,
      host: f?.lastHost,
      routeName: this.route?.name,
      remoteAddress: this.view.remoteIp ?? this.req.remoteAddress,
      requestBytes: this.req.body.received + this.tunnelled,
      responseBytes: this.responseBytes,
      attempts: (f?.retries ?? 0) + 1,
      sentHeaders: f?.upstream?.headers ?? head.headers,
      trace: f?.trace,
    });
  }
}
