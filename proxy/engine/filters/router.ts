// envoy.filters.http.router: the chain's last filter; the route's action (forward upstream, redirect, direct response).
import { TYPE } from "../../xds/types.js";
import type { HttpFilterExtension } from "./api.js";

export const routerFilter: HttpFilterExtension<undefined> = {
  name: "envoy.filters.http.router",
  typeUrls: [TYPE.router],
  compile: () => undefined,
  decodeHeaders(s) {
    s.routeRequest();
    return "stop";
  },
  terminal: true,
};
