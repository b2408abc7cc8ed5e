// VirtualService `tcp` routes → the TcpProxy of a gateway's TCP listener: the first route with a match block that
// applies (port, destinationSubnets, sourceLabels, sourceNamespace, gateways; no block: always) names the cluster, or
// the weighted clusters. A sidecar's TCP listener has a chain per route instead (tcp-chains.ts). Pure.
import { BlockList, isIP } from "node:net";
import type { TcpProxy } from "../../../proxy/xds/resources.js";
import { TYPE } from "../../../proxy/xds/types.js";
import { labelsMatch, type Named } from "../model/config.js";
import type { L4MatchAttributes, L4Route, VirtualService } from "../model/istio.js";
import { qualifyGateway } from "./match.js";
import { destinationCluster, type RouteContext } from "./routes.js";

export interface L4Target {
  /** The destination address the connection was made to (a service VIP), when known. */
  address?: string;
}

/** Is `address` inside one of the CIDRs (or equal to one of the addresses)? */
export function inSubnets(address: string | undefined, subnets: string[]): boolean {
  const family = address ? isIP(address) : 0;
  if (!address || family === 0) return false;
  const list = new BlockList();
  for (const s of subnets) {
    const [net = "", bits] = s.split("/");
    const f = isIP(net);
    if (f === 0) continue;
    const type = f === 6 ? "ipv6" : "ipv4";
    if (bits === undefined) list.addAddress(net, type);
    else list.addSubnet(net, Number(bits), type);
  }
  return list.check(address, family === 6 ? "ipv6" : "ipv4");
}

/** The part of a match decided when the config is made: port, sourceLabels, sourceNamespace, gateways. */
export function l4StaticMatch(m: L4MatchAttributes, ctx: RouteContext): boolean {
  if (m.port !== undefined && m.port !== ctx.port) return false;
  if (m.sourceLabels && !labelsMatch(m.sourceLabels, ctx.labels)) return false;
  if (m.sourceNamespace !== undefined && m.sourceNamespace !== ctx.proxyNamespace) return false;
  return !m.gateways?.length || m.gateways.map((g) => qualifyGateway(g, ctx.vsNamespace)).includes(ctx.gateway);
}

/**
 * The whole match, where the chain can't match addresses (a gateway's one TCP chain): destinationSubnets against the
 * target's address when known; a match with sourceSubnet never applies there (taking it would send every client).
 */
export function l4MatchApplies(m: L4MatchAttributes, ctx: RouteContext, target: L4Target): boolean {
  if (!l4StaticMatch(m, ctx) || m.sourceSubnet !== undefined) return false;
  return !m.destinationSubnets?.length || inSubnets(target.address, m.destinationSubnets);
}

/** The first route of `routes` that applies here, with its index. */
export function firstApplying(
  routes: L4Route[] | undefined,
  ctx: RouteContext,
  target: L4Target,
): [L4Route, number] | undefined {
  const i = (routes ?? []).findIndex((r) => !r.match?.length || r.match.some((m) => l4MatchApplies(m, ctx, target)));
  const route = routes?.[i];
  return route ? [route, i] : undefined;
}

/** A TcpProxy for the first applying tcp route of the VirtualService, or undefined when none applies. */
export function tcpProxyFor(
  ctx: RouteContext,
  vs: Named<VirtualService>,
  target: L4Target,
  statPrefix: string,
): TcpProxy | undefined {
  const found = firstApplying(vs.spec.tcp, { ...ctx, vsNamespace: vs.namespace }, target);
  if (!found) return undefined;
  const [route, index] = found;
  return tcpProxy(ctx, route, `VirtualService/${vs.namespace}/${vs.name}: spec.tcp[${index}]`, statPrefix);
}

export function tcpProxy(ctx: RouteContext, route: L4Route, where: string, statPrefix: string): TcpProxy | undefined {
  const dests = route.route ?? [];
  if (!dests.length) {
    ctx.warn(`${where}: no route`);
    return undefined;
  }
  const clusters = dests.map((d, i) => ({
    name: destinationCluster(ctx, d.destination, `${where}.route[${i}]`).cluster,
    weight: dests.length === 1 ? 1 : (d.weight ?? 0),
  }));
  const weighted = clusters.filter((c) => c.weight > 0);
  const base: TcpProxy = { "@type": TYPE.tcpProxy, stat_prefix: statPrefix };
  if (weighted.length === 1) return { ...base, cluster: weighted[0]?.name };
  if (!weighted.length) {
    ctx.warn(`${where}: every weight is 0`);
    return undefined;
  }
  return { ...base, weighted_clusters: { clusters: weighted } };
}
