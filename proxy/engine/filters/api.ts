// The contract of an HTTP filter, as Envoy's extensions have it: a type URL and a name that config names it by, a
// compile step that reads its typed_config once (rejecting what it doesn't implement, by field), and a decode step
// that runs on each request's headers. The registry (index.ts) lists them; config and the stream read only that.
import type { RequestView, Route, VirtualHost, WeightedCluster } from "../config/types.js";
import type { Obj, Reader } from "../config/read.js";
import type { ConnectionInfo } from "../connection.js";
import type { Downstream } from "../downstream.js";
import type { BodyTransform } from "../http/body.js";
import type { EngineContext } from "../context.js";
import type { LocalFlag } from "../local.js";
import type { DownstreamPeer } from "../peer.js";

/** After a filter: on to the next one, or stop (it replied, or it resumes the chain itself later). */
export type FilterStatus = "continue" | "stop";

/** What a filter sees of the request it decodes, and how it ends or holds it (Envoy's decoder callbacks). */
export interface FilterCallbacks {
  readonly ctx: EngineContext;
  readonly view: RequestView;
  /** The route and virtual host matched (filters run only once one has). */
  readonly route: Route | undefined;
  readonly vh: VirtualHost | undefined;
  /** The weighted cluster drawn for this request when the route matched (Envoy draws it then, not in the router),
   * whose typed_per_filter_config and header edits are the most specific. */
  readonly weighted: WeightedCluster | undefined;
  readonly connection: ConnectionInfo;
  readonly peer: DownstreamPeer;
  /** The HCM's stat_prefix. */
  readonly statPrefix: string;
  /** Ends the request with a local reply: the status, Envoy's response flag and its standard body. */
  sendLocalReply(status: number, flag: LocalFlag, headers?: string[]): void;
  /** Ends the request with this reply (the route's response header edits apply). */
  respond(status: number, headers: string[], body: Buffer | string): void;
  /** Headers added to the response, whoever makes it. */
  addResponseHeaders(headers: readonly string[]): void;
  /** Headers that replace any of the same name in the response, whoever makes it (after the route's edits). */
  overrideResponseHeaders(headers: string[] | undefined): void;
  /** Holds the request `ms` (flagged DI), then runs `then`; not if the request ended meanwhile. */
  delay(ms: number, then: () => void): void;
  /** Runs the filters after the one that stopped. */
  continueDecoding(): void;
  /** The router: the route's action (forward, redirect, direct response). */
  routeRequest(): void;
  /** The gRPC status a local reply carries, for the access log and metrics. */
  setGrpcStatus(status: string): void;
  /** Sets (or, with undefined, removes) a request header, for the filters after this one and the upstream. */
  setRequestHeader(name: string, value: string | undefined): void;
  /** Replaces the request's query string (without "?"; "" for none), for the filters after this one and the upstream. */
  setRequestQuery(query: string): void;
  /** Envoy's clearRouteCache: the route is matched again with the request as the filters left it. */
  clearRouteCache(): void;
  /**
   * Rewrites the request body as it arrives, what came already included. Bytes the transform refuses end the request:
   * `invalid` is the answer (or, once a response is under way, the stream is reset). False: refused already.
   */
  transformRequestBody(t: BodyTransform, invalid: { status: number; body: string }): boolean;
  /** Puts a filter's encoder between the response and the client: everything sent to the client goes through it. */
  wrapDownstream(wrap: (down: Downstream) => Downstream): void;
}

export interface HttpFilterExtension<C> {
  /** Envoy's well-known name (envoy.filters.http.fault): what a filter without typed_config is known by. */
  readonly name: string;
  /** The typed_config type URLs it reads: the filter's own and its per-route config's. */
  readonly typeUrls: readonly string[];
  /** Reads a typed_config (undefined: the filter named without one); fails on what it doesn't implement. */
  compile(r: Reader, typed: Obj | undefined, path: string): C;
  /** Runs on a request's headers. `name`: the filter's name in this chain (per-route configs are keyed by it). */
  decodeHeaders(s: FilterCallbacks, config: C, name: string): FilterStatus;
  /** The counters this config increments, declared per HCM so they show as 0 before the first request. */
  statNames?(config: C): readonly string[];
  /** The chain's last filter, and only the last. */
  readonly terminal?: boolean;
}

/** One filter's compiled config, with the extension that compiled it and runs it. */
export interface FilterConfig {
  // The config's type is the extension's; they travel together, so the pair is sound (configOf checks it).
  readonly extension: HttpFilterExtension<unknown>;
  readonly config: unknown;
}

export function filterConfig<C>(extension: HttpFilterExtension<C>, config: C): FilterConfig {
  return { extension, config };
}

/** The config if `f` is `extension`'s. */
export function configOf<C>(f: FilterConfig | undefined, extension: HttpFilterExtension<C>): C | undefined {
  return f?.extension === extension ? (f.config as C) : undefined;
}
