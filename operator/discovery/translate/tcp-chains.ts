// A sidecar's TCP service listener (one per VIP:port) as istiod's buildSidecarOutboundTCPFilterChainOpts lays it out:
// the static part of each tcp route's matches (port, sourceLabels, sourceNamespace, gateways) decided here, a route
// whose applying matches name destinationSubnets is a chain matching them (`prefix_ranges`), and the route that takes
// any other connection (one without matches, or with a match naming no subnet; else the service's own cluster) is the
// chain without a match. `sourceSubnet`, which istiod never reads (the field is hidden from Istio's docs), is matched
// as it says, by the client's IP (`source_prefix_ranges`): never ignored, which would send every client the route's
// way. Envoy picks a chain by the longest destination range that holds the address, then the longest client range,
// and never goes back; so each (destination range, client range) the routes name gets the chain the routes' order
// gives it (the first route whose match holds both), where istiod's chains would follow Envoy's order instead, or
// meet on one range and be refused. Pure.
import type { FilterChain, TcpProxy } from "../../../proxy/xds/resources.js";
import { cidr, cidrKey, inCidr, type Cidr } from "../../../proxy/xds/ip.js";
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
  const c = cidrOf(s);
  return c ? cidrKey(c) : s; // a bad one: refused by validation
}

/** The chains of a VIP:port's TCP listener; `cluster` serves what no route takes. */
export function tcpChains(
  ctx: RouteContext,
  vs: Named<VirtualService> | undefined,
  cluster: string,
  statPrefix: string,
): TcpChain[] {
  const at = { ...ctx, vsNamespace: vs?.namespace ?? ctx.vsNamespace };
  /** The routes that apply to this proxy, in order, with their applying matches; the service's cluster last. */
  const taken: { proxy: TcpProxy; applying: L4MatchAttributes[] }[] = [];
  for (const [i, route] of (vs?.spec.tcp ?? []).entries()) {
    const proxy = tcpProxy(at, route, `VirtualService/${vs?.namespace}/${vs?.name}: spec.tcp[${i}]`, statPrefix);
    if (!proxy) continue;
    const applying: L4MatchAttributes[] = route.match?.length ? route.match.filter((m) => l4StaticMatch(m, at)) : [{}];
    if (applying.length) taken.push({ proxy, applying });
  }
  taken.push({ proxy: { "@type": TYPE.tcpProxy, stat_prefix: statPrefix, cluster }, applying: [{}] });
  const matches = taken.flatMap((t) => t.applying);
  const distinct = (subnets: (string | undefined)[]) => [
    ...new Map(subnets.filter((x) => x !== undefined && cidrOf(x)).map((x) => [subnetKey(x!), x!])).values(),
  ];
  const destinations = [...distinct(matches.flatMap((m) => m.destinationSubnets ?? [])), ANY];
  const sources = [...distinct(matches.map((m) => m.sourceSubnet)), ANY];
  // Which route serves a connection to `d` from `s` (ANY: any other), in the routes' order.
  const serving = (d: string, s: string) =>
    taken.findIndex((t) =>
      t.applying.some(
        (m) =>
          (m.sourceSubnet === undefined || (s !== ANY && holds(m.sourceSubnet, s))) &&
          (!m.destinationSubnets?.length || (d !== ANY && m.destinationSubnets.some((x) => holds(x, d)))),
      ),
    );
  // A chain per (route, client subnet, whether it names destinations); a client subnet's chain only where its route
  // differs from any client's there.
  const chains = new Map<string, { route: number; chain: TcpChain }>();
  for (const d of destinations) {
    const anyClient = serving(d, ANY);
    for (const s of sources) {
      const route = serving(d, s);
      if (s !== ANY && route === anyClient) continue;
      const key = `${route}|${s}|${d === ANY}`;
      const chain: TcpChain = chains.get(key)?.chain ?? { proxy: taken[route]!.proxy };
      if (d !== ANY) chain.destinations = [...(chain.destinations ?? []), d];
      if (s !== ANY) chain.source = s;
      chains.set(key, { route, chain });
    }
  }
  return [...chains.values()].sort((x, y) => x.route - y.route).map((c) => c.chain);
}

const ANY = "*";

/** Does CIDR (or address) `outer` hold all of `inner`? */
function holds(outer: string, inner: string): boolean {
  const o = cidrOf(outer);
  const i = cidrOf(inner);
  return !!o && !!i && o.family === i.family && o.prefixLen <= i.prefixLen && inCidr(o, inner.split("/")[0]!);
}

function cidrOf(s: string): Cidr | undefined {
  const slash = s.indexOf("/");
  const address = slash < 0 ? s : s.slice(0, slash);
  const c = cidr(address, slash < 0 ? (address.includes(":") ? 128 : 32) : Number(s.slice(slash + 1)));
  return typeof c === "string" ? undefined : c;
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
