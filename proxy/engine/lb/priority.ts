// Envoy's priority levels, panic threshold and locality weighting over the pure balancers (LoadBalancerBase and
// ZoneAwareLoadBalancerBase): hosts are grouped by priority; each level's share of the traffic ("priority load")
// follows its healthy share scaled by the overprovisioning factor, so traffic spills to the next level as a level
// loses hosts; a level with fewer healthy hosts than the panic threshold balances over all its hosts, healthy or not.
// The work is done in refresh(), when health changes; a pick is a draw of a level and the level's balancer.
import type { LbPolicy } from "../config/types.js";
import { createBalancer, type LbHost, type LbOptions, type LoadBalancer, type PickContext } from "./index.js";
import type { PreviousPriorities } from "./previous-priorities.js";

export interface TieredHost extends LbHost {
  /** LocalityLbEndpoints.priority: 0 is the highest. */
  readonly priority: number;
  readonly locality: string;
  /** LocalityLbEndpoints.load_balancing_weight (0: unset), counted with locality_weighted_lb_config only. */
  readonly localityWeight: number;
}

export interface TierOptions {
  /** ClusterLoadAssignment.policy.overprovisioning_factor, in percent (Envoy's default 140). */
  overprovisioning: number;
  /** common_lb_config.healthy_panic_threshold, in percent (Envoy's default 50; 0: never panic). */
  panicThreshold: number;
  /** common_lb_config.locality_weighted_lb_config is set. */
  localityWeighted: boolean;
}

export interface TierPick extends PickContext {
  /** A host may be chosen in panic (any host, healthy or not, but not one the request excludes). */
  any: (key: string) => boolean;
}

interface Locality<H extends LbHost> {
  hosts: H[];
  weight: number;
  lb: LoadBalancer<H>;
  /** Its weight scaled by its healthy share (Envoy's effective locality weight), and its smooth-WRR counter. */
  effective: number;
  current: number;
}

interface Level<H extends LbHost> {
  /** LocalityLbEndpoints.priority of its hosts. */
  priority: number;
  hosts: H[];
  lb: LoadBalancer<H>;
  localities: Locality<H>[];
  healthy: number;
  /** Percent of the traffic it can take: its healthy share by the overprovisioning factor, at most 100. */
  health: number;
  /** Percent of the picks this level gets. */
  load: number;
  panic: boolean;
}

export class PriorityLb<H extends TieredHost> {
  private readonly levels: Level<H>[];
  /** One level, no locality weighting, not in panic: a pick is that level's balancer's, as without priorities. */
  simple = true;
  /** RING_HASH, MAGLEV: as Envoy's thread-aware balancers, a level is drawn by the cluster's loads, never a retry's. */
  readonly hashed: boolean;

  constructor(
    policy: LbPolicy,
    hosts: readonly H[],
    opts: LbOptions,
    private readonly tiers: TierOptions,
  ) {
    this.hashed = policy === "RING_HASH" || policy === "MAGLEV";
    // Levels in priority order; a priority no host has is an empty level, which gets no load: skipped.
    const byPriority = new Map<number, H[]>();
    for (const h of hosts) byPriority.set(h.priority, [...(byPriority.get(h.priority) ?? []), h]);
    const order = [...byPriority.keys()].sort((a, b) => a - b);
    if (!order.length) order.push(0);
    this.levels = order.map((p) => {
      const level = byPriority.get(p) ?? [];
      const byLocality = new Map<string, H[]>();
      if (tiers.localityWeighted)
        for (const h of level) byLocality.set(h.locality, [...(byLocality.get(h.locality) ?? []), h]);
      return {
        priority: p,
        hosts: level,
        lb: createBalancer(policy, level, opts),
        localities: [...byLocality.values()].map((hs) => ({
          hosts: hs,
          weight: (hs[0] as H).localityWeight,
          lb: createBalancer(policy, hs, opts),
          effective: 0,
          current: 0,
        })),
        healthy: 0,
        health: 0,
        load: 0,
        panic: false,
      };
    });
    this.refresh(() => true);
  }

  /** Priority loads, panic and locality weights for the hosts healthy now (Envoy's recalculatePerPriorityState). */
  refresh(healthy: (h: H) => boolean): void {
    const over = this.tiers.overprovisioning;
    const health: number[] = [];
    for (const level of this.levels) {
      level.healthy = 0;
      for (const l of level.localities) {
        const up = l.hosts.filter(healthy).length;
        l.effective = l.weight * Math.min(1, ((over / 100) * up) / l.hosts.length);
      }
      for (const h of level.hosts) if (healthy(h)) level.healthy++;
      const n = level.hosts.length;
      level.health = n ? Math.min(100, Math.floor((over * level.healthy) / n)) : 0;
      health.push(level.health);
    }
    const total = Math.min(
      100,
      health.reduce((a, b) => a + b, 0),
    );
    for (const level of this.levels) level.load = 0;
    const first = this.levels[0] as Level<H>;
    if (total > 0) {
      let remaining = 100;
      let firstHealthy = -1;
      health.forEach((h, i) => {
        if (h > 0 && firstHealthy < 0) firstHealthy = i;
        const load = Math.min(remaining, Math.floor((h * 100) / total));
        (this.levels[i] as Level<H>).load = load;
        remaining -= load;
      });
      if (remaining > 0 && firstHealthy >= 0) (this.levels[firstHealthy] as Level<H>).load += remaining;
    }
    this.panics(total);
    if (total === 0 && this.tiers.panicThreshold === 0) first.load = 100; // no host anywhere: the pick finds none
    this.simple = this.levels.length === 1 && !this.tiers.localityWeighted && !first.panic;
  }

