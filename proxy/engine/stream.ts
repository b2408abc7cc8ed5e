// One downstream request through the HTTP filter chain (Envoy's filter manager): routing, the filters in order
// (filters/), local replies, the response's header edits, and the request's stats and access log once it ends. The
// router filter's upstream work (the cluster, attempts, retries, timeouts) is forward.ts's.
import { applyForwarding } from "./http/forwarded.js";
import { settleXfcc } from "./xfcc.js";
import type {
  HeaderEdits,
  HttpConnectionManager,
  Listener,
  RequestView,
  Route,
  RouteConfig,
  VirtualHost,
  WeightedCluster,
} from "./config/types.js";
import type { EngineContext } from "./context.js";
import { recordFinished } from "./finished.js";
import type { Downstream, DownstreamRequest, RequestTimeoutHandler } from "./downstream.js";
import type { BodyTransform } from "./http/body.js";
import { headerValue, listsToken, withoutFraming, type ResponseHead } from "./http/head.js";
import {
  applyEdits,
  hasResponseEdits,
  matchRoute,
  pickCluster,
  redirectLocation,
  removeHeader,
  selectVirtualHost,
  setHeader,
} from "./router/index.js";
import { setCorsHeaders } from "./filters/cors.js";
import type { FilterCallbacks } from "./filters/api.js";
import type { Socket } from "node:net";
import type { ConnectionInfo } from "./connection.js";
import type { DownstreamPeer } from "./peer.js";
import { Forward } from "./forward.js";
import { LOCAL_BODY, type LocalFlag } from "./local.js";
import { normalizePath } from "./path.js";
import { isGrpc, MAX_TIMER_MS, streamLimitMs } from "./grpc-timeout.js";

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

export class Stream implements FilterCallbacks, RequestTimeoutHandler {
  private readonly start = performance.now();
  private readonly startTime = Date.now();
  readonly view: RequestView;
  route: Route | undefined;
  vh: VirtualHost | undefined;
  rc: RouteConfig | undefined;
  weighted: WeightedCluster | undefined;
  /** The cluster of a forward route, drawn by weight as the route matched. */
  private clusterName = "";
  /** Envoy's response flags for the access log ("-": none). */
  flags = "-";
  private code = 0;
  private responseBytes = 0;
  private extraHeaders: string[] | undefined;
  private corsHeaders: string[] | undefined;
  /** Answered, reset or abandoned: stats recorded, nothing more to send. */
  finished = false;
  private grpcStatus: string | undefined;
  /** The filter running, or the one that stopped the chain. */
  private filterAt = 0;
  /** A filter's delay (fault injection) in progress. */
  private delayTimer: NodeJS.Timeout | undefined;
  /** The route's max_stream_duration (or the request's grpc-timeout), counting from the stream's start. */
  private durationTimer: NodeJS.Timeout | undefined;
  /** The response head went out: a late failure can only reset the stream. */
  private committed = false;
  /** The router filter's upstream work, once it started. */
  private forward: Forward | undefined;
  /** A WebSocket upgrade the HCM allows: forwarded with its Upgrade, tunnelled on a 101. */
  upgrade = false;
  /** Bytes the client sent through the tunnel, after the request. */
  private tunnelled = 0;

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

  /**
   * The upstream switched protocols: the 101 goes to the client with its Upgrade and Connection (and the response's
   * header edits), then the two connections are one tunnel. The request is recorded once, when the tunnel ends.
   */
  encodeUpgrade(head: ResponseHead, upstream: Socket, rest: Buffer | undefined): void {
    const down = this.req.down;
    if (this.finished || down.isClosed || !down.upgrade) {
      upstream.destroy();
      return this.finishOnce();
    }
    this.code = head.status;
    this.committed = true;
    const h = head.headers.slice();
    applyEdits(h, "response", this.editLevels());
    if (this.extraHeaders) h.push(...this.extraHeaders);
    if (this.corsHeaders) setCorsHeaders(h, this.corsHeaders);
    const counters = this.ctx.counters;
    const prefix = this.hcm.statPrefix;
    counters.inc("http", prefix, "downstream_cx_upgrades_total");
    counters.inc("http", prefix, "downstream_cx_upgrades_active");
    down.upgrade(h, upstream, rest, (toClient, toUpstream) => {
      counters.inc("http", prefix, "downstream_cx_upgrades_active", -1);
      this.responseBytes = toClient;
      this.tunnelled = toUpstream;
      this.finishOnce();
    });
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
    const levels = this.forward?.levels;
    return levels?.length ? levels : [this.weighted?.edits, this.route?.edits, this.vh?.edits, this.rc?.edits];
  }

  /** The upstream's response head, to the client with the response's header edits. */
  encodeHead(
    head: ResponseHead,
    raw: Buffer | undefined,
    levels: readonly (HeaderEdits | undefined)[],
    grpcStatus: string | undefined,
  ): void {
    this.code = head.status;
    this.grpcStatus = grpcStatus;
    this.committed = true;
    const unframed = withoutFraming(head);
    if (unframed) {
      head = unframed;
      raw = undefined; // the upstream's bytes had them
    }
    if (!this.extraHeaders && !this.corsHeaders && !hasResponseEdits(levels))
      return this.req.down.head(head, head.headers, raw);
    const h = head.headers.slice();
    applyEdits(h, "response", levels);
    if (this.extraHeaders) h.push(...this.extraHeaders);
    if (this.corsHeaders) setCorsHeaders(h, this.corsHeaders);
    this.req.down.head(head, h, undefined);
  }

  /** A chunk of the response body; false: the client is slow, wait for its drain. */
  encodeBody(chunk: Buffer): boolean {
    this.responseBytes += chunk.length;
    return this.req.down.body(chunk);
  }

  /** The response is complete. */
  encodeEnd(trailers: string[] | undefined, closeAfter: boolean): void {
    if (trailers) this.grpcStatus = headerValue(trailers, "grpc-status");
    this.finishOnce();
    this.req.down.end(trailers, closeAfter);
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

  /** The upstream failed after the response started: the client's stream is reset, flagged `flag`. */
  resetAfterCommit(flag: "UC" | "UT" | "DT"): void {
    this.flags = flag;
    this.finishOnce();
    this.req.down.reset();
  }

  private onDownstreamAbort(): void {
    if (this.finished) return;
    this.flags = "DC";
    this.forward?.abandon();
    this.finishOnce();
  }

  private finishOnce(): void {
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
