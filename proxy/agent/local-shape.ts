// Interception mode NONE (Istio's name): no iptables sends traffic to the proxy, so listeners Istio leaves
// unbound (outbound per port, found by original destination) must bind somewhere the app can reach. This turns
// the Istio-shaped config discovery serves into one a proxy on a shared host (loopback, local mode) can bind:
// - one outbound listener on <ip>:<outboundPort>, routing every service port by Host/:authority (the virtual
//   hosts of all outbound route tables, first domain wins);
// - the inbound listener split per served port, each bound on <ip>:<port>, forwarding to the app at appAddress;
// - other bound listeners (a gateway's) on <ip> instead of 0.0.0.0;
// - a TCP service's listener (found by virtual IP, which needs capture) bound on <ip>:<service port> instead, so
//   the app dials its own sidecar's IP at the service's port; dropped when the proxy binds that port already;
// - what needs capture dropped: original-destination listeners; original-destination clusters
//   (PassthroughCluster) take the destination from the request's authority instead.
// Pure.
import type { Resources } from "../engine/config/types.js";
import type { Json, JsonObject } from "../xds/types.js";

export interface LocalShapeOptions {
  /** The proxy's own address: from its node id. */
  ip: string;
  /** Port of the outbound listener the app sends to (Host names the service). Default 15001. */
  outboundPort?: number;
  /** Where the app listens: inbound clusters to 127.0.0.1 go here instead. */
  appAddress?: string;
}

export const OUTBOUND_LISTENER = "outbound";

const obj = (v: unknown): JsonObject =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? (v as JsonObject) : {};
const list = (v: unknown): Json[] => (Array.isArray(v) ? v : []);

function socketAddress(address: string, port: number): JsonObject {
  return { socket_address: { address, port_value: port } };
}

function port(l: JsonObject): number {
  return Number(obj(obj(l["address"])["socket_address"])["port_value"] ?? 0);
}

function networkFilters(chain: Json): JsonObject[] {
  return list(obj(chain)["filters"]).map(obj);
}

/** The connection manager of a listener's first filter chain, if it has one. */
function connectionManager(l: JsonObject): JsonObject | undefined {
  const typed = obj(networkFilters(list(l["filter_chains"])[0] ?? {})[0]?.["typed_config"]);
  return typed["rds"] !== undefined || typed["route_config"] !== undefined ? typed : undefined;
}

function tcpCluster(l: JsonObject): string | undefined {
  const c = obj(networkFilters(list(l["filter_chains"])[0] ?? {})[0]?.["typed_config"])["cluster"];
  return typeof c === "string" ? c : undefined;
}

function withoutCapture(l: JsonObject): JsonObject {
  const { bind_to_port: _b, use_original_dst: _u, ...rest } = l;
  return rest;
}

function shapeClusters(
  clusters: JsonObject[],
  appAddress: string | undefined,
): { clusters: JsonObject[]; dropped: Set<string> } {
  const dropped = new Set<string>();
  const out: JsonObject[] = [];
  for (const c of clusters) {
    if (c["type"] === "ORIGINAL_DST") {
      // Nothing is captured, so no connection has an original destination: TCP to these clusters is dropped,
      // and HTTP goes where the request's authority (ip:port) says, as Envoy's use_http_header.
      dropped.add(String(c["name"]));
      out.push({ ...c, original_dst_lb_config: { use_http_header: true, http_header_name: ":authority" } });
      continue;
    }
    if (appAddress && String(c["name"]).startsWith("inbound|")) {
      const la = obj(c["load_assignment"]);
      const endpoints = list(la["endpoints"]).map((e) => ({
        ...obj(e),
        lb_endpoints: list(obj(e)["lb_endpoints"]).map((lb) => {
          const sa = obj(obj(obj(obj(lb)["endpoint"])["address"])["socket_address"]);
          const address = sa["address"] === "127.0.0.1" ? appAddress : String(sa["address"]);
          return { ...obj(lb), endpoint: { address: socketAddress(address, Number(sa["port_value"])) } };
        }),
      }));
      out.push({ ...c, load_assignment: { ...la, endpoints } });
      continue;
    }
    out.push(c);
  }
  return { clusters: out, dropped };
}

