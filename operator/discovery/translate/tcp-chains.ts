// A sidecar's TCP service listener (one per VIP:port) as istiod's buildSidecarOutboundTCPFilterChainOpts lays it out:
// the VirtualService's tcp routes in order, the static part of each match (port, sourceLabels, sourceNamespace,
// gateways) decided here. A route without matches, or with an applying match that has no runtime part, is the last
// chain (no filter_chain_match) and ends the list; a route whose applying matches all name destinationSubnets gets a
// chain matching them (`prefix_ranges`), which Envoy picks by the connection's destination IP, longest range first.
// Without a last chain, the service's own cluster is. `sourceSubnet`, which istiod never reads (the field is hidden
// from Istio's docs), is matched as it says, by the client's IP (`source_prefix_ranges`): never ignored, which would
// send every client the route's way. A CIDR an earlier chain already holds for the same sources is left out of a
// later one (Envoy refuses two chains whose matches meet on one range), as is a chain left with none. Pure.
import type { FilterChain, TcpProxy } from "../../../proxy/xds/resources.js";
import { cidr, cidrKey } from "../../../proxy/xds/ip.js";
import { TYPE } from "../../../proxy/xds/types.js";
import type { Named } from "../model/config.js";
import type { L4MatchAttributes, VirtualService } from "../model/istio.js";
import { cidrRange } from "./authz-values.js";
import type { RouteContext } from "./routes.js";
import { l4StaticMatch, tcpProxy } from "./tcp.js";

/** One chain: the destination subnets and client subnet it matches (none: any), and where its bytes go. */
export interface TcpChain {
  destinations?: string[];
  source?: string;
  proxy: TcpProxy;
}

/** `10.1.2.3/8` and `10.0.0.0/8` are one range (Envoy masks the address); an IP alone is its /32 or /128. */
export function subnetKey(s: string): string {
  const slash = s.indexOf("/");
  const address = slash < 0 ? s : s.slice(0, slash);
  const len = slash < 0 ? (address.includes(":") ? 128 : 32) : Number(s.slice(slash + 1));
  const c = cidr(address, len);
  return typeof c === "string" ? s : cidrKey(c); // a bad one: refused by validation
}

/** The chains of a VIP:port's TCP listener; `cluster` serves what no route takes. */
export function tcpChains(
  ctx: RouteContext,
  vs: Named<VirtualService> | undefined,
  cluster: string,
  statPrefix: string,
): TcpChain[] {
  const at = { ...ctx, vsNamespace: vs?.namespace ?? ctx.vsNamespace };
  const out: TcpChain[] = [];
  const held = new Set<string>(); // source key | destination key ("*": any)
  const add = (destinations: string[] | undefined, source: string | undefined, proxy: TcpProxy) => {
    const s = source === undefined ? "*" : subnetKey(source);
    const kept = destinations?.filter(
      (d, k) => !held.has(`${s}|${subnetKey(d)}`) && destinations.findIndex((e) => subnetKey(e) === subnetKey(d)) === k,
    );
    if (kept ? !kept.length : held.has(`${s}|*`)) return;
    for (const d of kept ?? ["*"]) held.add(`${s}|${d === "*" ? d : subnetKey(d)}`);
    out.push({ ...(kept ? { destinations: kept } : {}), ...(source !== undefined ? { source } : {}), proxy });
  };
  const routes = vs?.spec.tcp ?? [];
  for (const [i, route] of routes.entries()) {
    const proxy = tcpProxy(at, route, `VirtualService/${vs?.namespace}/${vs?.name}: spec.tcp[${i}]`, statPrefix);
    if (!proxy) continue;
    const applying = route.match?.length ? route.match.filter((m) => l4StaticMatch(m, at)) : [{}];
    if (applying.some((m: L4MatchAttributes) => !m.destinationSubnets?.length && m.sourceSubnet === undefined)) {
      add(undefined, undefined, proxy);
      return out;
    }
    // One chain per client subnet (none: any client), matching the destination subnets its matches name.
    const bySource = new Map<string | undefined, string[] | undefined>();
    for (const m of applying) {
      const before = bySource.has(m.sourceSubnet) ? bySource.get(m.sourceSubnet) : [];
      const any = !m.destinationSubnets?.length || before === undefined;
      bySource.set(m.sourceSubnet, any ? undefined : [...before, ...m.destinationSubnets!]);
    }
    for (const [source, destinations] of bySource) add(destinations, source, proxy);
  }
  add(undefined, undefined, { "@type": TYPE.tcpProxy, stat_prefix: statPrefix, cluster });
  return out;
}

/** The listener's filter chains for `chains`. */
export function tcpFilterChains(chains: readonly TcpChain[]): FilterChain[] {
  return chains.map((c) => {
    const match = {
      ...(c.destinations ? { prefix_ranges: c.destinations.map(cidrRange) } : {}),
      ...(c.source !== undefined ? { source_prefix_ranges: [cidrRange(c.source)] } : {}),
    };
    return {
      ...(Object.keys(match).length ? { filter_chain_match: match as FilterChain["filter_chain_match"] } : {}),
      filters: [{ name: "envoy.filters.network.tcp_proxy", typed_config: c.proxy }],
    };
  });
}
