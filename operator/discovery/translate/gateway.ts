// Gateways: a router proxy gets a listener per server port of the Gateways selecting it: an HTTP port routed by the
// VirtualServices bound to those Gateways through `gateways:` (RouteConfiguration `http.<port>`); a TLS port (HTTPS
// and TLS servers) with a chain per server by SNI, terminating TLS (SIMPLE, MUTUAL, OPTIONAL_MUTUAL, ISTIO_MUTUAL) or
// passing it through (PASSTHROUGH, a chain per tls route), both kinds on one port as istiod merges them; a TCP server
// port gets a TcpProxy from the first bound VirtualService whose tcp route applies there.
import { attemptCount } from "./proxy-headers.js";
import type { Observes } from "./telemetry.js";
import { visibleIn } from "./scope.js";
import type { Secret, TcpProxy, VirtualHost } from "../../../proxy/xds/resources.js";
import type { Named } from "../model/config.js";
import { labelsMatch } from "../model/config.js";
import type { Gateway, Server, ServerTLSSettings } from "../model/istio.js";
import type { TlsParameters_TlsProtocol } from "../../../proxy/xds/generated/envoy/extensions/transport_sockets/tls/v3.js";
import { isHttpProtocol } from "../model/normalise.js";
import {
  gatewayListener,
  gatewayTcpListener,
  withChecks,
  type GatewayChain,
  type GatewayTls,
} from "./gateway-listeners.js";
import { credentialTls } from "./gateway-credentials.js";
import { passesThrough, passthroughChains } from "./gateway-passthrough.js";
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
        ...attemptCount(ctx.model.mesh),
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

/**
 * A terminating server's TLS: mounted files, its credentialName's Secret (with the Secrets to serve over SDS), or under
 * ISTIO_MUTUAL the gateway's own mesh certificate, which only a proxy holding one (`mesh`: on 15012) has.
 */
