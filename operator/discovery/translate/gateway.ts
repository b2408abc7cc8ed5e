// Gateways: a router proxy gets a listener per HTTP (or HTTPS: TLS terminated) server port of the Gateways selecting it, and the
// VirtualServices bound to those Gateways through `gateways:` as its routes (RouteConfiguration `http.<port>`);
// a TCP server port gets a TcpProxy from the first bound VirtualService whose tcp route applies there.
import { visibleIn } from "./scope.js";
import type { TcpProxy, VirtualHost } from "../../../proxy/xds/resources.js";
import type { Named } from "../model/config.js";
import { labelsMatch } from "../model/config.js";
import type { Gateway, Server } from "../model/istio.js";
import { isHttpProtocol } from "../model/normalise.js";
import { gatewayListener, gatewayTcpListener, type GatewayTls } from "./listeners.js";
import { workloadAuthz } from "./authz.js";
import { tcpProxyFor } from "./tcp.js";
import type { ProxyIdentity } from "./proxy.js";
import { findWorkload } from "./proxy.js";
import type { RouteContext } from "./routes.js";
import { virtualServiceRoutes } from "./routes.js";
import type { TranslateResult } from "./index.js";
import { boundTo, routeConfiguration } from "./virtualhosts.js";

/**
 * As istiod: a Gateway configures the gateway proxies whose workload labels its `selector` matches (an empty
 * selector matches every one). A proxy whose workload isn't known has no labels, so only a selector-less Gateway
 * configures it: a Gateway for another gateway (`istio: egressgateway`) never does.
 */
function selects(ctx: RouteContext, gw: Named<Gateway>, proxy: ProxyIdentity): boolean {
  return labelsMatch(gw.spec.selector, findWorkload(ctx.model, proxy)?.labels ?? {});
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
    if (!boundTo(vs, gateway) || !visibleIn(vs.spec.exportTo, vs.namespace, ctx.proxyNamespace)) continue;
    const hosts = (vs.spec.hosts ?? []).filter((h) => servers.some((s) => s.hosts.some((sh) => admits(sh, h))));
    if (!hosts.length) continue;
    const routes = virtualServiceRoutes({ ...ctx, port, gateway, vsNamespace: vs.namespace }, vs);
    for (const host of hosts) {
      // httpsRedirect on a server that admits the host: plaintext is sent to https (Envoy's require_tls ALL).
      const redirect = servers.some((s) => s.tls?.httpsRedirect && s.hosts.some((sh) => admits(sh, host)));
      vhosts.push({
        name: `${host}:${port}`,
        domains: host === "*" ? ["*"] : [host, `${host}:${port}`],
        routes,
        ...(redirect ? { require_tls: "ALL" as const } : {}),
      });
    }
  }
  return vhosts;
}

/** The TcpProxy for a gateway's TCP server port: the first bound VirtualService (hosts admitted) with a tcp route there. */
function serverTcpProxy(ctx: RouteContext, gw: Named<Gateway>, servers: Server[], port: number): TcpProxy | undefined {
  const gateway = `${gw.namespace}/${gw.name}`;
  for (const vs of ctx.model.virtualServices) {
    if (!boundTo(vs, gateway) || !vs.spec.tcp?.length) continue;
    if (!visibleIn(vs.spec.exportTo, vs.namespace, ctx.proxyNamespace)) continue;
    if (!(vs.spec.hosts ?? []).some((h) => servers.some((s) => s.hosts.some((sh) => admits(sh, h))))) continue;
    const proxy = tcpProxyFor({ ...ctx, port, gateway }, vs, {}, `outbound_0.0.0.0_${port}`);
    if (proxy) return proxy;
  }
  return undefined;
}

/** A terminating server's DownstreamTlsContext (its files, mounted into the gateway; MUTUAL checks client certificates). */
function serverTls(s: Server): GatewayTls | undefined {
  const t = s.port.protocol.toUpperCase() === "HTTPS" ? s.tls : undefined;
  if (!t?.serverCertificate || !t.privateKey) return undefined;
  return {
    certificateChain: t.serverCertificate,
    privateKey: t.privateKey,
    clientCa: t.mode === "MUTUAL" ? t.caCertificates : undefined,
  };
}

export function buildGateways(ctx: RouteContext, proxy: ProxyIdentity, out: TranslateResult): void {
  const byPort = new Map<number, VirtualHost[]>();
  const tcpByPort = new Map<number, TcpProxy>();
  const grpcWeb = new Set<number>();
  /** Per HTTP port, the TLS its first server set (one filter chain: servers that differ are left out, warned). */
  const tlsByPort = new Map<number, GatewayTls | undefined>();
  for (const gw of ctx.model.gateways) {
    if (!selects(ctx, gw, proxy)) continue;
    const servers = gw.spec.servers ?? [];
    const ports = new Set(servers.map((s) => s.port.number));
    for (const port of ports) {
      const onPort = servers.filter((s) => s.port.number === port);
      const http = onPort.filter((s) => {
        const protocol = s.port.protocol.toUpperCase();
        if (!isHttpProtocol(protocol) && protocol !== "HTTPS") return false;
        const tls = serverTls(s);
        if (!tlsByPort.has(port)) tlsByPort.set(port, tls);
        if (JSON.stringify(tlsByPort.get(port)) === JSON.stringify(tls)) return true;
        // One certificate per port (no SNI selection yet): another would be a second filter chain.
        ctx.warn(
          `Gateway/${gw.namespace}/${gw.name}: port ${port}: a server with other TLS than the port's first is left out`,
        );
        return false;
      });
      const tcp = onPort.filter((s) => s.port.protocol.toUpperCase() === "TCP");
      if (http.length + tcp.length < onPort.length) {
        ctx.warn(`Gateway/${gw.namespace}/${gw.name}: port ${port}: only HTTP and TCP servers are served so far`);
      }
      if (tcp.length) {
        const p = serverTcpProxy(ctx, gw, tcp, port);
        if (!p) ctx.warn(`Gateway/${gw.namespace}/${gw.name}: TCP port ${port}: no VirtualService tcp route applies`);
        else if (!tcpByPort.has(port) && !http.length) tcpByPort.set(port, p);
      }
      if (!http.length) continue;
      if (http.some((s) => s.port.protocol.toUpperCase() === "GRPC-WEB")) grpcWeb.add(port);
      byPort.set(port, [...(byPort.get(port) ?? []), ...serverVirtualHosts(ctx, gw, http, port)]);
    }
  }
  const authz = workloadAuthz(ctx.model, proxy);
  for (const [port, p] of [...tcpByPort.entries()].sort((a, b) => a[0] - b[0])) {
    if (!byPort.has(port)) out.listeners.push(gatewayTcpListener(port, p, authz));
  }
  for (const [port, vhosts] of [...byPort.entries()].sort((a, b) => a[0] - b[0])) {
    out.listeners.push(gatewayListener(port, ctx.model.mesh, authz, grpcWeb.has(port), tlsByPort.get(port)));
    if (!vhosts.some((vh) => (vh.domains ?? []).includes("*"))) {
      vhosts.push({
        name: "blackhole:" + port,
        domains: ["*"],
        routes: [{ name: "default", match: { prefix: "/" }, direct_response: { status: 404 } }],
      });
    }
    out.routes.push(routeConfiguration(`http.${port}`, vhosts));
  }
}
