// envoy.filters.http.jwt_authn (JwtAuthentication): the first rule whose match fits the request names the requirement
// its tokens must meet (jwt/verify.ts); no rule, or a rule without one: the request passes. A failure is Envoy's local
// reply: 401 (403 when only the audiences are wrong) with jwt_verify_lib's status as the body and
// `www-authenticate: Bearer realm="<the request's URL>"` (`, error="invalid_token"` unless the token was missing). A
// good token's payload is the filter's dynamic metadata (`envoy.filters.http.jwt_authn`), which RBAC's metadata
// matchers read. Counters `http.<stat_prefix>.jwt_authn.{allowed,denied,cors_preflight_bypassed,jwt_cache_hit,jwt_cache_miss}`.
import type { Obj, Reader } from "../config/read.js";
import type { RequestView } from "../config/types.js";
import { routeMatches } from "../config/route-match.js";
import { TYPE } from "../../xds/types.js";
import type { FilterCallbacks, HttpFilterExtension } from "./api.js";
import { compileJwtAuthn, type JwtAuthnConfig } from "../jwt/config.js";
import { JWT_STATUS, type JwtStatus } from "../jwt/status.js";
import { verifyRequirement, type Verification } from "../jwt/verify.js";

export const JWT_AUTHN_FILTER = "envoy.filters.http.jwt_authn";
const STATS = ["allowed", "denied", "cors_preflight_bypassed", "jwt_cache_hit", "jwt_cache_miss"] as const;
type Stat = (typeof STATS)[number];
/** Envoy's buildOriginalUri limit on the path in the realm. */
const MAX_URI_PATH = 256;

function isCorsPreflight(v: RequestView): boolean {
  return v.method === "OPTIONS" && !!v.header("origin") && !!v.header("access-control-request-method");
}

/** Envoy's Http::Utility::buildOriginalUri: scheme (x-forwarded-proto), host, and the path with its query, cut. */
function originalUri(v: RequestView): string {
  const path = v.query ? `${v.path}?${v.query}` : v.path;
  const scheme = v.header("x-forwarded-proto") ?? "http";
  return `${scheme}://${v.header(":authority") ?? ""}${path.slice(0, MAX_URI_PATH)}`;
}

function count(s: FilterCallbacks, stat: Stat): void {
  s.ctx.counters.inc("http", s.statPrefix, `jwt_authn.${stat}`);
}

function deny(s: FilterCallbacks, config: JwtAuthnConfig, status: JwtStatus): void {
  count(s, "denied");
  const code = status === "JwtAudienceNotAllowed" ? 403 : 401;
  if (config.stripFailureResponse) return s.respond(code, [], "");
  const realm = `Bearer realm="${originalUri(s.view)}"${status === "JwtMissed" ? "" : ', error="invalid_token"'}`;
  s.respond(code, ["content-type", "text/plain", "www-authenticate", realm], JWT_STATUS[status]);
}

export const jwtAuthnFilter: HttpFilterExtension<JwtAuthnConfig> = {
  name: JWT_AUTHN_FILTER,
  typeUrls: [TYPE.jwtAuthn],
  compile(r: Reader, typed: Obj | undefined, path: string) {
    return compileJwtAuthn(r, typed ?? {}, path);
  },
  decodeHeaders(s, config) {
    const view = s.view;
    if (config.bypassCorsPreflight && isCorsPreflight(view)) {
      count(s, "cors_preflight_bypassed");
      count(s, "allowed");
      return "continue";
    }
    const rule = config.rules.find((r) => routeMatches(r.match, view));
    if (!rule?.requires) {
      count(s, "allowed");
      return "continue";
    }
    const v: Verification = {
      s,
      config,
      now: Math.floor(Date.now() / 1000),
      metadata: undefined,
      clearRouteCache: false,
      count: (stat) => count(s, stat),
    };
    const status = verifyRequirement(v, rule.requires);
    if (status !== "Ok") {
      deny(s, config, status);
      return "stop";
    }
    count(s, "allowed");
    if (v.metadata) (view.metadata ??= new Map()).set(JWT_AUTHN_FILTER, v.metadata);
    if (v.clearRouteCache) s.clearRouteCache();
    return "continue";
  },
  statNames: () => STATS.map((st) => `jwt_authn.${st}`),
};