/** The virtual hosts of several route tables as one: a domain stays with the first host that has it. */
export function mergeRouteTables(name: string, tables: JsonObject[]): JsonObject {
  const seen = new Set<string>();
  const virtualHosts: JsonObject[] = [];
  for (const table of tables) {
    for (const vh of list(table["virtual_hosts"]).map(obj)) {
      const domains = list(vh["domains"]).filter((d): d is string => typeof d === "string" && !seen.has(d));
      domains.forEach((d) => seen.add(d));
      if (domains.length) virtualHosts.push({ ...vh, domains });
    }
  }
  return { name, virtual_hosts: virtualHosts };
}

export function localShape(res: Resources, o: LocalShapeOptions): Resources {
  const { clusters, dropped } = shapeClusters((res.clusters ?? []).map(obj), o.appAddress);
  const routes = new Map((res.routes ?? []).map(obj).map((r) => [String(r["name"]), r]));
  const listeners: JsonObject[] = [];
  const outbound: JsonObject[] = [];
  const tcpByPort = new Map<number, JsonObject>();
  for (const l of (res.listeners ?? []).map(obj)) {
    const tcp = tcpCluster(l);
    if (l["use_original_dst"] === true || (tcp !== undefined && dropped.has(tcp)) || l["api_listener"] !== undefined)
      continue;
    const chains = list(l["filter_chains"]).map(obj);
    if (l["bind_to_port"] === false) {
      if (connectionManager(l)) outbound.push(l);
      else if (tcp !== undefined) tcpByPort.set(port(l), tcpByPort.get(port(l)) ?? l); // the first VIP's wins
      continue;
    }
    if (l["traffic_direction"] === "INBOUND") {
      // One listener per port, with that port's chains (TLS and plaintext ones keep their transport_protocol).
      const byPort = new Map<number, JsonObject[]>();
      for (const chain of chains) {
        const { destination_port: dp, ...match } = obj(chain["filter_chain_match"]);
        const target = Number(dp ?? port(l));
        const { filter_chain_match: _m, ...rest } = chain;
        const shaped = Object.keys(match).length ? { ...rest, filter_chain_match: match } : rest;
        byPort.set(target, [...(byPort.get(target) ?? []), shaped]);
      }
      for (const [target, portChains] of byPort) {
        const inspected = portChains.some((c) => c["filter_chain_match"] !== undefined);
        const { listener_filters: _f, ...base } = withoutCapture(l);
        listeners.push({
          ...base,
          ...(inspected && l["listener_filters"] !== undefined ? { listener_filters: l["listener_filters"] } : {}),
          name: `virtualInbound_${target}`,
          address: socketAddress(o.ip, target),
          filter_chains: portChains,
        });
      }
      continue;
    }
    listeners.push({ ...withoutCapture(l), address: socketAddress(o.ip, port(l)) });
  }
  const taken = new Set([o.outboundPort ?? 15001, ...listeners.map(port)]);
  for (const [p, l] of [...tcpByPort.entries()].sort((a, b) => a[0] - b[0])) {
    if (!taken.has(p))
      listeners.push({ ...withoutCapture(l), name: `outbound_tcp_${p}`, address: socketAddress(o.ip, p) });
  }
  if (outbound.length) {
    const tables = outbound
      .map((l) => routes.get(String(obj(connectionManager(l)?.["rds"])["route_config_name"])))
      .filter((r): r is JsonObject => !!r);
    const first = outbound[0] as JsonObject;
    const { rds: _r, ...hcm } = connectionManager(first) as JsonObject;
    const chain = {
      filters: [
        {
          ...(networkFilters(list(first["filter_chains"])[0] ?? {})[0] as JsonObject),
          typed_config: {
            ...hcm,
            stat_prefix: OUTBOUND_LISTENER,
            route_config: mergeRouteTables(OUTBOUND_LISTENER, tables),
          },
        },
      ],
    };
    listeners.unshift({
      ...withoutCapture(first),
      name: OUTBOUND_LISTENER,
      address: socketAddress(o.ip, o.outboundPort ?? 15001),
      filter_chains: [chain],
    });
  }
  return { ...res, clusters, listeners, routes: [...routes.values()] };
}
