// A listener's chain keys: a number per filter chain of a connection (its port's chains, its server-name group, its
// transport), and which chain of the current config a key names, so that a connection keeps its chain, or its
// successor, across config swaps.
import type { AddressChains, Listener } from "./config/index.js";
import { chainsForAddress, chainsForKey } from "./config/address-chains.js";
import { chainsForSni } from "./config/server-names.js";
import { chainsBelow, chainsForPort, chainsForSourceType, isLocalClient } from "./config/source-chains.js";

/** No chain matched (Envoy's "no matching filter chain"): the connection is closed. */
export const NO_CHAIN = -1;
export const DEFAULT_CHAIN = 0;
/**
 * A chain key is (a port (or DEFAULT_CHAIN) times SLOTS plus its slot) times SIDES plus its transport side: 0 the
 * chain, 1 its TLS chain, 2 its plaintext chain, 3 + i its TLS chain i by ALPN (byTransport). A slot names the groups
 * the chain was picked by (destination range, server names, direct source range, source type, source range, source
 * port): slot 0 none of them (the port's own chain, or its chains without server_names, ranges, types or ports);
 * each other path gets a slot of its own, kept from one config to the next while its groups' ranges and names stay
 * the same (`slotOf`).
 */
export const SIDE = { whole: 0, tls: 1, raw: 2, alpn: 3 } as const;
/** Room for config/listeners.ts's MAX_ALPN_CHAINS. */
export const SIDES = 64;
export const SLOTS = 1 << 20;

/** What a chain is picked by: the connection's addresses, and its ClientHello once the TLS inspector has read it. */
export interface Arrival {
  /** Its destination IP (the original destination's, when redirected), its source IP and port. */
  dst: string | undefined;
  src: string | undefined;
  srcPort?: number;
  hello?: { tls: boolean; sni?: string; alpn: readonly string[] };
}

/**
 * The groups a chain was picked by below its port ("": none): destination range, server name, direct source range,
 * source type, source range, source port.
 */
type Path = readonly [dst: string, sni: string, direct: string, type: string, src: string, port: string];
const NO_GROUPS: Path = ["", "", "", "", "", ""];
const below = (l: Listener | undefined, p: Path) => chainsBelow(l, p[2], p[3], p[4], p[5]);

/** The chains a step's group key names; "" without the step: the entry itself. */
function through(entry: Listener | undefined, step: AddressChains | undefined, key: string): Listener | undefined {
  if (!step) return key === "" ? entry : undefined;
  return chainsForKey(step, key);
}

/** Resolves chain keys against the listener's current config. */
export class ChainKeys {
  /** Groups a chain was picked by (its Path, joined) → their slot in chain keys, and back. */
  private readonly slots = new Map<string, number>();
  private readonly paths = new Map<number, Path>();

  constructor(private readonly current: () => Listener) {}

  private get listener(): Listener {
    return this.current();
  }

  /**
   * Envoy's filter chain match below the destination port (or DEFAULT_CHAIN): destination IP, server name,
   * transport, ALPN, direct source IP, source type, source IP, source port, each step among the chains the one
   * before kept. "inspect": the TLS inspector must read the ClientHello first; undefined: no chain.
   */
  pick(destinationPort: number, at: Arrival): { key: number; listener: Listener } | "inspect" | undefined {
    // Every accepted connection passes here: the steps a listener doesn't have cost nothing (no object, no slot).
    let entry = this.entryFor(destinationPort);
    let dstKey = "";
    if (entry?.byDestination) ({ key: dstKey, listener: entry } = chainsForAddress(entry.byDestination, at.dst));
    if (!entry) return undefined;
    const hello = at.hello;
    if (!hello && (entry.bySni || entry.byTransport)) return "inspect";
    let sni = "";
    if (entry.bySni) {
      const picked = chainsForSni(entry.bySni, hello?.tls ? hello.sni : undefined);
      sni = entry.bySni.groups[picked.group]?.key ?? "";
      entry = picked.listener;
      if (!entry) return undefined;
    }
    let side: number = !entry.byTransport ? SIDE.whole : hello?.tls ? SIDE.tls : SIDE.raw;
    if (hello?.tls && entry.byTransport) {
      const index = entry.byTransport.alpn.index;
      const p = index.size ? hello.alpn.find((a) => index.has(a)) : undefined;
      if (p !== undefined) side = SIDE.alpn + index.get(p)!;
    }
    let l = sideOf(entry, side);
    let direct = "";
    let type = "";
    let src = "";
    let port = "";
    // No PROXY protocol: the direct source is the source.
    if (l?.byDirectSource) ({ key: direct, listener: l } = chainsForAddress(l.byDirectSource, at.src));
    if (l?.bySourceType)
      ({ key: type, listener: l } = chainsForSourceType(l.bySourceType, isLocalClient(at.src, at.dst)));
    if (l?.bySource) ({ key: src, listener: l } = chainsForAddress(l.bySource, at.src));
    if (l?.bySourcePort) ({ key: port, listener: l } = chainsForPort(l.bySourcePort, at.srcPort));
    if (!l) return undefined;
    const slot =
      dstKey || sni || direct || type || src || port ? this.slotOf([dstKey, sni, direct, type, src, port]) : 0;
    return { key: (destinationPort * SLOTS + slot) * SIDES + side, listener: l };
  }

