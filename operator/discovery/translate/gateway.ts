// Gateways: a router proxy gets a listener per HTTP (or HTTPS: TLS terminated) server port of the Gateways selecting it, and the
// VirtualServices bound to those Gateways through `gateways:` as its routes (RouteConfiguration `http.<port>`);
// a TCP server port gets a TcpProxy from the first bound VirtualService whose tcp route applies there.
import type { Observes } from "./telemetry.js";
import { visibleIn } from "./scope.js";
import type { Secret, TcpProxy, VirtualHost } from "../../../proxy/xds/resources.js";
import type { Named } from "../model/config.js";
import { labelsMatch } from "../model/config.js";
import type { Gateway, Server, ServerTLSSettings } from "../model/istio.js";
import type { TlsParameters_TlsProtocol } from "../../../proxy/xds/generated/envoy/extensions/transport_sockets/tls/v3.js";
import { isHttpProtocol } from "../model/normalise.js";
import { gatewayListener, gatewayTcpListener, type GatewayChain, type GatewayTls } from "./gateway-listeners.js";
import { credentialTls } from "./gateway-credentials.js";
import { gatewayPassthroughListener, passesThrough, passthroughChains } from "./gateway-passthrough.js";
import type { TlsChain } from "./tls-outbound.js";
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

/**
 * A server host is `host`, `ns/host` or `*`/`*.suffix`; it admits a host of a VirtualService in `vsNamespace` when
 * they overlap and, under `ns/`, the VirtualService is in that namespace (`.`: the Gateway's, `*`: any), as istiod's
 * pickMatchingGatewayHosts: a Gateway's owner decides which namespaces may route its names.
 */
export type Admits = (serverHost: string, vsNamespace: string, vsHost: string) => boolean;

/** `admits` for Gateway `gw`. */
const admitsFor =
  (gw: Named<Gateway>): Admits =>
  (serverHost, vsNamespace, vsHost) => {
    const slash = serverHost.indexOf("/");
    if (slash >= 0) {
      const ns = serverHost.slice(0, slash);
      if (ns !== "*" && (ns === "." ? gw.namespace : ns) !== vsNamespace) return false;
    }
    return overlaps(slash >= 0 ? serverHost.slice(slash + 1) : serverHost, vsHost);
  };

function overlaps(host: string, vsHost: string): boolean {
  if (host === "*" || vsHost === "*") return true;
  if (host.startsWith("*.")) return vsHost.endsWith(host.slice(1));
  if (vsHost.startsWith("*.")) return host.endsWith(vsHost.slice(1));
  return host === vsHost;
}

