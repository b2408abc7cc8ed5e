// Pure load balancers. Hosts are chosen among those `usable` at the moment of the pick (health, ejection,
// previously tried hosts), so a balancer is rebuilt only when the host set changes.
import type { LbPolicy } from "../config/types.js";
import { xxhash32 } from "./hash.js";

export { xxhash32 } from "./hash.js";

export interface LbHost {
  key: string;
  weight: number;
  /** Requests in flight, for LEAST_REQUEST. */
  active: number;
}

export interface PickContext {
  /** A hash from the route's hash_policy, for RING_HASH and MAGLEV; undefined → random. */
  hash?: number;
  random: () => number;
  usable: (key: string) => boolean;
}

export interface LoadBalancer<H extends LbHost> {
  readonly hosts: readonly H[];
  pick(ctx: PickContext): H | undefined;
}

export interface LbOptions {
  ringMin?: number;
  ringMax?: number;
  maglevTableSize?: number;
  choiceCount?: number;
  /** Weights change between picks (slow start): weighted round robin whatever they are now. */
  dynamicWeights?: boolean;
}

export function createBalancer<H extends LbHost>(
  policy: LbPolicy,
  hosts: readonly H[],
  opts: LbOptions = {},
): LoadBalancer<H> {
  switch (policy) {
    case "ROUND_ROBIN":
      return new RoundRobin(hosts, opts.dynamicWeights ?? false);
    case "LEAST_REQUEST":
      return new LeastRequest(hosts, opts.choiceCount ?? 2, opts.dynamicWeights ?? false);
    case "RANDOM":
      return new RandomLb(hosts);
    case "RING_HASH":
      return new RingHash(hosts, opts.ringMin ?? 1024, opts.ringMax ?? 8 * 1024 * 1024);
    case "MAGLEV":
      return new Maglev(hosts, opts.maglevTableSize ?? 65537);
  }
}

function firstUsable<H extends LbHost>(hosts: readonly H[], start: number, ctx: PickContext): H | undefined {
  const n = hosts.length;
  for (let i = 0; i < n; i++) {
    const h = hosts[(start + i) % n] as H;
    if (ctx.usable(h.key)) return h;
  }
  return undefined;
}

/** Round robin; smooth weighted round robin (nginx's) when weights differ. */
class RoundRobin<H extends LbHost> implements LoadBalancer<H> {
  private next = 0;
  private readonly weighted: boolean;
  private readonly current: number[];
  constructor(
    readonly hosts: readonly H[],
    dynamic: boolean,
  ) {
    this.weighted = dynamic || hosts.some((h) => h.weight !== (hosts[0] as H).weight);
    this.current = hosts.map(() => 0);
  }
  pick(ctx: PickContext): H | undefined {
    const n = this.hosts.length;
    if (!n) return undefined;
    if (!this.weighted) {
      const h = firstUsable(this.hosts, this.next, ctx);
      if (h) this.next = (this.hosts.indexOf(h) + 1) % n;
      return h;
    }
    return smoothWeighted(this.hosts, this.current, ctx, (h) => h.weight);
  }
}

/** nginx's smooth weighted round robin over the usable hosts, with each host's weight as `weight` says now. */
function smoothWeighted<H extends LbHost>(
  hosts: readonly H[],
  current: number[],
  ctx: PickContext,
  weight: (h: H) => number,
): H | undefined {
  let best = -1;
  let total = 0;
  for (let i = 0; i < hosts.length; i++) {
    const h = hosts[i] as H;
    if (!ctx.usable(h.key)) continue;
    const w = weight(h);
    current[i] = (current[i] as number) + w;
    total += w;
    if (best < 0 || (current[i] as number) > (current[best] as number)) best = i;
  }
  if (best < 0) return undefined;
  current[best] = (current[best] as number) - total;
  return hosts[best];
}

/**
 * Envoy's LEAST_REQUEST. Equal weights: power of N choices (N = choice_count, 2 by default), the host with fewer
 * requests in flight. Unequal (or changing: slow start) weights: weighted round robin over weight / (active + 1), as
 * Envoy's EDF with active_request_bias 1, so weights count even while hosts are idle.
 */
