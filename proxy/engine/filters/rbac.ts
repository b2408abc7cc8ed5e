// envoy.filters.http.rbac: the RBAC policy (rules and shadow rules) of the listener's filter, or a route's
// RBACPerRoute, whose absence of `rbac` disables the filter on that route. A denied request gets Envoy's 403.
import { anyType, join, type Obj, type Reader } from "../config/read.js";
import { TYPE, typeName } from "../../xds/types.js";
import type { RbacConfig } from "../rbac/compile.js";
import { checkRbac, compileRbac, RBAC_DENIED_BODY, rbacStatNames } from "../rbac/filter.js";
import type { HttpFilterExtension } from "./api.js";

function compile(r: Reader, o: Obj | undefined, path: string): RbacConfig | undefined {
  const typed = o ?? {};
  if (anyType(typed) !== typeName(TYPE.rbacPerRoute)) return compileRbac(r, typed, path);
  for (const k of Object.keys(typed)) if (k !== "@type" && k !== "rbac") r.fail(join(path, k), "not supported");
  const inner = r.optObj(typed, "rbac", path);
  return inner ? compileRbac(r, inner, join(path, "rbac")) : undefined;
}

export const rbacFilter: HttpFilterExtension<RbacConfig | undefined> = {
  name: "envoy.filters.http.rbac",
  typeUrls: [TYPE.rbac, TYPE.rbacPerRoute],
  compile,
  decodeHeaders(s, rbac) {
    if (!rbac || checkRbac(rbac, s.view, s.connection, s.peer, s.ctx.counters, "http", s.statPrefix)) return "continue";
    s.respond(403, ["content-type", "text/plain"], RBAC_DENIED_BODY);
    return "stop";
  },
  statNames: rbacStatNames,
};
