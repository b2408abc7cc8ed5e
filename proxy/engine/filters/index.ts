// The HTTP filter registry: every filter the engine implements, found by typed_config type URL or by Envoy's name.
// A filter not here is refused at config time, naming it. A new filter: one file in this folder (its
// HttpFilterExtension, api.ts), one line below, and its .proto in proxy/xds/protos.ts (a test names a missing one).
import { typeName } from "../../xds/types.js";
import type { HttpFilterExtension } from "./api.js";
import { corsFilter } from "./cors.js";
import { faultFilter } from "./fault.js";
import { grpcWebFilter } from "./grpc-web.js";
import { jwtAuthnFilter } from "./jwt-authn.js";
import { localRateLimitFilter } from "./ratelimit.js";
import { rbacFilter } from "./rbac.js";
import { routerFilter } from "./router.js";

export const HTTP_FILTERS: readonly HttpFilterExtension<unknown>[] = [
  faultFilter,
  localRateLimitFilter,
  corsFilter,
  grpcWebFilter,
  jwtAuthnFilter,
  rbacFilter,
  routerFilter,
];

const byType = new Map(HTTP_FILTERS.flatMap((f) => f.typeUrls.map((url) => [typeName(url), f] as const)));
const byName = new Map(HTTP_FILTERS.map((f) => [f.name, f] as const));

/** The filter whose typed_config has this type (the @type's name, without type.googleapis.com/). */
export function filterByType(type: string): HttpFilterExtension<unknown> | undefined {
  return byType.get(type);
}

/** The filter Envoy knows by this name. */
export function filterByName(name: string): HttpFilterExtension<unknown> | undefined {
  return byName.get(name);
}
