// Outbound TLS (and HTTPS) service ports, as Istio's sidecar builds them (buildSidecarOutboundTLSFilterChainOpts): the
// bytes pass through as they are, and a connection is told apart by the server name its ClientHello asks for (SNI).
// A service with a virtual IP gets that IP's listener; one without (an external host: a ServiceEntry with no
// addresses) shares 0.0.0.0_<port> with the others, where its hostname is its chain's server name, and what no name
// matches goes as the outbound traffic policy says (PassthroughCluster or BlackHoleCluster), as it would without the
// listener. A VirtualService's tls routes pick the destinations by sniHosts. Pure.
import type { FilterChain, Listener, TcpProxy } from "../../../proxy/xds/resources.js";
import { TYPE } from "../../../proxy/xds/types.js";
import type { Named, OutboundTrafficMode, Service, ServicePort } from "../model/config.js";
import type { VirtualService } from "../model/istio.js";
import { BLACKHOLE, outboundName, PASSTHROUGH } from "./clusters.js";
import { TLS_INSPECTOR } from "./mtls.js";
import type { RouteContext } from "./routes.js";
import { l4StaticMatch, tcpProxy } from "./tcp.js";
import { subnetKey } from "./tcp-chains.js";
import { cidrRange } from "./authz-values.js";

/** Istio's Protocol.IsTLS: ports whose connections are TLS end to end, routed by SNI. */
export const isTlsProtocol = (protocol: string): boolean => protocol === "TLS" || protocol === "HTTPS";

/** One chain: the server names it matches (none: any), the destination subnets (none: any), where its bytes go. */
export interface TlsChain {
  names: string[] | undefined;
  destinations?: string[];
  proxy: TcpProxy;
}

/**
 * A service's chains on one TLS port: its VirtualService's tls routes that apply to this proxy, each match by its
 * sniHosts (a match whose names an earlier one took is unreachable: left out, as Istio does); without any, the
 * service's own cluster, matched by the service's hostname when `shared` (on 0.0.0.0, with other services).
 */
export function tlsChains(
  ctx: RouteContext,
  service: Service,
  port: ServicePort,
  vs: Named<VirtualService> | undefined,
  shared: boolean,
): TlsChain[] {
  const at = { ...ctx, port: port.number };
  const out: TlsChain[] = [];
  const seen = new Set<string>();
  (vs?.spec.tls ?? []).forEach((route, i) => {
    const where = `VirtualService/${vs?.namespace}/${vs?.name}: spec.tls[${i}]`;
    for (const m of route.match ?? []) {
      if (!l4StaticMatch(m, { ...at, vsNamespace: vs?.namespace ?? ctx.vsNamespace })) continue;
      const names = [...new Set((m.sniHosts ?? []).map((h) => h.toLowerCase()))].sort();
      // As istiod's hashRuntimeTLSMatchPredicates: a match is its server names and destination subnets (prefix_ranges).
      const subnets = m.destinationSubnets?.length ? m.destinationSubnets : undefined;
      const key = `${names.join(",")}|${[...new Set(subnets?.map(subnetKey))].sort().join(",")}`;
      if (!names.length || seen.has(key)) continue;
      seen.add(key);
      const proxy = tcpProxy({ ...at, vsNamespace: vs?.namespace ?? ctx.vsNamespace }, route, where, statPrefix(port));
      if (proxy) out.push({ names, ...(subnets ? { destinations: subnets } : {}), proxy });
    }
  });
  if (out.length) return unshadowed(out);
  if (shared && service.hostname === "*") {
    ctx.warn(`${service.hostname}: TLS on port ${port.number} without an address needs a server name to match`);
    return [];
  }
  const cluster = outboundName(port.number, "", service.hostname);
  return [
    {
      names: shared ? [service.hostname.toLowerCase()] : undefined,
      proxy: { "@type": TYPE.tcpProxy, stat_prefix: cluster, cluster },
    },
  ];
}

const statPrefix = (port: ServicePort): string => `outbound_tls_${port.number}`;

