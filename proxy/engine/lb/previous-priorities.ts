// Envoy's previous_priorities retry priority (envoy.retry_priorities.previous_priorities, which Istio's
// retryRemoteLocalities renders with update_frequency 2): one request's retries leave out the priority levels its
// earlier attempts went to, the levels left sharing the traffic by their health; when no level left has any, it
// starts over, as if none had been tried. Every update_frequency attempts the levels left out are counted again: the
// attempts between use the loads made last (Envoy's PreviousPrioritiesRetryPriority::determinePriorityLoad).

/** What the loads are made from: the cluster's levels (PriorityLb). */
export interface PriorityLoads {
  /** The levels' loads with these priorities left out; undefined when the levels left have no health. */
  loadsWithout(excluded: ReadonlySet<number>): number[] | undefined;
}

export class PreviousPriorities {
  /** The priority of each attempt's host, since the start (or the last start over). */
  private readonly tried: number[] = [];
  private readonly excluded = new Set<number>();
  /** The loads made last, and of which cluster's levels (a config swap makes new ones: those loads don't apply). */
  private made: { of: PriorityLoads; loads: number[] } | undefined;

  /** `every`: update_frequency, at least 1. */
  constructor(private readonly every: number) {}

  /** An attempt went to a host of this priority (Envoy's onHostAttempted). */
  attempted(priority: number): void {
    this.tried.push(priority);
  }

  /** The loads the next attempt's level is drawn by; undefined: the cluster's own. */
  loadsFor(levels: PriorityLoads): readonly number[] | undefined {
    const n = this.tried.length;
    if (n < this.every) return undefined;
    if (n % this.every === 0) {
      for (const p of this.tried) this.excluded.add(p);
      let loads = levels.loadsWithout(this.excluded);
      if (!loads) {
        // No level left can take traffic: start over, every level in again.
        this.excluded.clear();
        this.tried.length = 0;
        loads = levels.loadsWithout(this.excluded);
      }
      // No level has health at all: the cluster's own loads, whatever it does then (panic).
      if (!loads) return undefined;
      this.made = { of: levels, loads };
    }
    return this.made?.of === levels ? this.made.loads : undefined;
  }
}
