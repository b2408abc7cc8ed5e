// HTTP filter configs: fault, local rate limit, CORS, RBAC, router.
import type { FaultConfig, FilterConfig, PerFilterConfig, RateLimitConfig } from "./types.js";
import { anyType, fraction, join, type Obj, type Reader } from "./read.js";
import { headerOps } from "./headers.js";
import { corsPolicy } from "./cors.js";
import { TYPE, typeName } from "../../xds/types.js";
import { compileRbac } from "../rbac/filter.js";

const TYPES = new Map<string, FilterConfig["type"]>(
  (
    [
      [TYPE.fault, "fault"],
      [TYPE.localRateLimit, "local_ratelimit"],
      [TYPE.router, "router"],
      [TYPE.cors, "cors"],
      [TYPE.corsPolicy, "cors"],
      [TYPE.rbac, "rbac"],
      [TYPE.rbacPerRoute, "rbac"],
    ] as const
  ).map(([url, type]) => [typeName(url), type]),
);
const NAMES: Record<string, FilterConfig["type"]> = {
  "envoy.filters.http.fault": "fault",
  "envoy.filters.http.local_ratelimit": "local_ratelimit",
  "envoy.filters.http.router": "router",
  "envoy.filters.http.cors": "cors",
  "envoy.filters.http.rbac": "rbac",
};

/** The filter type named by typed_config's @type, or else by the filter's well-known name. */
export function filterType(r: Reader, name: string, typed: Obj | undefined, path: string): FilterConfig["type"] {
  const t = anyType(typed);
  if (t !== undefined) {
    const type = TYPES.get(t);
    if (!type) r.fail(join(path, "typed_config.@type"), `unknown http filter type "${t}"`);
    return type;
  }
  const type = NAMES[name];
  if (!type) r.fail(join(path, "name"), `unknown http filter "${name}"`);
  return type;
}

export function filterConfig(
  r: Reader,
  type: FilterConfig["type"],
  typed: Obj | undefined,
  path: string,
): FilterConfig {
  const o = typed ?? {};
  switch (type) {
    case "fault":
      return { type, fault: fault(r, o, path) };
    case "local_ratelimit":
      return { type, limit: rateLimit(r, o, path) };
    case "cors": // the listener's Cors filter carries no policy; a CorsPolicy (route, virtual host) does
      return { type, policy: anyType(o) === typeName(TYPE.corsPolicy) ? corsPolicy(r, o, path) : undefined };
    case "rbac":
      return { type, rbac: rbacConfig(r, o, path) };
    default:
      return { type };
  }
}

/** RBAC (the listener's filter), or RBACPerRoute: `{rbac}`, whose absence disables the filter on the route. */
function rbacConfig(r: Reader, o: Obj, path: string) {
  if (anyType(o) !== typeName(TYPE.rbacPerRoute)) return compileRbac(r, o, path);
  for (const k of Object.keys(o)) if (k !== "@type" && k !== "rbac") r.fail(join(path, k), "not supported");
  const inner = r.optObj(o, "rbac", path);
  return inner ? compileRbac(r, inner, join(path, "rbac")) : undefined;
}

function fault(r: Reader, o: Obj, path: string): FaultConfig {
  const delay = r.optObj(o, "delay", path);
  const abort = r.optObj(o, "abort", path);
  const dp = join(path, "delay");
  const ap = join(path, "abort");
  return {
    delayMs: delay ? (r.duration(delay, "fixed_delay", dp) ?? 0) : 0,
    delayFraction: delay ? fraction(r, r.optObj(delay, "percentage", dp), join(dp, "percentage")) : 0,
    abortStatus: abort ? r.num(abort, "http_status", ap) : undefined,
    abortGrpcStatus: abort ? r.num(abort, "grpc_status", ap) : undefined,
    abortFraction: abort ? fraction(r, r.optObj(abort, "percentage", ap), join(ap, "percentage")) : 0,
  };
}

const STATUS_NAMES: Record<string, number> = { TooManyRequests: 429, ServiceUnavailable: 503, Forbidden: 403, OK: 200 };

function rateLimit(r: Reader, o: Obj, path: string): RateLimitConfig | undefined {
  const bucket = r.optObj(o, "token_bucket", path);
  if (!bucket) return undefined; // the listener-level filter may carry no bucket; routes supply one
  const bp = join(path, "token_bucket");
  const maxTokens = r.num(bucket, "max_tokens", bp) ?? 0;
  if (maxTokens <= 0) r.fail(join(bp, "max_tokens"), "must be greater than 0");
  const fillIntervalMs = r.duration(bucket, "fill_interval", bp) ?? 0;
  if (fillIntervalMs <= 0) r.fail(join(bp, "fill_interval"), "must be greater than 0");
  const enabled = r.optObj(o, "filter_enabled", path);
  const enforced = r.optObj(o, "filter_enforced", path);
  const statusObj = r.optObj(o, "status", path);
  let status = 429;
  if (statusObj) {
    const c = statusObj.code;
    status = typeof c === "number" ? c : typeof c === "string" ? (STATUS_NAMES[c] ?? Number(c)) : 429;
    if (!Number.isInteger(status) || status < 200 || status > 599) r.fail(join(path, "status.code"), "invalid status");
  }
  const pct = (f: Obj | undefined, p: string) =>
    fraction(r, f ? r.optObj(f, "default_value", p) : undefined, join(p, "default_value"));
  return {
    key: JSON.stringify(bucket),
    maxTokens,
    tokensPerFill: r.num(bucket, "tokens_per_fill", bp) ?? 1,
    fillIntervalMs,
    enabled: pct(enabled, join(path, "filter_enabled")),
    enforced: pct(enforced, join(path, "filter_enforced")),
    status,
    xRateLimitHeaders: r.str(o, "enable_x_ratelimit_headers", path) === "DRAFT_VERSION_03",
    responseHeaders: headerOps(r, o, "response_headers_to_add", path),
  };
}

/** typed_per_filter_config: {filter name: Any}. Unknown filter types are rejected. */
export function perFilter(r: Reader, o: Obj, path: string): PerFilterConfig {
  const tpfc = r.optObj(o, "typed_per_filter_config", path);
  const out = new Map<string, FilterConfig>();
  if (!tpfc) return out;
  for (const [name, v] of Object.entries(tpfc)) {
    const p = join(join(path, "typed_per_filter_config"), name);
    let typed = r.obj(v, p);
    // envoy.config.route.v3.FilterConfig wraps the real config: {config: Any, is_optional}
    if (anyType(typed) === typeName(TYPE.routeFilterConfig)) typed = r.obj(typed.config ?? {}, join(p, "config"));
    const type = filterType(r, name, typed, p);
    out.set(name, filterConfig(r, type, typed, p));
  }
  return out;
}