/** The listener of a TLS port: `address` a service's VIP, or 0.0.0.0 with the policy's chain for names none has. */
export function outboundTlsListener(
  address: string,
  port: number,
  chains: TlsChain[],
  mode: OutboundTrafficMode,
): Listener {
  const filterChains: FilterChain[] = chains.map((c) => ({
    ...(c.names || c.destinations
      ? {
          filter_chain_match: {
            ...(c.destinations ? { prefix_ranges: c.destinations.map(cidrRange) } : {}),
            ...(c.names ? { server_names: c.names } : {}),
          } as FilterChain["filter_chain_match"],
        }
      : {}),
    filters: [{ name: "envoy.filters.network.tcp_proxy", typed_config: c.proxy }],
  }));
  if (address === "0.0.0.0") {
    const cluster = mode === "REGISTRY_ONLY" ? BLACKHOLE : PASSTHROUGH;
    filterChains.push({
      name: `${cluster}_${port}`,
      filters: [
        {
          name: "envoy.filters.network.tcp_proxy",
          typed_config: { "@type": TYPE.tcpProxy, stat_prefix: cluster, cluster },
        },
      ],
    });
  }
  const sni = filterChains.some((c) => c.filter_chain_match?.server_names);
  return {
    "@type": TYPE.listener,
    name: `${address}_${port}`,
    address: { socket_address: { address, port_value: port } },
    bind_to_port: false,
    traffic_direction: "OUTBOUND",
    ...(sni ? { listener_filters: [TLS_INSPECTOR] as Listener["listener_filters"] } : {}),
    filter_chains: filterChains,
  };
}

/**
 * The 0.0.0.0_<port> listeners of TLS ports without virtual IPs. A server name two services claim stays the first's
 * (Envoy refuses a listener whose chains repeat one); a port an HTTP listener holds on 0.0.0.0 stays HTTP. Both said.
 */
export function sharedTlsListeners(
  ctx: RouteContext,
  byPort: Map<number, (TlsChain & { owner: string })[]>,
  httpPorts: ReadonlyMap<number, unknown>,
  mode: OutboundTrafficMode,
): Listener[] {
  const out: Listener[] = [];
  for (const [port, chains] of [...byPort.entries()].sort((a, b) => a[0] - b[0])) {
    if (httpPorts.has(port)) {
      const owners = [...new Set(chains.map((c) => c.owner))].join(", ");
      ctx.warn(`${owners}: TLS on port ${port} without an address is not served: 0.0.0.0:${port} is HTTP`);
      continue;
    }
    const kept = unshadowed(chains, (c, n, by) => {
      // The same route seen again (a VirtualService whose hosts cover two services) is no conflict.
      if (by.owner !== c.owner && JSON.stringify(by.proxy) !== JSON.stringify(c.proxy))
        ctx.warn(`${c.owner}: server name ${n} on port ${port} is ${by.owner}'s`);
    });
    out.push(outboundTlsListener("0.0.0.0", port, kept, mode));
  }
  return out;
}

/**
 * Leaves out of each chain what an earlier chain holds, a server name under a destination range (or under none):
 * Envoy refuses two chains whose matches meet, and the earlier one is what istiod's order means. A chain whose ranges
 * keep different names splits, one chain per set of names.
 */
export function unshadowed<C extends TlsChain>(chains: readonly C[], held?: (c: C, name: string, by: C) => void): C[] {
  const holder = new Map<string, C>(); // range key ("*": none) | name ("": none)
  const out: C[] = [];
  for (const c of chains) {
    const byNames = new Map<string, { names: string[]; ranges: string[] }>();
    for (const d of c.destinations ?? ["*"]) {
      const range = d === "*" ? d : subnetKey(d);
      const names = (c.names ?? [""]).filter((n) => {
        const by = holder.get(`${range}|${n}`);
        if (by && by !== c) held?.(c, n, by);
        return by === undefined || by === c;
      });
      if (!names.length) continue;
      for (const n of names) holder.set(`${range}|${n}`, c);
      const group = byNames.get(names.join(",")) ?? { names, ranges: [] };
      if (!group.ranges.includes(d)) group.ranges.push(d);
      byNames.set(names.join(","), group);
    }
    for (const { names, ranges } of byNames.values())
      out.push({ ...c, names: c.names ? names : undefined, ...(c.destinations ? { destinations: ranges } : {}) });
  }
  return out;
}
