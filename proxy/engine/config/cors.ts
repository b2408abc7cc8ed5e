// envoy.extensions.filters.http.cors.v3.CorsPolicy (per route or virtual host in typed_per_filter_config), and the
// older envoy.config.route.v3.CorsPolicy in a route's or virtual host's `cors` field: compiled once per config.
import type { CorsConfig } from "./types.js";
import { fraction, join, type Obj, type Reader } from "./read.js";
import { stringMatcher } from "./matchers.js";

/** A RuntimeFractionalPercent's default_value as a probability; `absent` when the field isn't there. */
function runtimeFraction(r: Reader, o: Obj, key: string, path: string, absent: number): number {
  const f = r.optObj(o, key, path);
  if (!f) return absent;
  const p = join(path, key);
  const d = r.optObj(f, "default_value", p);
  if (!d) r.fail(join(p, "default_value"), "is required");
  return fraction(r, d, join(p, "default_value"));
}

/** A comma-separated header list; "" counts as not set (Envoy falls through to the next policy). */
function list(r: Reader, o: Obj, key: string, path: string): string | undefined {
  const v = r.headerValue(o, key, path);
  return v === undefined || v === "" ? undefined : v;
}

export function corsPolicy(r: Reader, o: Obj, path: string): CorsConfig {
  const origins = r.list(o, "allow_origin_string_match", path).map((m, i) => {
    const p = join(join(path, "allow_origin_string_match"), i);
    return stringMatcher(r, r.obj(m, p), p, "wire");
  });
  const maxAge = typeof o.max_age === "number" ? String(o.max_age) : list(r, o, "max_age", path);
  return {
    origins,
    anyOrigin: origins.some((t) => t("*")),
    allowMethods: list(r, o, "allow_methods", path),
    allowHeaders: list(r, o, "allow_headers", path),
    exposeHeaders: list(r, o, "expose_headers", path),
    maxAge,
    allowCredentials: r.bool(o, "allow_credentials", path),
    allowPrivateNetworkAccess: r.bool(o, "allow_private_network_access", path),
    forwardNotMatchingPreflights: r.bool(o, "forward_not_matching_preflights", path),
    enabled: runtimeFraction(r, o, "filter_enabled", path, 1),
    shadow: runtimeFraction(r, o, "shadow_enabled", path, 0),
  };
}

/** The `cors` field of a route action or virtual host (deprecated in Envoy, still honoured as a fallback). */
export function corsField(r: Reader, o: Obj | undefined, path: string): CorsConfig | undefined {
  const c = o && r.optObj(o, "cors", path);
  return c ? corsPolicy(r, c, join(path, "cors")) : undefined;
}
