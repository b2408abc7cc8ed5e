// Pure route matching with Envoy's semantics: virtual host by authority, then the first matching route.
import { routeMatches } from "../config/route-match.js";
import type {
  ForwardAction,
  HeaderEdits,
  HeaderOp,
  RedirectAction,
  RequestView,
  Route,
  RouteConfig,
  VirtualHost,
  WeightedCluster,
} from "../config/types.js";

/** Strips ":port" from a host (leaves a bare IPv6 literal alone). Returns the port too, or -1. */
export function splitHostPort(host: string): { host: string; port: number } {
  const colon = host.lastIndexOf(":");
  if (colon < 0 || host.endsWith("]")) return { host, port: -1 };
  const port = host.slice(colon + 1);
  if (!/^\d+$/.test(port)) return { host, port: -1 };
  return { host: host.slice(0, colon), port: Number(port) };
}

export interface HostOptions {
  stripAnyPort?: boolean;
  /** The listener's port, when strip_matching_host_port is on. */
  stripPort?: number;
}

/** Virtual host for an authority: exact, then longest "*suffix", then longest "prefix*", then "*". */
export function selectVirtualHost(rc: RouteConfig, authority: string, opts: HostOptions = {}): VirtualHost | undefined {
  let host = authority.toLowerCase();
  if (opts.stripAnyPort || rc.ignorePort || opts.stripPort !== undefined) {
    const hp = splitHostPort(host);
    if (opts.stripAnyPort || rc.ignorePort || hp.port === opts.stripPort) host = hp.host;
  }
  const exact = rc.exact.get(host);
  if (exact) return exact;
  for (const s of rc.suffixes) if (host.length > s.suffix.length && host.endsWith(s.suffix)) return s.vhost;
  for (const p of rc.prefixes) if (host.length > p.prefix.length && host.startsWith(p.prefix)) return p.vhost;
  return rc.any;
}

export { queryParam, routeMatches } from "../config/route-match.js";

/** The first route of the virtual host that matches the request. */
export function matchRoute(vh: VirtualHost, req: RequestView): Route | undefined {
  for (const r of vh.routes) if (routeMatches(r, req)) return r;
  return undefined;
}

/** weighted_clusters: a cluster chosen by weight; `random` returns [0, 1). */
export function pickCluster(
  a: Pick<ForwardAction, "cluster" | "weighted" | "cumulative" | "totalWeight">,
  random: () => number,
): { name: string; weighted: WeightedCluster | undefined } {
  if (a.cluster !== undefined) return { name: a.cluster, weighted: undefined };
  const x = random() * a.totalWeight;
  const c = a.cumulative;
  let lo = 0;
  let hi = c.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x < (c[mid] as number)) hi = mid;
    else lo = mid + 1;
  }
  const w = a.weighted[lo] as WeightedCluster;
  return { name: w.name, weighted: w };
}

/** The upstream path after prefix_rewrite or regex_rewrite; `path` excludes the query, which is re-attached. */
export function rewritePath(a: ForwardAction, route: Route, path: string, query: string): string | undefined {
  let p: string | undefined;
  if (a.prefixRewrite !== undefined) {
    p = a.prefixRewrite + path.slice(matchedPrefix(route, path).length);
  } else if (a.regexRewrite) {
    p = a.regexRewrite.pattern.replaceAll(path, a.regexRewrite.substitution);
  }
  if (p === undefined) return undefined;
  return query ? `${p}?${query}` : p;
}

/** The part of the path that prefix_rewrite replaces: the route's prefix, or the whole path for other matches. */
function matchedPrefix(route: Route, path: string): string {
  return route.prefix ?? path;
}

const DEFAULT_PORT: Record<string, number> = { http: 80, https: 443 };

/**
 * The Location of a redirect, as Envoy builds it (Http::Utility::newUri): `host_redirect` replaces the whole
 * authority, so the request's port is dropped; otherwise the request's port stays, unless `port_redirect` replaces
 * it or the scheme changes away from a request on its scheme's default port.
 */
export function redirectLocation(
  a: RedirectAction,
  route: Route,
  scheme: string,
  host: string,
  path: string,
  query: string,
): string {
  const newScheme = a.scheme ?? scheme;
  let h: string;
  if (a.host !== undefined) h = a.host;
  else {
    const hp = splitHostPort(host);
    const drop = a.port !== undefined || (newScheme !== scheme && hp.port === DEFAULT_PORT[scheme]);
    h = drop || hp.port < 0 ? hp.host : host;
  }
  if (a.port !== undefined && a.port > 0) h = `${h}:${a.port}`;
  let p = a.path ?? path;
  if (a.path === undefined && a.prefixRewrite !== undefined) {
    p = a.prefixRewrite + path.slice(matchedPrefix(route, path).length);
  }
  const q = a.stripQuery || !query ? "" : `?${query}`;
  return `${newScheme}://${h}${p}${q}`;
}

/** Applies header ops to a flat [name, value, name, value, …] list with lower-case names. */
export function applyHeaderOps(headers: string[], ops: readonly HeaderOp[]): void {
  for (const op of ops) {
    const at = indexOfHeader(headers, op.key);
    switch (op.action) {
      case "APPEND_IF_EXISTS_OR_ADD":
        headers.push(op.key, op.value);
        break;
      case "ADD_IF_ABSENT":
        if (at < 0) headers.push(op.key, op.value);
        break;
      case "OVERWRITE_IF_EXISTS_OR_ADD":
        removeHeader(headers, op.key);
        headers.push(op.key, op.value);
        break;
      case "OVERWRITE_IF_EXISTS":
        if (at >= 0) {
          removeHeader(headers, op.key);
          headers.push(op.key, op.value);
        }
        break;
    }
  }
}

export function indexOfHeader(headers: readonly string[], name: string): number {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return i;
  return -1;
}

export function removeHeader(headers: string[], name: string): void {
  for (let i = headers.length - 2; i >= 0; i -= 2) if (headers[i] === name) headers.splice(i, 2);
}

/** Sets one header: the first occurrence's value replaced (the others removed), or added. */
export function setHeader(headers: string[], name: string, value: string): void {
  const at = indexOfHeader(headers, name);
  if (at < 0) return void headers.push(name, value);
  headers[at + 1] = value;
  for (let i = headers.length - 2; i > at; i -= 2) if (headers[i] === name) headers.splice(i, 2);
}

export type EditSide = "request" | "response";

/** Applies edits from most to least specific (weighted cluster, route, virtual host, route configuration). */
export function applyEdits(headers: string[], side: EditSide, levels: readonly (HeaderEdits | undefined)[]): void {
  for (const e of levels) {
    if (!e) continue;
    for (const name of side === "request" ? e.requestRemove : e.responseRemove) removeHeader(headers, name);
    applyHeaderOps(headers, side === "request" ? e.requestAdd : e.responseAdd);
  }
}

/** Whether any level edits response headers (if none, a response head can be forwarded as it came). */
export function hasResponseEdits(levels: readonly (HeaderEdits | undefined)[]): boolean {
  return levels.some((e) => e !== undefined && (e.responseAdd.length > 0 || e.responseRemove.length > 0));
}
