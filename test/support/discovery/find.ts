// Test support: pick resources out of a translate result by name.
import type { JsonObject } from "../../../proxy/xds/types.js";
import type { TranslateResult } from "../../../operator/discovery/translate/index.js";

function byName(list: JsonObject[], name: string, key = "name"): JsonObject {
  const found = list.find((r) => r[key] === name);
  if (!found) throw new Error(`no "${name}" among ${list.map((r) => String(r[key])).join(", ")}`);
  return found;
}

export const cluster = (out: TranslateResult, name: string): JsonObject => byName(out.clusters, name);
export const assignment = (out: TranslateResult, name: string): JsonObject =>
  byName(out.endpoints, name, "cluster_name");
export const listener = (out: TranslateResult, name: string): JsonObject => byName(out.listeners, name);
export const routeConfig = (out: TranslateResult, name: string): JsonObject => byName(out.routes, name);

export function virtualHost(out: TranslateResult, routeName: string, vhostName: string): JsonObject {
  return byName(routeConfig(out, routeName)["virtual_hosts"] as JsonObject[], vhostName);
}

/** The routes of a virtual host, e.g. routesOf(out, "9080", "reviews.default.svc.cluster.local:9080"). */
export function routesOf(out: TranslateResult, routeName: string, vhostName: string): JsonObject[] {
  return virtualHost(out, routeName, vhostName)["routes"] as JsonObject[];
}

/** The endpoint addresses of a ClusterLoadAssignment, as "ip:port". */
export function addresses(cla: JsonObject): string[] {
  const localities = cla["endpoints"] as {
    lb_endpoints: { endpoint: { address: { socket_address: { address: string; port_value: number } } } }[];
  }[];
  return localities
    .flatMap((l) => l.lb_endpoints)
    .map((e) => `${e.endpoint.address.socket_address.address}:${e.endpoint.address.socket_address.port_value}`)
    .sort();
}
