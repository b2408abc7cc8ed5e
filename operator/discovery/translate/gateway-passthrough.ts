// A gateway's PASSTHROUGH servers (protocol TLS, or HTTPS with tls.mode PASSTHROUGH), as istiod builds them: the TLS
// goes on to the backend untouched, picked by the ClientHello's server name from the bound VirtualServices' `tls`
// routes (each match's sniHosts a chain's server_names, its route a TcpProxy). A name no route claims has no chain:
// its handshake fails, as Envoy closes a connection no chain matches. Pure.
import type { Listener } from "../../../proxy/xds/resources.js";
import type { Named } from "../model/config.js";
import type { Gateway, Server } from "../model/istio.js";
import { NETWORK_RBAC_FILTER, NO_AUTHZ, type WorkloadAuthz } from "./authz.js";
import { address } from "./listeners.js";
import { TLS_INSPECTOR } from "./mtls.js";
import type { RouteContext } from "./routes.js";
import { l4MatchApplies, tcpProxy } from "./tcp.js";
import type { TlsChain } from "./tls-outbound.js";
import type { Admits } from "./gateway.js";
import { TYPE } from "../../../proxy/xds/types.js";
import { visibleIn } from "./scope.js";
import { boundTo } from "./virtualhosts.js";

/** A server that passes TLS through (Istio's default mode when a TLS or HTTPS server sets none). */
export function passesThrough(s: Server): boolean {
  const protocol = s.port.protocol.toUpperCase();
  return (protocol === "TLS" || protocol === "HTTPS") && (s.tls?.mode ?? "PASSTHROUGH") === "PASSTHROUGH";
}

/**
 * The chains for `servers` (passthrough, on `port`) of Gateway `gw`: the bound VirtualServices' tls routes whose hosts
 * a server admits, each applying match (port, gateways, source labels and namespace) by its sniHosts. A name an
 * earlier chain took stays that chain's (said).
 */
export function passthroughChains(
  ctx: RouteContext,
  gw: Named<Gateway>,
  servers: Server[],
  port: number,
  admits: Admits,
  taken: Set<string>,
): TlsChain[] {
  const gateway = `${gw.namespace}/${gw.name}`;
  const out: TlsChain[] = [];
  for (const vs of ctx.model.virtualServices) {
    if (!boundTo(vs, gateway) || !vs.spec.tls?.length) continue;
    if (!visibleIn(vs.spec.exportTo, vs.namespace, ctx.proxyNamespace)) continue;
    const admitted = (h: string) => servers.some((s) => s.hosts.some((sh) => admits(sh, vs.namespace, h)));
    if (!(vs.spec.hosts ?? []).some(admitted)) continue;
    const at = { ...ctx, port, gateway, vsNamespace: vs.namespace };
    vs.spec.tls.forEach((route, i) => {
      const where = `VirtualService/${vs.namespace}/${vs.name}: spec.tls[${i}]`;
      for (const m of route.match ?? []) {
        if (!l4MatchApplies(m, at, {})) continue;
        const names = (m.sniHosts ?? [])
          .map((h) => h.toLowerCase())
          .filter((n) => {
            if (!admitted(n)) return false;
            if (!taken.has(n)) return true;
            ctx.warn(`${where}: server name ${n} on port ${port} is an earlier route's`);
            return false;
          });
        if (!names.length) continue;
        const proxy = tcpProxy(at, route, where, `outbound_0.0.0.0_${port}`);
        if (!proxy) continue;
        for (const n of names) taken.add(n);
        out.push({ names: [...new Set(names)], proxy });
      }
    });
  }
  return out;
}

/** A gateway's listener on a passthrough port: a chain per server name set, told apart by the TLS inspector. */
export function gatewayPassthroughListener(
  port: number,
  chains: TlsChain[],
  authz: WorkloadAuthz = NO_AUTHZ,
): Listener {
  const rbac = authz.tcp.map((c) => ({ name: NETWORK_RBAC_FILTER, typed_config: c }));
  return {
    "@type": TYPE.listener,
    name: `0.0.0.0_${port}`,
    address: address(port),
    traffic_direction: "OUTBOUND",
    listener_filters: [TLS_INSPECTOR] as Listener["listener_filters"],
    filter_chains: chains.map((c) => ({
      filter_chain_match: { server_names: c.names },
      filters: [...rbac, { name: "envoy.filters.network.tcp_proxy", typed_config: c.proxy }],
    })),
  } as Listener;
}
