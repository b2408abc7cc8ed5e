// envoy.filters.http.router: the chain's last filter; the route's action (forward upstream, redirect, direct response).
// suppress_envoy_headers (Istio's proxyHeaders.envoyDebugHeaders.disabled): the router adds none of its x-envoy-*
// headers (x-envoy-overloaded on a circuit breaker's 503); the HCM's and other filters' (x-envoy-attempt-count, the
// virtual host's; x-envoy-internal, x-envoy-external-address) stay, as Envoy's. Read once per HCM (its
// suppressEnvoyHeaders), never per request.
import { TYPE } from "../../xds/types.js";
import { configOf, type FilterConfig, type HttpFilterExtension } from "./api.js";
import { onlyKnown } from "../config/read.js";

export interface RouterConfig {
  /** suppress_envoy_headers: the router's own x-envoy-* headers are not added. */
  readonly suppressEnvoyHeaders: boolean;
}

const SUPPRESSED: RouterConfig = Object.freeze({ suppressEnvoyHeaders: true });

export const routerFilter: HttpFilterExtension<RouterConfig | undefined> = {
  name: "envoy.filters.http.router",
  typeUrls: [TYPE.router],
  // Its other options (start_child_span, upstream_log, dynamic_stats, ...) are not implemented: each is refused when
  // set, not taken and ignored.
  compile: (r, typed, path) => {
    if (!typed) return undefined;
    onlyKnown(r, typed, path, ["suppress_envoy_headers"], "Router");
    return r.bool(typed, "suppress_envoy_headers", path) ? SUPPRESSED : undefined;
  },
  decodeHeaders(s) {
    s.routeRequest();
    return "stop";
  },
  terminal: true,
};

/** Whether the chain's router (its last filter) suppresses its x-envoy-* headers. */
export const suppressesEnvoyHeaders = (last: FilterConfig | undefined): boolean =>
  configOf(last, routerFilter)?.suppressEnvoyHeaders === true;