  /**
   * Where the HTTP requests of a chain a new config dropped go: the same port's chain for the same transport, one
   * that terminates TLS for a TLS chain's (a PERMISSIVE ⇄ STRICT change moves mesh mTLS between the ALPN chain and
   * the TLS one), the plaintext one for a plaintext chain's. None when the port no longer takes that transport.
   * Always among the chains the same address groups pick.
   */
  successor(key: number): Listener | undefined {
    const side = key % SIDES;
    const found = this.above(key);
    if (!found) return undefined;
    const [entry, path] = found;
    const t = entry.byTransport;
    const own = (l: Listener | undefined) => below(l, path);
    const tls = own(t?.tls);
    const next =
      side === SIDE.whole || side === SIDE.raw
        ? own(t ? t.raw : entry)
        : t && (t.alpn.chains.map(own).find((l) => l?.tls) ?? (tls?.tls ? tls : undefined));
    return next?.hcm ? next : undefined;
  }

  /** The chains for a destination port (or DEFAULT_CHAIN) in the current config, before any other step. */
  entryFor(port: number): Listener | undefined {
    const l = this.listener;
    if (port !== DEFAULT_CHAIN) return l.byPort?.get(port);
    const steps = l.byTransport || l.bySni || l.byDestination || l.byDirectSource || l.bySourceType;
    return l.hcm || l.tcp || steps || l.bySource || l.bySourcePort ? l : undefined;
  }

  /** The slot of a path that names at least one group (slot 0 is the path naming none). */
  private slotOf(path: Path): number {
    const id = path.join("\n"); // range and server-name keys have no line breaks
    let slot = this.slots.get(id);
    if (slot === undefined) {
      slot = (this.slots.size % (SLOTS - 1)) + 1; // 2^20 paths: never
      this.slots.set(id, slot);
      this.paths.set(slot, path);
    }
    return slot;
  }

  /** The port's chains a key's destination range and server name pick, before transport, with the key's path. */
  private above(key: number): [Listener, Path] | undefined {
    const slotted = Math.floor(key / SIDES);
    const slot = slotted % SLOTS;
    const path = slot === 0 ? NO_GROUPS : this.paths.get(slot);
    let entry = this.entryFor(Math.floor(slotted / SLOTS));
    if (!path || !entry) return undefined;
    entry = through(entry, entry.byDestination, path[0]);
    if (entry?.bySni)
      entry = path[1] === "" ? entry.bySni.fallback : entry.bySni.groups.find((g) => g.key === path[1])?.listener;
    else if (path[1] !== "") return undefined;
    return entry ? [entry, path] : undefined;
  }

  /** The chain serving `key` ((port × SLOTS + slot) × SIDES + its SIDE) in the current config. */
  chainListener(key: number): Listener | undefined {
    const found = this.above(key);
    if (!found) return undefined;
    return below(sideOf(found[0], key % SIDES), found[1]);
  }
}

/** A transport side's chains (SIDE.whole: the entry itself). */
function sideOf(entry: Listener, side: number): Listener | undefined {
  if (side === SIDE.whole) return entry;
  if (side === SIDE.tls) return entry.byTransport?.tls;
  if (side === SIDE.raw) return entry.byTransport?.raw;
  return entry.byTransport?.alpn.chains[side - SIDE.alpn];
}
