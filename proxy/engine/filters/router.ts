// envoy.filters.http.router: the chain's last filter; the route's action (forward upstream, redirect, direct response).
import { TYPE } from "../../xds/types.js";
import type { HttpFilterExtension } from "./api.js";
import { onlyKnown } from "../config/read.js";

export const routerFilter: HttpFilterExtension<undefined> = {
  name: "envoy.filters.http.router",
  typeUrls: [TYPE.router],
  // Its options (suppress_envoy_headers, start_child_span, upstream_log, dynamic_stats, ...) are not implemented:
  // each is refused when set, not taken and ignored.
  compile: (r, typed, path) => {
    if (typed) onlyKnown(r, typed, path, [], "Router");
    return undefined;
  },
  decodeHeaders(s) {
    s.routeRequest();
    return "stop";
  },
  terminal: true,
};
