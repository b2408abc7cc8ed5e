// A listener's chain keys: a number per filter chain of a connection (its port's chains, its server-name group, its
// transport), and which chain of the current config a key names, so that a connection keeps its chain, or its
// successor, across config swaps.
import type { Listener } from "./config/index.js";

/** No chain matched (Envoy's "no matching filter chain"): the connection is closed. */
export const NO_CHAIN = -1;
export const DEFAULT_CHAIN = 0;
/**
 * A chain key is (a port (or DEFAULT_CHAIN) times SLOTS plus its server-name slot) times SIDES plus its transport
 * side: 0 the chain, 1 its TLS chain, 2 its plaintext chain, 3 + i its TLS chain i by ALPN (byTransport). Slot 0 is
 * the port's own chain, or its chains without server_names; a server-name group gets a slot of its own, kept from one
 * config to the next while the group's names stay the same (`slotOf`).
 */
export const SIDE = { whole: 0, tls: 1, raw: 2, alpn: 3 } as const;
/** Room for config/listeners.ts's MAX_ALPN_CHAINS. */
export const SIDES = 64;
export const SLOTS = 1 << 20;

/** Resolves chain keys against the listener's current config. */
export class ChainKeys {
  /** Server-name groups (their names, sorted and joined) → their slot in chain keys. */
  private readonly slots = new Map<string, number>();

  constructor(private readonly current: () => Listener) {}

  private get listener(): Listener {
    return this.current();
  }

  /**
   * Where the HTTP requests of a chain a new config dropped go: the same port's chain for the same transport, one
   * that terminates TLS for a TLS chain's (a PERMISSIVE ⇄ STRICT change moves mesh mTLS between the ALPN chain and
   * the TLS one), the plaintext one for a plaintext chain's. None when the port no longer takes that transport.
   */
  successor(key: number): Listener | undefined {
    const side = key % SIDES;
    const entry = this.chainListener(key - side);
    const t = entry?.byTransport;
    const next =
      side === SIDE.whole || side === SIDE.raw
        ? t
          ? t.raw
          : entry
        : t && (t.alpn.chains.find((l) => l.tls) ?? (t.tls?.tls ? t.tls : undefined));
    return next?.hcm ? next : undefined;
  }

  /** The chains for a destination port (or DEFAULT_CHAIN) in the current config, before server names and transport. */
  entryFor(port: number): Listener | undefined {
    const l = this.listener;
    return port === DEFAULT_CHAIN ? (l.hcm || l.tcp || l.byTransport || l.bySni ? l : undefined) : l.byPort?.get(port);
  }

  slotOf(group: string): number {
    let slot = this.slots.get(group);
    if (slot === undefined) this.slots.set(group, (slot = (this.slots.size % (SLOTS - 1)) + 1)); // 2^20 groups: never
    return slot;
  }

  /** The chain serving `key` ((port × SLOTS + slot) × SIDES + its SIDE) in the current config. */
  chainListener(key: number): Listener | undefined {
    const slotted = Math.floor(key / SIDES);
    let entry = this.entryFor(Math.floor(slotted / SLOTS));
    const slot = slotted % SLOTS;
    const sni = entry?.bySni;
    if (sni) entry = slot === 0 ? sni.fallback : sni.groups.find((g) => this.slots.get(g.key) === slot)?.listener;
    else if (slot !== 0) entry = undefined;
    const side = key % SIDES;
    if (side === SIDE.whole) return entry;
    if (side === SIDE.tls) return entry?.byTransport?.tls;
    if (side === SIDE.raw) return entry?.byTransport?.raw;
    return entry?.byTransport?.alpn.chains[side - SIDE.alpn];
  }
}
