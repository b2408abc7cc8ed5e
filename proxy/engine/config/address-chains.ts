// filter_chain_match.prefix_ranges (the connection's destination IP: Envoy's second step, after destination_port and
// before server_names) and source_prefix_ranges (its source IP: after transport_protocol and application_protocols).
// As Envoy's FilterChainManagerImpl: each range holds the chains that list it, an address goes to the chains of the
// longest range that holds it, else to the chains that list no range; and there is no going back: the chains a range
// picks are the only candidates, a connection they don't match gets no chain (never the less specific ones).
import { cidr, cidrKey, inCidr, type Cidr } from "../../xds/ip.js";
import { join, type Obj, type Reader } from "./read.js";
import type { AddressChains, Listener } from "./types.js";

/** The CidrRanges of a chain's `field` (prefix_len defaults to 0, as Envoy's: the whole family); undefined when none. */
export function cidrRanges(r: Reader, m: Obj, field: string, path: string): Cidr[] | undefined {
  const ranges = r.list(m, field, path).map((c, j) => {
    const p = join(path, `${field}[${j}]`);
    const o = r.obj(c, p);
    for (const key of Object.keys(o))
      if (key !== "address_prefix" && key !== "prefix_len") r.fail(join(p, key), "not supported (CidrRange)");
    const range = cidr(r.reqStr(o, "address_prefix", p), r.num(o, "prefix_len", p) ?? 0);
    return typeof range === "string" ? r.fail(p, range) : range;
  });
  return ranges.length ? ranges : undefined;
}

/**
 * Groups chains by the ranges `rangesOf` gives them, each distinct set of chains compiled once by `compile` (which
 * checks the later match steps among them). `unique`: the last step (source ranges), where one range must pick one
 * chain, as Envoy refuses two chains whose matches are the same.
 */
export function addressChains<M extends { i: number }>(
  r: Reader,
  group: readonly M[],
  rangesOf: (m: M) => Cidr[] | undefined,
  field: string,
  compile: (chains: M[]) => Listener,
  unique: boolean,
): AddressChains {
  const byRange = new Map<string, { range: Cidr; chains: M[] }>();
  const plain = group.filter((m) => !rangesOf(m));
  if (unique && plain[1]) r.fail(`filter_chains[${plain[1].i}].filter_chain_match`, "is the same as another chain's");
  for (const m of group)
    for (const range of rangesOf(m) ?? []) {
      const key = cidrKey(range);
      const before = byRange.get(key) ?? { range, chains: [] };
      if (unique && before.chains.length)
        r.fail(`filter_chains[${m.i}].filter_chain_match.${field}`, `${key} is matched by another chain`);
      if (!before.chains.includes(m)) before.chains.push(m);
      byRange.set(key, before);
    }
  // Ranges that pick the same chains share one compiled group, named by its ranges.
  const bySet = new Map<string, { keys: string[]; chains: M[] }>();
  for (const [key, { chains }] of byRange) {
    const id = chains.map((c) => group.indexOf(c)).join(",");
    const set = bySet.get(id) ?? { keys: [], chains };
    set.keys.push(key);
    bySet.set(id, set);
  }
  const groups: { key: string; listener: Listener }[] = [];
  const ranges: { range: Cidr; group: number }[] = [];
  for (const { keys, chains } of bySet.values()) {
    for (const k of keys) ranges.push({ range: byRange.get(k)!.range, group: groups.length });
    groups.push({ key: [...keys].sort().join(","), listener: compile(chains) });
  }
  ranges.sort((a, b) => b.range.prefixLen - a.range.prefixLen);
  return { groups, ranges, fallback: plain.length ? compile(plain) : undefined };
}

/** The chains for an address: those of the longest range that holds it, else those listing none ("" their key). */
export function chainsForAddress(
  chains: AddressChains,
  ip: string | undefined,
): { key: string; listener: Listener | undefined } {
  const hit = ip === undefined ? undefined : chains.ranges.find((x) => inCidr(x.range, ip));
  const group = hit && chains.groups[hit.group];
  return group ? { key: group.key, listener: group.listener } : { key: "", listener: chains.fallback };
}

/** The chains a key names ("": those listing no range). */
export function chainsForKey(chains: AddressChains, key: string): Listener | undefined {
  return key === "" ? chains.fallback : chains.groups.find((g) => g.key === key)?.listener;
}
