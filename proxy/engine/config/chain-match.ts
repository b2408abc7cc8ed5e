// A listener's filter_chain_match, and its several chains as the tree a connection walks in Envoy's order:
// destination port, destination IP (prefix_ranges), server name, transport protocol, application protocols, then
// (config/source-chains.ts) direct source IP, source type, source IP (source_prefix_ranges), source port. Each step
// keeps the chains that match the connection most specifically and goes on among those alone.
import type { Cidr } from "../../xds/ip.js";
import { addressChains, cidrRanges } from "./address-chains.js";
import { node } from "./chain-node.js";
import { join, type Obj, type Reader } from "./read.js";
import { serverNames, sniChains } from "./server-names.js";
import { matchesSource, sourceSteps, SOURCE_TYPES, type SourceType } from "./source-chains.js";
import type { Listener } from "./types.js";

/** How many TLS chains with application_protocols one port may have (the run time numbers its chains). */
export const MAX_ALPN_CHAINS = 60;
const MATCH_FIELDS = [
  "destination_port",
  "prefix_ranges",
  "server_names",
  "transport_protocol",
  "application_protocols",
  "direct_source_prefix_ranges",
  "source_type",
  "source_prefix_ranges",
  "source_ports",
];

export interface ChainMatch {
  port?: number;
  destinations?: Cidr[];
  names?: string[];
  transport?: "tls" | "raw_buffer";
  alpn?: string[];
  directSources?: Cidr[];
  sourceType?: SourceType;
  sources?: Cidr[];
  sourcePorts?: number[];
}

/** A chain's filter_chain_match (no match: {}); anything Envoy matches on that isn't implemented is refused. */
export function chainMatch(r: Reader, chain: unknown, i: number): ChainMatch {
  const path = `filter_chains[${i}].filter_chain_match`;
  const m = r.optObj(r.obj(chain, `filter_chains[${i}]`), "filter_chain_match", `filter_chains[${i}]`);
  if (!m) return {};
  for (const key of Object.keys(m))
    if (!MATCH_FIELDS.includes(key)) r.fail(join(path, key), `not supported (only ${MATCH_FIELDS.join(", ")} are)`);
  const port = r.num(m, "destination_port", path);
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535))
    r.fail(join(path, "destination_port"), `invalid port ${port}`);
  const t = r.str(m, "transport_protocol", path);
  if (t !== undefined && t !== "tls" && t !== "raw_buffer")
    r.fail(join(path, "transport_protocol"), `${JSON.stringify(t)} is not tls or raw_buffer`);
  const alpn = r.list(m, "application_protocols", path).map((p, j) => {
    if (typeof p !== "string" || !p || p.length > 255)
      r.fail(join(path, `application_protocols[${j}]`), "not a protocol name (1 to 255 characters)");
    return p as string;
  });
  if (alpn.length && t !== "tls")
    r.fail(
      join(path, "application_protocols"),
      "needs transport_protocol tls: only the TLS inspector's ALPN is matched (envoy.filters.listener.http_inspector is not supported)",
    );
  const names = serverNames(r, m as Obj, path);
  const destinations = cidrRanges(r, m as Obj, "prefix_ranges", path);
  const directSources = cidrRanges(r, m as Obj, "direct_source_prefix_ranges", path);
  const sources = cidrRanges(r, m as Obj, "source_prefix_ranges", path);
  const type = r.enumName(m as Obj, "source_type", path, ["ANY", ...SOURCE_TYPES] as const, "ANY");
  const sourcePorts = r.list(m, "source_ports", path).map((p, j) => {
    if (typeof p !== "number" || !Number.isInteger(p) || p < 1 || p > 65535)
      r.fail(join(path, `source_ports[${j}]`), `invalid port ${JSON.stringify(p)}`);
    return p as number;
  });
  return {
    ...(port !== undefined ? { port } : {}),
    ...(destinations ? { destinations } : {}),
    ...(names ? { names } : {}),
    ...(t ? { transport: t } : {}),
    ...(alpn.length ? { alpn } : {}),
    ...(directSources ? { directSources } : {}),
    ...(type !== "ANY" ? { sourceType: type } : {}),
    ...(sources ? { sources } : {}),
    ...(sourcePorts.length ? { sourcePorts } : {}),
  };
}

type Matched = ChainMatch & { i: number };

