// CORS (envoy.filters.http.cors): answers matching preflights locally and adds access-control-* headers to the
// responses of requests whose Origin the policy allows. The route's policy (its weighted cluster's first), then the
// virtual host's, each field falling through to the next (Envoy's order); with none in typed_per_filter_config, the
// `cors` fields instead.
// A request without Origin costs one header lookup; only a matching Origin allocates.
import type { CorsConfig, RequestView, Route, VirtualHost, WeightedCluster } from "../config/types.js";
import { anyType, type Obj, type Reader } from "../config/read.js";
import { corsPolicy } from "../config/cors.js";
import { removeHeader } from "../router/index.js";
import { TYPE, typeName } from "../../xds/types.js";
import { configOf, type HttpFilterExtension } from "./api.js";

export type CorsVerdict =
  /** Answer locally with 200 and these headers. */
  | { preflight: true; headers: string[] }
  /** Set these headers on whatever response comes. */
  | { preflight: false; headers: string[] };

type Field =
  | "allowMethods"
  | "allowHeaders"
  | "exposeHeaders"
  | "maxAge"
  | "allowCredentials"
  | "allowPrivateNetworkAccess"
  | "forwardNotMatchingPreflights";

function pick<K extends Field>(a: CorsConfig | undefined, b: CorsConfig | undefined, k: K): CorsConfig[K] {
  return a?.[k] ?? b?.[k];
}

function allowed(a: CorsConfig | undefined, b: CorsConfig | undefined, origin: string): boolean {
  const p = a?.origins.length ? a : b;
  if (!p) return false;
  if (p.anyOrigin) return true;
  for (const t of p.origins) if (t(origin)) return true;
  return false;
}

/** A weighted cluster's policy over its route's, field by field, as Envoy walks weighted cluster, route, virtual host
 * (only when both have one: a request on such a split allocates the merge). */
function overlay(w: CorsConfig, r: CorsConfig): CorsConfig {
  const o = w.origins.length ? w : r;
  return {
    origins: o.origins,
    anyOrigin: o.anyOrigin,
    allowMethods: w.allowMethods ?? r.allowMethods,
    allowHeaders: w.allowHeaders ?? r.allowHeaders,
    exposeHeaders: w.exposeHeaders ?? r.exposeHeaders,
    maxAge: w.maxAge ?? r.maxAge,
    allowCredentials: w.allowCredentials ?? r.allowCredentials,
    allowPrivateNetworkAccess: w.allowPrivateNetworkAccess ?? r.allowPrivateNetworkAccess,
    forwardNotMatchingPreflights: w.forwardNotMatchingPreflights ?? r.forwardNotMatchingPreflights,
    enabled: w.enabled,
    shadow: w.shadow,
  };
}

/** The CORS decision for one request, or undefined: let it pass untouched. */
export function cors(
  filter: string,
  route: Route,
  vh: VirtualHost,
  view: RequestView,
  random: () => number,
  weighted?: WeightedCluster,
): CorsVerdict | undefined {
  const origin = view.header("origin");
  if (origin === undefined || origin === "") return undefined;
  const w = configOf(weighted?.perFilter.get(filter), corsFilter);
  const r = configOf(route.perFilter.get(filter), corsFilter);
  let pa = w && r ? overlay(w, r) : (w ?? r);
  let pb = configOf(vh.perFilter.get(filter), corsFilter);
  if (!pa && !pb) {
    pa = route.cors;
    pb = vh.cors;
  }
  const first = pa ?? pb;
  if (!first) return undefined;
  // filter_enabled takes precedence; shadow mode only evaluates the origin, which changes nothing we show.
  if (first.enabled <= 0 || (first.enabled < 1 && random() >= first.enabled)) return undefined;
  const ok = allowed(pa, pb, origin);
  const credentials = pick(pa, pb, "allowCredentials") === true;
  const acrm = view.method === "OPTIONS" ? view.header("access-control-request-method") : undefined;
  if (acrm === undefined || acrm === "") {
    if (!ok) return undefined;
    const headers = ["access-control-allow-origin", origin];
    if (credentials) headers.push("access-control-allow-credentials", "true");
    const expose = pick(pa, pb, "exposeHeaders");
    if (expose !== undefined) headers.push("access-control-expose-headers", expose);
    return { preflight: false, headers };
  }
  if (!ok && pick(pa, pb, "forwardNotMatchingPreflights") !== false) return undefined;
  const headers: string[] = [];
  if (ok) headers.push("access-control-allow-origin", origin);
  if (credentials) headers.push("access-control-allow-credentials", "true");
  const methods = pick(pa, pb, "allowMethods");
  if (methods !== undefined) headers.push("access-control-allow-methods", methods === "*" ? acrm : methods);
  const allowHeaders = pick(pa, pb, "allowHeaders");
  if (allowHeaders !== undefined) {
    headers.push(
      "access-control-allow-headers",
      allowHeaders === "*" ? (view.header("access-control-request-headers") ?? "") : allowHeaders,
    );
  }
  const maxAge = pick(pa, pb, "maxAge");
  if (maxAge !== undefined) headers.push("access-control-max-age", maxAge);
  if (
    pick(pa, pb, "allowPrivateNetworkAccess") === true &&
    view.header("access-control-request-private-network") === "true"
  ) {
    headers.push("access-control-allow-private-network", "true");
  }
  return { preflight: true, headers };
}

/** Sets CORS headers on a response's headers, replacing any the upstream sent under the same names. */
export function setCorsHeaders(headers: string[], cors: readonly string[]): void {
  for (let i = 0; i < cors.length; i += 2) removeHeader(headers, cors[i] as string);
  for (const h of cors) headers.push(h);
}

/** envoy.filters.http.cors: the listener's Cors filter carries no policy; a CorsPolicy (route, virtual host) does. */
export const corsFilter: HttpFilterExtension<CorsConfig | undefined> = {
  name: "envoy.filters.http.cors",
  typeUrls: [TYPE.cors, TYPE.corsPolicy],
  compile: (r: Reader, o: Obj | undefined, path: string) =>
    o && anyType(o) === typeName(TYPE.corsPolicy) ? corsPolicy(r, o, path) : undefined,
  decodeHeaders(s, _config, name) {
    if (!s.route || !s.vh) return "continue";
    const v = cors(name, s.route, s.vh, s.view, s.ctx.random, s.weighted);
    if (v?.preflight) {
      s.respond(200, v.headers, ""); // a preflight the policy answers: never upstream
      return "stop";
    }
    s.overrideResponseHeaders(v?.headers);
    return "continue";
  },
};