function serverVirtualHosts(ctx: RouteContext, gw: Named<Gateway>, servers: Server[], port: number): VirtualHost[] {
  const gateway = `${gw.namespace}/${gw.name}`;
  const admits = admitsFor(gw);
  const vhosts: VirtualHost[] = [];
  for (const vs of ctx.model.virtualServices) {
    if (!boundTo(vs, gateway) || !visibleIn(vs.spec.exportTo, vs.namespace, ctx.proxyNamespace)) continue;
    const hosts = (vs.spec.hosts ?? []).filter((h) =>
      servers.some((s) => s.hosts.some((sh) => admits(sh, vs.namespace, h))),
    );
    if (!hosts.length) continue;
    const routes = virtualServiceRoutes({ ...ctx, port, gateway, vsNamespace: vs.namespace }, vs);
    for (const host of hosts) {
      // httpsRedirect on a server that admits the host: plaintext is sent to https (Envoy's require_tls ALL).
      const redirect = servers.some(
        (s) => s.tls?.httpsRedirect && s.hosts.some((sh) => admits(sh, vs.namespace, host)),
      );
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
  const admits = admitsFor(gw);
  for (const vs of ctx.model.virtualServices) {
    if (!boundTo(vs, gateway) || !vs.spec.tcp?.length) continue;
    if (!visibleIn(vs.spec.exportTo, vs.namespace, ctx.proxyNamespace)) continue;
    const hosts = vs.spec.hosts ?? [];
    if (!hosts.some((h) => servers.some((s) => s.hosts.some((sh) => admits(sh, vs.namespace, h))))) continue;
    const proxy = tcpProxyFor({ ...ctx, port, gateway }, vs, {}, `outbound_0.0.0.0_${port}`);
    if (proxy) return proxy;
  }
  return undefined;
}

/** An HTTPS server's TLS: mounted files, or its credentialName's Secret (with the Secrets to serve over SDS). */
function serverTls(
  ctx: RouteContext,
  s: Server,
  where: string,
  refusal: string | undefined,
): { tls: GatewayTls; secrets: Secret[] } | { warning: string } | undefined {
  const t = s.tls;
  if (!t) return undefined;
  if (t.credentialName && refusal)
    return { warning: `${where}.tls.credentialName: ${refusal}; the server is left out` };
  if (t.credentialName) return credentialTls(ctx.model, ctx.proxyNamespace, t, where);
  if (!t.serverCertificate || !t.privateKey) return undefined;
  const clientCa = t.mode === "MUTUAL" ? t.caCertificates : undefined;
  return {
    tls: { kind: "files", certificateChain: t.serverCertificate, privateKey: t.privateKey, clientCa },
    secrets: [],
  };
}

/** A server's TLS versions and cipher suites as istiod writes them (tls_params); undefined when it sets none. */
function tlsParams(s: Server): GatewayChain["params"] {
  const t = s.tls;
  // Istio's TLSV1_2 is Envoy's TLSv1_2.
  const version = (v: ServerTLSSettings["minProtocolVersion"]): TlsParameters_TlsProtocol | undefined =>
    v === undefined ? undefined : v === "TLS_AUTO" ? v : (v.replace("TLSV", "TLSv") as TlsParameters_TlsProtocol);
  const min = version(t?.minProtocolVersion);
  const max = version(t?.maxProtocolVersion);
  const suites = t?.cipherSuites?.length ? t.cipherSuites : undefined;
  if (!min && !max && !suites) return undefined;
  return {
    ...(min ? { tls_minimum_protocol_version: min } : {}),
    ...(max ? { tls_maximum_protocol_version: max } : {}),
    ...(suites ? { cipher_suites: suites } : {}),
  };
}

/** As istiod's getSNIHostsForServer: the hosts less their `namespace/`, each once; none for `*` (every name). */
function sniHosts(s: Server): string[] | undefined {
  const hosts = [...new Set(s.hosts.map((h) => (h.includes("/") ? h.slice(h.indexOf("/") + 1) : h).toLowerCase()))];
  return hosts.includes("*") ? undefined : hosts.sort();
}

/** A port's HTTPS chains so far: the server names taken, whether a chain takes every name. */
interface TlsPort {
  chains: GatewayChain[];
  names: Set<string>;
  catchAll: boolean;
}

/** `refusal`: why the proxy may not have its namespace's Secrets (credentialRefusal); undefined: it may. */
export function buildGateways(
  ctx: RouteContext & Observes,
  proxy: ProxyIdentity,
  out: TranslateResult,
  refusal?: string,
): void {
  const byPort = new Map<number, VirtualHost[]>();
  const tcpByPort = new Map<number, TcpProxy>();
  const grpcWeb = new Set<number>();
  /** Per port, its HTTPS servers' chains (one per server, by SNI), or undefined for a plaintext HTTP port. */
  const tlsByPort = new Map<number, TlsPort | undefined>();
  const tables: { name: string; vhosts: VirtualHost[] }[] = [];
  /** Per PASSTHROUGH port, its chains by server name, and the names taken. */
  const passByPort = new Map<number, TlsChain[]>();
  const passNames = new Map<number, Set<string>>();
  const passTaken = (port: number): Set<string> => {
    let t = passNames.get(port);
    if (!t) passNames.set(port, (t = new Set()));
    return t;
  };
  const secrets = new Map<string, Secret>();
  for (const gw of ctx.model.gateways) {
    if (!selects(ctx, gw, proxy)) continue;
    const servers = gw.spec.servers ?? [];
    const ports = new Set(servers.map((s) => s.port.number));
    const named = `Gateway/${gw.namespace}/${gw.name}`;
    for (const port of ports) {
      const onPort = servers.filter((s) => s.port.number === port);
      const through = onPort.filter(passesThrough);
      if (through.length) {
        if (tlsByPort.has(port) || tcpByPort.has(port)) {
          ctx.warn(`${named}: port ${port}: a PASSTHROUGH server can't share a port with other kinds: it is left out`);
        } else {
          const chains = passthroughChains(ctx, gw, through, port, admitsFor(gw), passTaken(port));
          if (!chains.length) ctx.warn(`${named}: TLS port ${port}: no VirtualService tls route applies`);
          passByPort.set(port, [...(passByPort.get(port) ?? []), ...chains]);
        }
      }
      const http = onPort.filter((s) => {
        if (passesThrough(s)) return false;
        const protocol = s.port.protocol.toUpperCase();
        if (!isHttpProtocol(protocol) && protocol !== "HTTPS") return false;
        if (passByPort.has(port)) {
          ctx.warn(`${named}: port ${port}: it passes TLS through (an earlier server): this server is left out`);
          return false;
        }
        const https = protocol === "HTTPS";
        if (!tlsByPort.has(port))
          tlsByPort.set(port, https ? { chains: [], names: new Set(), catchAll: false } : undefined);
        if (https === (tlsByPort.get(port) !== undefined)) return true;
        // One kind per port: TLS chains and a plaintext one would need the TLS inspector to tell them apart.
        ctx.warn(`${named}: port ${port}: a server with other TLS than the port's first is left out`);
        return false;
      });
      const tcp = onPort.filter((s) => s.port.protocol.toUpperCase() === "TCP");
      if (http.length + tcp.length + through.length < onPort.length) {
        ctx.warn(`${named}: port ${port}: only HTTP, HTTPS, PASSTHROUGH and TCP servers are served so far`);
      }
      if (tcp.length) {
        const p = serverTcpProxy(ctx, gw, tcp, port);
        if (!p) ctx.warn(`${named}: TCP port ${port}: no VirtualService tcp route applies`);
        else if (!tcpByPort.has(port) && !http.length && !passByPort.has(port)) tcpByPort.set(port, p);
      }
      if (!http.length) continue;
      const tlsPort = tlsByPort.get(port);
      if (!tlsPort) {
        if (http.some((s) => s.port.protocol.toUpperCase() === "GRPC-WEB")) grpcWeb.add(port);
        byPort.set(port, [...(byPort.get(port) ?? []), ...serverVirtualHosts(ctx, gw, http, port)]);
        continue;
      }
      for (const s of http) {
        const where = `${named}: spec.servers[${servers.indexOf(s)}]`;
        const tls = serverTls(ctx, s, where, refusal);
        if (!tls) continue; // validation refuses it
        if ("warning" in tls) {
          ctx.warn(tls.warning);
          continue;
        }
        // Istio's names: one route table per HTTPS server, its chain matched by the server's hosts.
        const all = sniHosts(s);
        const names = all?.filter((n) => !tlsPort.names.has(n));
        if (names?.length === 0 || (!all && tlsPort.catchAll) || (names && names.length < (all?.length ?? 0))) {
          const some = !!names?.length;
          ctx.warn(
            `${where}: port ${port}: ${some ? "some of its hosts are" : "its hosts are"} another HTTPS server's on this port: ${some ? "those are" : "it is"} left out`,
          );
          if (names?.length === 0 || !all) continue;
        }
        for (const n of names ?? []) tlsPort.names.add(n);
        if (!all) tlsPort.catchAll = true;
        const routeName = `https.${port}.${s.port.name}.${gw.name}.${gw.namespace}`;
        tlsPort.chains.push({ serverNames: names, tls: tls.tls, routeName, params: tlsParams(s) });
        tables.push({ name: routeName, vhosts: serverVirtualHosts(ctx, gw, [s], port) });
        for (const secret of tls.secrets) secrets.set(secret.name ?? "", secret);
      }
    }
  }
  const authz = workloadAuthz(ctx.model, proxy);
  for (const [port, p] of [...tcpByPort.entries()].sort((a, b) => a[0] - b[0])) {
    if (!byPort.has(port) && !tlsByPort.get(port)?.chains.length)
      out.listeners.push(gatewayTcpListener(port, p, authz));
  }
  for (const [port, vhosts] of [...byPort.entries()].sort((a, b) => a[0] - b[0])) {
    out.listeners.push(gatewayListener(port, ctx.observe("CLIENT"), authz, grpcWeb.has(port)));
    tables.push({ name: `http.${port}`, vhosts });
  }
  for (const [port, chains] of [...passByPort.entries()].sort((a, b) => a[0] - b[0]))
    if (chains.length) out.listeners.push(gatewayPassthroughListener(port, chains, authz));
  for (const [port, tlsPort] of [...tlsByPort.entries()].sort((a, b) => a[0] - b[0])) {
    if (tlsPort?.chains.length)
      out.listeners.push(gatewayListener(port, ctx.observe("CLIENT"), authz, false, tlsPort.chains));
  }
  for (const { name, vhosts } of tables) {
    if (!vhosts.some((vh) => (vh.domains ?? []).includes("*"))) {
      vhosts.push({
        name: "blackhole:" + name.split(".")[1],
        domains: ["*"],
        routes: [{ name: "default", match: { prefix: "/" }, direct_response: { status: 404 } }],
      });
    }
    out.routes.push(routeConfiguration(name, vhosts));
  }
  out.secrets.push(...[...secrets.values()].sort((a, b) => (a.name ?? "").localeCompare(b.name ?? "")));
}