function serverTls(
  ctx: RouteContext,
  s: Server,
  where: string,
  refusal: string | undefined,
  mesh: boolean,
): { tls: GatewayTls; secrets: Secret[] } | { warning: string } | undefined {
  const t = s.tls;
  if (!t) return undefined;
  if (t.mode === "ISTIO_MUTUAL")
    return mesh
      ? { tls: { kind: "mesh", ...withChecks(t) }, secrets: [] }
      : {
          warning: `${where}.tls.mode: ISTIO_MUTUAL presents the gateway's mesh certificate and this proxy has none (it connected on plaintext xDS, not 15012 with a workload certificate); the server is left out`,
        };
  const secretField = t.credentialNames?.length ? "credentialNames" : "credentialName";
  if ((t.credentialName || t.credentialNames?.length) && refusal)
    return { warning: `${where}.tls.${secretField}: ${refusal}; the server is left out` };
  if (t.credentialName || t.credentialNames?.length) return credentialTls(ctx.model, ctx.proxyNamespace, t, where);
  // tlsCertificates (an RSA and an ECDSA pair), else serverCertificate and privateKey.
  const pairs = t.tlsCertificates?.length ? t.tlsCertificates : [t];
  if (pairs.some((p) => !p.serverCertificate || !p.privateKey)) return undefined;
  const certificates = pairs.map((p) => ({
    certificateChain: p.serverCertificate as string,
    privateKey: p.privateKey as string,
  }));
  const optional = t.mode === "OPTIONAL_MUTUAL";
  const clientCa = t.mode === "MUTUAL" || optional ? t.caCertificates : undefined;
  return {
    tls: {
      kind: "files",
      certificates,
      clientCa,
      ...(optional ? { optional } : {}),
      ...(clientCa ? withChecks(t) : {}),
    },
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

/** A server's hosts less their `namespace/`, each once, as the names a TLS client may ask for (`*`: every name). */
function hostNames(s: Server): string[] {
  return [...new Set(s.hosts.map((h) => (h.includes("/") ? h.slice(h.indexOf("/") + 1) : h).toLowerCase()))].sort();
}

/** As istiod's getSNIHostsForServer: the hosts less their `namespace/`, each once; none for `*` (every name). */
function sniHosts(s: Server): string[] | undefined {
  const hosts = hostNames(s);
  return hosts.includes("*") ? undefined : hosts;
}

/** A port's TLS chains so far (HTTPS and TLS servers, terminated or passed through), and what they take. */
interface TlsPort {
  chains: GatewayChain[];
  /** The server names a chain matches: terminating servers' hosts, passthrough routes' SNI names. */
  names: Set<string>;
  /** A terminating chain takes every name (a `*` host). */
  catchAll: boolean;
  /** Each server host on the port: the server that has it, and whether that server passes TLS through. */
  hosts: Map<string, { where: string; through: boolean }>;
}

/**
 * As istiod's CheckDuplicates across kinds: a name is either passed through or terminated on a port. The other kind's
 * server that has one of `s`'s hosts, or undefined.
 */
function otherKind(tlsPort: TlsPort, s: Server, through: boolean): { host: string; where: string } | undefined {
  for (const host of hostNames(s)) {
    const had = tlsPort.hosts.get(host);
    if (had && had.through !== through) return { host, where: had.where };
  }
  return undefined;
}

/** `refusal`: why the proxy may not have its namespace's Secrets (credentialRefusal); undefined: it may. */
export function buildGateways(
  ctx: RouteContext & Observes,
  proxy: ProxyIdentity,
  out: TranslateResult,
  refusal?: string,
): void {
  // A proxy on 15012 holds its mesh certificate (ISTIO_MUTUAL servers present it).
  const mesh = proxy.mtls === true;
  const byPort = new Map<number, VirtualHost[]>();
  const tcpByPort = new Map<number, TcpProxy>();
  const grpcWeb = new Set<number>();
  /** Per port, its TLS servers' chains (one per server by SNI, or per tls route), or undefined for plaintext HTTP. */
  const tlsByPort = new Map<number, TlsPort | undefined>();
  const tables: { name: string; vhosts: VirtualHost[] }[] = [];
  const secrets = new Map<string, Secret>();
  for (const gw of ctx.model.gateways) {
    if (!selects(ctx, gw, proxy)) continue;
    const servers = gw.spec.servers ?? [];
    const ports = new Set(servers.map((s) => s.port.number));
    const named = `Gateway/${gw.namespace}/${gw.name}`;
    for (const port of ports) {
      const onPort = servers.filter((s) => s.port.number === port);
      const http = onPort.filter((s) => {
        const protocol = s.port.protocol.toUpperCase();
        const tls = protocol === "HTTPS" || protocol === "TLS";
        if (!isHttpProtocol(protocol) && !tls) return false;
        if (!tlsByPort.has(port))
          tlsByPort.set(port, tls ? { chains: [], names: new Set(), catchAll: false, hosts: new Map() } : undefined);
        if (tls === (tlsByPort.get(port) !== undefined)) return true;
        // One kind per port: TLS chains and a plaintext one would need the TLS inspector to tell them apart.
        ctx.warn(`${named}: port ${port}: a server with other TLS than the port's first is left out`);
        return false;
      });
      const tcp = onPort.filter((s) => s.port.protocol.toUpperCase() === "TCP");
      if (http.length + tcp.length < onPort.length) {
        ctx.warn(`${named}: port ${port}: only HTTP, HTTPS, TLS and TCP servers are served so far`);
      }
      if (tcp.length) {
        const p = serverTcpProxy(ctx, gw, tcp, port);
        if (!p) ctx.warn(`${named}: TCP port ${port}: no VirtualService tcp route applies`);
        else if (!tcpByPort.has(port) && !http.length) tcpByPort.set(port, p);
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
        const through = passesThrough(s);
        const clash = otherKind(tlsPort, s, through);
        if (clash) {
          ctx.warn(
            `${where}: port ${port}: host ${clash.host} is already served on this port by ${clash.where}, which ${through ? "terminates TLS" : "passes TLS through"}: a name is passed through or terminated, not both; this server is left out`,
          );
          continue;
        }
        const taken = () =>
          hostNames(s).forEach((h) => tlsPort.hosts.set(h, tlsPort.hosts.get(h) ?? { where, through }));
        if (through) {
          const chains = passthroughChains(ctx, gw, [s], port, admitsFor(gw), tlsPort.names);
          if (!chains.length) ctx.warn(`${where}: TLS port ${port}: no VirtualService tls route applies`);
          tlsPort.chains.push(...chains.map((c) => ({ serverNames: c.names, tcp: c.proxy })));
          taken();
          continue;
        }
        const tls = serverTls(ctx, s, where, refusal, mesh);
        if (!tls) continue; // validation refuses it
        if ("warning" in tls) {
          ctx.warn(tls.warning);
          continue;
        }
        // A TLS server terminating TLS (ISTIO_MUTUAL) proxies the bytes as a bound VirtualService's tcp route says.
        const tcpProxy = s.port.protocol.toUpperCase() === "TLS" ? serverTcpProxy(ctx, gw, [s], port) : undefined;
        if (s.port.protocol.toUpperCase() === "TLS" && !tcpProxy) {
          ctx.warn(`${where}: TLS port ${port}: no VirtualService tcp route applies`);
          continue;
        }
        // Istio's names: one route table per HTTPS server, its chain matched by the server's hosts.
        const all = sniHosts(s);
        const names = all?.filter((n) => !tlsPort.names.has(n));
        if (names?.length === 0 || (!all && tlsPort.catchAll) || (names && names.length < (all?.length ?? 0))) {
          const some = !!names?.length;
          ctx.warn(
            `${where}: port ${port}: ${some ? "some of its hosts are" : "its hosts are"} another server's on this port: ${some ? "those are" : "it is"} left out`,
          );
          if (names?.length === 0 || !all) continue;
        }
        for (const n of names ?? []) tlsPort.names.add(n);
        if (!all) tlsPort.catchAll = true;
        taken();
        for (const secret of tls.secrets) secrets.set(secret.name ?? "", secret);
        const chain = { serverNames: names, tls: tls.tls, params: tlsParams(s) };
        if (tcpProxy) {
          tlsPort.chains.push({ ...chain, tcp: tcpProxy });
          continue;
        }
        const routeName = `https.${port}.${s.port.name}.${gw.name}.${gw.namespace}`;
        tlsPort.chains.push({ ...chain, routeName });
        tables.push({ name: routeName, vhosts: serverVirtualHosts(ctx, gw, [s], port) });
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
