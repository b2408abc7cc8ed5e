// A downstream request's response (stream.ts), as the client sees it: local replies, the upstream's head with the
// response's header edits, its body and end, the 101 that turns the request into a tunnel, a reset once the response
// started; and what the request's stats and access log take from it (code, bytes, flags, grpc-status).
import { applyServerHeader, finalHead, serverHeaderKept } from "./server-header.js";
import { withFields } from "./http1/head-bytes.js";
import type {
  HeaderEdits,
  HttpConnectionManager,
  Route,
  RouteConfig,
  VirtualHost,
  WeightedCluster,
} from "./config/types.js";
import type { EngineContext } from "./context.js";
import type { DownstreamRequest } from "./downstream.js";
import { headerValue, withoutFraming, type ResponseHead } from "./http/head.js";
import { applyEdits, hasResponseEdits, setHeader } from "./router/index.js";
import { setCorsHeaders } from "./filters/cors.js";
import type { Socket } from "node:net";
import type { Forward } from "./forward.js";
import { LOCAL_BODY, type LocalFlag } from "./local.js";
import { SERVICE_TIME } from "./router-headers.js";

export abstract class StreamResponse {
  abstract readonly ctx: EngineContext;
  protected abstract readonly req: DownstreamRequest;
  abstract readonly hcm: HttpConnectionManager;
  abstract route: Route | undefined;
  abstract vh: VirtualHost | undefined;
  abstract rc: RouteConfig | undefined;
  abstract weighted: WeightedCluster | undefined;
  /** The router filter's upstream work, once it started (stream.ts). */
  protected abstract forward: Forward | undefined;
  /** Records the request's stats and access log, once (stream.ts). */
  protected abstract finishOnce(): void;
  /** Envoy's response flags for the access log ("-": none). */
  flags = "-";
  protected code = 0;
  protected responseBytes = 0;
  protected extraHeaders: string[] | undefined;
  protected corsHeaders: string[] | undefined;
  /** Answered, reset or abandoned: stats recorded, nothing more to send. */
  finished = false;
  protected grpcStatus: string | undefined;
  /** The response head went out: a late failure can only reset the stream. */
  protected committed = false;
  /** Bytes the client sent through the tunnel, after the request. */
  protected tunnelled = 0;

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
    applyServerHeader(h, this.hcm.server);
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
    applyServerHeader(headers, this.hcm.server);
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
    serviceMs: number,
  ): void {
    this.code = head.status;
    this.grpcStatus = grpcStatus;
    this.committed = true;
    const unframed = withoutFraming(head);
    if (unframed) {
      head = unframed;
      raw = undefined; // the upstream's bytes had them
    }
    const server = this.hcm.server;
    const final = finalHead(head.status);
    const timed = final && serviceMs >= 0;
    const edits = this.extraHeaders || this.corsHeaders || hasResponseEdits(levels);
    const keepsServer = !final || serverHeaderKept(head.headers, server);
    const down = this.req.down;
    if (!edits && !timed && keepsServer) return down.head(head, head.headers, raw);
    const h = head.headers.slice();
    // The router's (Envoy's onUpstreamHeaders, before the route's edits): -1 when suppressed or the request isn't whole.
    const ms = timed ? String(serviceMs) : "";
    if (timed) setHeader(h, SERVICE_TIME, ms);
    if (!edits) {
      if (!keepsServer) applyServerHeader(h, server);
      if (!raw || down.protocol !== "http/1.1") return down.head(head, h, undefined);
      // Only the router's and the HCM's own fields change: the upstream's bytes go on with those lines set, not
      // serialized anew (the raw-bytes path a head with no edits takes).
      const set = keepsServer
        ? [SERVICE_TIME, ms]
        : timed
          ? ["server", server.name, SERVICE_TIME, ms]
          : ["server", server.name];
      return down.head(head, h, withFields(raw, set));
    }
    applyEdits(h, "response", levels);
    if (this.extraHeaders) h.push(...this.extraHeaders);
    if (this.corsHeaders) setCorsHeaders(h, this.corsHeaders);
    if (final) applyServerHeader(h, server);
    down.head(head, h, undefined);
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

  /** The upstream failed after the response started: the client's stream is reset, flagged `flag`. */
  resetAfterCommit(flag: "UC" | "UT" | "DT"): void {
    this.flags = flag;
    this.finishOnce();
    this.req.down.reset();
  }
}
