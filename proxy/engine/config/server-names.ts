// filter_chain_match.server_names, as Envoy matches them: after destination_port and before transport_protocol and
// application_protocols, the ClientHello's SNI picks the chains listing it exactly, else those listing the longest
// `*.suffix` wildcard it falls under, else the chains without server_names. Istio gives a gateway one chain per HTTPS
// server, its hosts as the chain's server names, so each server presents its own certificate.
import type { Listener, SniChains } from "./types.js";
import { join, type Obj, type Reader } from "./read.js";
import type { ChainMatch } from "./chain-match.js";
import { matchesSource } from "./source-chains.js";

/** A chain's server_names: exact DNS names or `*.suffix` wildcards, lower-cased; undefined when it has none. */
export function serverNames(r: Reader, m: Obj, path: string): string[] | undefined {
  const names = r.list(m, "server_names", path).map((n, j) => {
    const p = join(path, `server_names[${j}]`);
    if (typeof n !== "string" || !n) return r.fail(p, "not a server name");
    // Envoy's wildcards are `*.suffix` only: a bare `*` or a `*` inside a name would never match.
    const rest = n.startsWith("*.") ? n.slice(2) : n;
    if (!rest || rest.includes("*")) r.fail(p, `${JSON.stringify(n)}: only a leading "*." wildcard is supported`);
    return n.toLowerCase();
  });
  return names.length ? names : undefined;
}

/**
 * Groups a port's chains by server name, each distinct set of chains compiled once by `compile` (which checks the
 * transport and ALPN rules among them): chains that share a name are told apart by transport or ALPN, as in Envoy.
 */
export function sniChains<M extends ChainMatch & { i: number }>(
  r: Reader,
  group: readonly M[],
  compile: (chains: M[]) => Listener,
): SniChains {
  const byName = new Map<string, M[]>();
  for (const m of group)
    for (const n of m.names ?? []) {
      const before = byName.get(n) ?? [];
      // As Envoy: two chains for one name must differ by transport (or ALPN, or the client's steps), else the match
      // is ambiguous (the later steps check those).
      if (before.some((o) => (!o.transport || !m.transport) && !matchesSource(o) && !matchesSource(m)))
        r.fail(
          `filter_chains[${m.i}].filter_chain_match.server_names`,
          `${JSON.stringify(n)} is matched by another chain`,
        );
      byName.set(n, [...before, m]);
    }
  const groups: { key: string; listener: Listener }[] = [];
  const bySet = new Map<string, { names: string[]; chains: M[] }>();
  for (const [name, chains] of byName) {
    const id = chains.map((c) => group.indexOf(c)).join(",");
    const set = bySet.get(id) ?? { names: [], chains };
    set.names.push(name);
    bySet.set(id, set);
  }
  const exact = new Map<string, number>();
  const wildcard = new Map<string, number>();
  for (const { names, chains } of bySet.values()) {
    for (const n of names) {
      if (n.startsWith("*.")) wildcard.set(n.slice(1), groups.length);
      else exact.set(n, groups.length);
    }
    groups.push({ key: [...names].sort().join(","), listener: compile(chains) });
  }
  const plain = group.filter((m) => !m.names);
  return { groups, exact, wildcard, fallback: plain.length ? compile(plain) : undefined };
}

/** The chains for a connection's SNI (undefined: none sent): Envoy's order, exact, longest wildcard, none listed. */
export function chainsForSni(
  sni: SniChains,
  name: string | undefined,
): { group: number; listener: Listener } | { group: -1; listener: Listener | undefined } {
  if (name !== undefined) {
    const exact = sni.exact.get(name);
    if (exact !== undefined) return { group: exact, listener: sni.groups[exact]!.listener };
    // As Envoy's findFilterChainForServerName: from the second character (".example.com" has no label for
    // *.example.com) to before the last (a trailing dot's empty suffix is no wildcard).
    for (let dot = name.indexOf(".", 1); dot >= 0 && dot < name.length - 1; dot = name.indexOf(".", dot + 1)) {
      const w = sni.wildcard.get(name.slice(dot));
      if (w !== undefined) return { group: w, listener: sni.groups[w]!.listener };
    }
  }
  return { group: -1, listener: sni.fallback };
}