/**
 * The chains of one listener as a tree: by destination port (`byPort`; -1 in `groups`: every port), then the steps
 * below. `one` compiles a single chain.
 */
export function chainTree<M extends Matched>(
  r: Reader,
  matched: readonly M[],
  one: (m: M) => Listener,
): { byPort: Map<number, Listener>; fallback: Listener | undefined } {
  const dup = (m: M | undefined, why: string) => m && r.fail(`filter_chains[${m.i}].filter_chain_match`, why);
  // The last steps: by the client (direct source, source type, source range and port). A chain alone without them
  // serves as it is.
  const leaf = (ms: M[]): Listener => sourceSteps(r, ms, one);
  // Transport, then ALPN among the TLS chains: as Envoy, a protocol two kinds of chains list would be ambiguous.
  const byTransport = (group: M[]): Listener => {
    const plain = group.filter((m) => m.transport === undefined);
    const bare = plain.filter((m) => !matchesSource(m));
    if (bare[1]?.port !== undefined)
      r.fail(`filter_chains[${bare[1].i}].filter_chain_match.destination_port`, `duplicate port ${bare[1].port}`);
    if (plain.length && plain.length < group.length)
      dup(group.find((m) => m.transport) ?? plain[1], "a chain without transport_protocol must be alone on its port");
    if (bare.length > 1) dup(bare[1], "a chain without transport_protocol must be alone on its port");
    if (plain.length) return leaf(plain);
    const side = (t: "tls" | "raw_buffer") => {
      const sides = group.filter((m) => m.transport === t && !m.alpn);
      const bareSides = sides.filter((m) => !matchesSource(m));
      if (bareSides.length > 1) dup(bareSides[1], `duplicate transport_protocol ${t}`);
      return sides.length ? leaf(sides) : undefined;
    };
    const tls = side("tls");
    const raw = side("raw_buffer");
    // One chain set per list of application protocols; a protocol two lists have would make the match ambiguous.
    const index = new Map<string, number>();
    const lists = new Map<string, M[]>();
    for (const m of group.filter((m) => m.alpn)) {
      const id = m.alpn!.join("\n");
      const same = lists.get(id) ?? [];
      if (same.some((o) => !matchesSource(o) && !matchesSource(m)))
        r.fail(
          `filter_chains[${m.i}].filter_chain_match.application_protocols`,
          `${JSON.stringify(m.alpn![0])} is matched by another chain on this port`,
        );
      lists.set(id, [...same, m]);
    }
    const chains: Listener[] = [];
    for (const ms of lists.values()) {
      for (const p of ms[0]!.alpn!)
        if (index.has(p) && index.get(p) !== chains.length)
          r.fail(
            `filter_chains[${ms[0]!.i}].filter_chain_match.application_protocols`,
            `${JSON.stringify(p)} is matched by another chain on this port`,
          );
        else index.set(p, chains.length);
      chains.push(leaf(ms));
    }
    if (chains.length > MAX_ALPN_CHAINS)
      dup(
        [...lists.values()][MAX_ALPN_CHAINS]?.[0],
        `more than ${MAX_ALPN_CHAINS} chains with application_protocols on one port`,
      );
    const first = tls ?? raw ?? chains[0];
    return node(first as Listener, { byTransport: { tls, raw, alpn: { index, chains } } });
  };
  // Server names (Envoy's order), then transport and ALPN among the chains a name picks.
  const bySni = (group: M[]): Listener => {
    if (!group.some((m) => m.names)) return byTransport(group);
    const sni = sniChains(r, group, byTransport);
    return node(sni.fallback ?? (sni.groups[0]?.listener as Listener), { bySni: sni });
  };
  // Destination IP first, before server names.
  const entry = (group: M[]): Listener => {
    if (!group.some((m) => m.destinations)) return bySni(group);
    const byDestination = addressChains(r, group, (m) => m.destinations, "prefix_ranges", bySni, false);
    return node(byDestination.fallback ?? byDestination.groups[0]!.listener, { byDestination });
  };
  const groups = new Map<number, M[]>();
  for (const m of matched) groups.set(m.port ?? -1, [...(groups.get(m.port ?? -1) ?? []), m]);
  const byPort = new Map<number, Listener>();
  for (const [port, group] of groups) if (port >= 0) byPort.set(port, entry(group));
  const anyPort = groups.get(-1);
  return { byPort, fallback: anyPort ? entry(anyPort) : undefined };
}