  /** Envoy's recalculatePerPriorityPanic: which levels are in panic, and the loads when all of them are. */
  private panics(total: number): void {
    const threshold = this.tiers.panicThreshold;
    let all = true;
    for (const level of this.levels) {
      const n = level.hosts.length;
      // Never in panic while the levels together are fully available, however few healthy hosts one level has.
      level.panic = threshold > 0 && total < 100 && (n ? (100 * level.healthy) / n : 0) < threshold;
      all &&= level.panic;
    }
    if (!all) return;
    // Total panic: each level's load is its share of all hosts, healthy or not.
    const hosts = this.levels.reduce((s, l) => s + l.hosts.length, 0);
    let remaining = 100;
    let firstNonEmpty = -1;
    this.levels.forEach((level, i) => {
      if (firstNonEmpty < 0 && level.hosts.length) firstNonEmpty = i;
      level.load = hosts ? Math.floor((100 * level.hosts.length) / hosts) : 0;
      remaining -= level.load;
    });
    (this.levels[Math.max(firstNonEmpty, 0)] as Level<H>).load += remaining;
  }

  /** The single level's balancer, for the simple case. */
  get only(): LoadBalancer<H> {
    return (this.levels[0] as Level<H>).lb;
  }

  /** Each level's load and panic, for tests and /config_dump-like views. */
  state(): { load: number; panic: boolean; healthy: number; hosts: number }[] {
    return this.levels.map((l) => ({ load: l.load, panic: l.panic, healthy: l.healthy, hosts: l.hosts.length }));
  }

  /**
   * The loads with the levels of the `excluded` priorities left out (Envoy's previous_priorities): the others share
   * the traffic by their health, as the cluster's loads are shared; undefined when those left have no health at all.
   */
  loadsWithout(excluded: ReadonlySet<number>): number[] | undefined {
    const health = this.levels.map((l) => (excluded.has(l.priority) ? 0 : l.health));
    const total = Math.min(
      100,
      health.reduce((a, b) => a + b, 0),
    );
    if (total === 0) return undefined;
    const loads = health.map(() => 0);
    // As Envoy's adjustForAttemptedPriorities: passes in priority order until all 100% is given (rounding's rest).
    let remaining = 100;
    while (remaining > 0)
      for (let i = 0; i < health.length; i++) {
        const share = Math.min(remaining, Math.floor(((health[i] as number) * 100) / total));
        loads[i] = (loads[i] as number) + share;
        remaining -= share;
      }
    return loads;
  }

  /**
   * The level drawn for this pick: the hash (or a random draw) mod 100 against the cumulative loads, as Envoy's;
   * `loads`: a retry's (loadsWithout), else the cluster's.
   */
  private level(ctx: PickContext, loads: readonly number[] | undefined): Level<H> {
    const draw = ((ctx.hash ?? Math.floor(ctx.random() * 0x100000000)) % 100) + 1;
    const own = loads?.length !== this.levels.length;
    let sum = 0;
    for (let i = 0; i < this.levels.length; i++) {
      sum += own ? (this.levels[i] as Level<H>).load : (loads[i] as number);
      if (draw <= sum) return this.levels[i] as Level<H>;
    }
    return this.levels[0] as Level<H>;
  }

  /**
   * A host for a request; hosts in `exclude` are avoided when another one is usable. As Envoy's: a priority level
   * is drawn by the levels' loads (or by a retry's previous_priorities, but not with RING_HASH or MAGLEV); a level in
   * panic (fewer healthy hosts than healthy_panic_threshold) balances over all its hosts, healthy or not, counting
   * lb_healthy_panic; with no healthy host and the threshold at 0, none.
   */
  choose(
    ctx: PickContext,
    panicked: () => void,
    exclude?: ReadonlySet<string>,
    priorities?: PreviousPriorities,
  ): H | undefined {
    const { hash, random, usable } = ctx;
    if (this.simple) {
      // One level, not in panic: the policy's balancer over the healthy hosts, what it cost before levels existed.
      const level = this.only;
      if (exclude?.size) {
        const h = level.pick({ hash, random, usable: (k) => !exclude.has(k) && usable(k) });
        if (h) return h;
      }
      return level.pick(ctx);
    }
    const loads = this.hashed ? undefined : priorities?.loadsFor(this);
    if (exclude?.size) {
      const any = (k: string) => !exclude.has(k);
      const h = this.pick({ hash, random, usable: (k) => any(k) && usable(k), any }, panicked, loads);
      if (h) return h;
    }
    return this.pick({ hash, random, usable, any: () => true }, panicked, loads);
  }

  /** A host, and whether it was chosen in panic (Envoy counts lb_healthy_panic then). */
  pick(ctx: TierPick, panicked: () => void, loads?: readonly number[]): H | undefined {
    const level = this.level(ctx, loads);
    if (level.panic) {
      panicked();
      return level.lb.pick({ hash: ctx.hash, random: ctx.random, usable: ctx.any });
    }
    const locality = this.locality(level);
    return (locality ?? level).lb.pick(ctx);
  }

  /** locality_weighted_lb_config: a locality by smooth weighted round robin over the effective weights. */
  private locality(level: Level<H>): Locality<H> | undefined {
    let best: Locality<H> | undefined;
    let total = 0;
    for (const l of level.localities) {
      if (l.effective <= 0) continue;
      l.current += l.effective;
      total += l.effective;
      if (!best || l.current > best.current) best = l;
    }
    if (best) best.current -= total;
    return best;
  }
}