class LeastRequest<H extends LbHost> implements LoadBalancer<H> {
  private readonly weighted: boolean;
  private readonly current: number[];
  constructor(
    readonly hosts: readonly H[],
    private readonly choices: number,
    dynamic: boolean,
  ) {
    this.weighted = dynamic || hosts.some((h) => h.weight !== (hosts[0] as H).weight);
    this.current = hosts.map(() => 0);
  }
  pick(ctx: PickContext): H | undefined {
    const n = this.hosts.length;
    if (!n) return undefined;
    if (this.weighted) return smoothWeighted(this.hosts, this.current, ctx, (h) => h.weight / (h.active + 1));
    let best: H | undefined;
    for (let c = 0; c < this.choices; c++) {
      const h = firstUsable(this.hosts, Math.floor(ctx.random() * n), ctx);
      if (!h) return undefined;
      if (!best || h.active < best.active) best = h;
    }
    return best;
  }
}

class RandomLb<H extends LbHost> implements LoadBalancer<H> {
  constructor(readonly hosts: readonly H[]) {}
  pick(ctx: PickContext): H | undefined {
    return firstUsable(this.hosts, Math.floor(ctx.random() * this.hosts.length), ctx);
  }
}

/** Ketama-style ring: each host gets entries in proportion to its weight, at least `min` entries in all. */
class RingHash<H extends LbHost> implements LoadBalancer<H> {
  private readonly points: Uint32Array;
  private readonly owners: Uint32Array;
  constructor(
    readonly hosts: readonly H[],
    min: number,
    max: number,
  ) {
    const total = hosts.reduce((s, h) => s + h.weight, 0);
    const minWeight = Math.min(...hosts.map((h) => h.weight / (total || 1)));
    const scale = hosts.length ? Math.min(Math.ceil(minWeight * min) / minWeight, max) : 0;
    const entries: { hash: number; owner: number }[] = [];
    hosts.forEach((h, i) => {
      const count = Math.max(1, Math.round((h.weight / (total || 1)) * scale));
      for (let j = 0; j < count; j++) entries.push({ hash: xxhash32(`${h.key}_${j}`), owner: i });
    });
    entries.sort((a, b) => a.hash - b.hash);
    this.points = Uint32Array.from(entries, (e) => e.hash);
    this.owners = Uint32Array.from(entries, (e) => e.owner);
  }
  pick(ctx: PickContext): H | undefined {
    const n = this.points.length;
    if (!n) return undefined;
    const hash = ctx.hash ?? Math.floor(ctx.random() * 0x100000000);
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.points[mid] as number) < hash) lo = mid + 1;
      else hi = mid;
    }
    for (let i = 0; i < n; i++) {
      const h = this.hosts[this.owners[(lo + i) % n] as number] as H;
      if (ctx.usable(h.key)) return h;
    }
    return undefined;
  }
}

/** Maglev lookup table (Eisenbud et al.), weighted by Envoy's method of skipping turns. */
class Maglev<H extends LbHost> implements LoadBalancer<H> {
  private readonly table: Int32Array;
  constructor(
    readonly hosts: readonly H[],
    size: number,
  ) {
    this.table = new Int32Array(hosts.length ? size : 0).fill(-1);
    if (!hosts.length) return;
    const maxWeight = Math.max(...hosts.map((h) => h.weight));
    const offset = hosts.map((h) => xxhash32(h.key, 0) % size);
    const skip = hosts.map((h) => (xxhash32(h.key, 1) % (size - 1)) + 1);
    const next = hosts.map(() => 0);
    const credit = hosts.map(() => 0);
    let filled = 0;
    for (let round = 0; filled < size; round++) {
      for (let i = 0; i < hosts.length && filled < size; i++) {
        credit[i] = (credit[i] as number) + (hosts[i] as H).weight;
        if ((credit[i] as number) < maxWeight) continue;
        credit[i] = (credit[i] as number) - maxWeight;
        let c: number;
        do {
          c = ((offset[i] as number) + (next[i] as number) * (skip[i] as number)) % size;
          next[i] = (next[i] as number) + 1;
        } while ((this.table[c] as number) >= 0);
        this.table[c] = i;
        filled++;
      }
    }
  }
  pick(ctx: PickContext): H | undefined {
    const n = this.table.length;
    if (!n) return undefined;
    const hash = ctx.hash ?? Math.floor(ctx.random() * 0x100000000);
    for (let i = 0; i < n; i++) {
      const h = this.hosts[this.table[(hash + i) % n] as number] as H;
      if (ctx.usable(h.key)) return h;
    }
    return undefined;
  }
}
