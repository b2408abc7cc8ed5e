// Gateways: a router proxy gets a listener per HTTP server port of the Gateways selecting it, and the
// VirtualServices bound to those Gateways through `gateways:` as its routes (RouteConfiguration `http.<port>`).
import type { VirtualHost } from "../../../proxy/xds/resources.js";
import type { Named } from "../model/config.js";
import { labelsMatch } from "../model/config.js";
import type { Gateway, Server } from "../model/istio.js";
import { isHttpProtocol } from "../model/normalise.js";
import { gatewayListener } from "./listeners.js";
import type { ProxyIdentity } from "./proxy.js";
import { findWorkload } from "./proxy.js";
import type { RouteContext } from "./routes.js";
import { virtualServiceRoutes } from "./routes.js";
import type { TranslateResult } from "./index.js";
import { boundTo, routeConfiguration } from "./virtualhosts.js";

function selects(ctx: RouteContext, gw: Named<Gateway>, proxy: ProxyIdentity): boolean {
  const workload = findWorkload(ctx.model, proxy);
  if (!workload) return gw.namespace === proxy.namespace;
  return labelsMatch(gw.spec.selector, workload.labels);
}

/** A server host is `host`, `ns/host` or `*`/`*.suffix`; it admits a VirtualService host when they overlap. */
function admits(serverHost: string, vsHost: string): boolean {
  const host = serverHost.includes("/") ? serverHost.slice(serverHost.indexOf("/") + 1) : serverHost;
  if (host === "*" || vsHost === "*") return true;
  if (host.startsWith("*.")) return vsHost.endsWith(host.slice(1));
  if (vsHost.startsWith("*.")) return host.endsWith(vsHost.slice(1));
  return host === vsHost;
}

function serverVirtualHosts(ctx: RouteContext, gw: Named<Gateway>, servers: Server[], port: number): VirtualHost[] {
  const gateway = `${gw.namespace}/${gw.name}`;
  const vhosts: VirtualHost[] = [];
  for (const vs of ctx.model.virtualServices) {
    if (!boundTo(vs, gateway)) continue;
    const hosts = (vs.spec.hosts ?? []).filter((h) => servers.some((s) => s.hosts.some((sh) => admits(sh, h))));
    if (!hosts.length) continue;
    const routes = virtualServiceRoutes({ ...ctx, port, gateway, vsNamespace: vs.namespace }, vs);
    for (const host of hosts) {
      vhosts.push({ name: `${host}:${port}`, domains: host === "*" ? ["*"] : [host, `${host}:${port}`], routes });
    }
  }
  return vhosts;
}

export function buildGateways(ctx: RouteContext, proxy: ProxyIdentity, out: TranslateResult): void {
  const byPort = new Map<number, VirtualHost[]>();
  for (const gw of ctx.model.gateways) {
    if (!selects(ctx, gw, proxy)) continue;
    const servers = gw.spec.servers ?? [];
    const ports = new Set(servers.map((s) => s.port.number));
    for (const port of ports) {
      const onPort = servers.filter((s) => s.port.number === port);
      const http = onPort.filter((s) => isHttpProtocol(s.port.protocol.toUpperCase()));
      if (http.length < onPort.length) {
        ctx.warn(`Gateway/${gw.namespace}/${gw.name}: port ${port}: only HTTP servers are served so far`);
      }
      if (!http.length) continue;
      byPort.set(port, [...(byPort.get(port) ?? []), ...serverVirtualHosts(ctx, gw, http, port)]);
    }
  }
  for (const [port, vhosts] of [...byPort.entries()].sort((a, b) => a[0] - b[0])) {
    out.listeners.push(gatewayListener(port));
    if (!vhosts.some((vh) => (vh.domains ?? []).includes("*"))) {
      vhosts.push({ name: "blackhole:" + port, domains: ["*"], routes: [{ name: "default", match: { prefix: "/" }, direct_response: { status: 404 } }] });
    }
    out.routes.push(routeConfiguration(`http.${port}`, vhosts));
  }
}
