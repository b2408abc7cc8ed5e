// The agent's side of the workers' shared circuit-breaker counts (engine/shared-counts.ts): it creates the memory,
// gives each worker process a column of its own (zeroed when that process exits), and names a slot per cluster in
// every config, the same for every worker and across hot restarts, so a cluster's count is the proxy's.
import { ConfigError } from "../engine/config/index.js";
import type { EngineConfig } from "../engine/config/types.js";
import {
  CONNECTIONS,
  PENDING,
  REQUESTS,
  RETRIES,
  SharedCounts,
  sharedBytes,
  sharedMemory,
} from "../engine/shared-counts.js";

/** Clusters one proxy can hold breaker counts for. */
const SLOTS = 4096;

export class SharedTable {
  private readonly slots = new Map<string, number>();
  /** Slots never given out start here. */
  private fresh = 0;
  private readonly freeColumns: number[];

  private constructor(
    readonly fd: number,
    readonly bytes: number,
    readonly columns: number,
    private readonly counts: SharedCounts,
  ) {
    this.freeColumns = Array.from({ length: columns }, (_, i) => i);
  }

  /** For `concurrency` workers: room for the running set, a new set during a hot restart, an older set still
   * draining, and crash replacements. A string says why the memory can't be had (no addon). */
  static create(concurrency: number): SharedTable | string {
    const mem = sharedMemory();
    if (typeof mem === "string") return mem;
    const columns = concurrency * 3 + 4;
    const bytes = sharedBytes(SLOTS, columns);
    const fd = mem.create(bytes);
    return new SharedTable(fd, bytes, columns, new SharedCounts(new Float64Array(mem.map(fd, bytes)), columns, -1));
  }

  /** A column for a new worker process; throws when every column is taken (a hot restart is then refused). */
  takeColumn(): number {
    const c = this.freeColumns.shift();
    if (c === undefined) throw new Error(`all ${this.columns} shared-limit columns are in use by engine workers`);
    return c;
  }

  /** The worker that had it exited: its connections and requests are gone, so are its counts. */
  releaseColumn(column: number): void {
    this.counts.clearColumn(column, SLOTS);
    this.freeColumns.push(column);
  }

  /** Each cluster's slot; a cluster keeps its slot while it is in the config. */
  slotsFor(cfg: EngineConfig): Record<string, number> {
    const out: Record<string, number> = {};
    for (const name of cfg.clusters.keys()) {
      let slot = this.slots.get(name);
      if (slot === undefined) {
        slot = this.fresh < SLOTS ? this.fresh++ : this.reclaim(cfg);
        this.slots.set(name, slot);
      }
      out[name] = slot;
    }
    return out;
  }

  /** A slot of a cluster no longer in the config, whose counts are all back to zero (nothing in flight). */
  private reclaim(cfg: EngineConfig): number {
    for (const [name, slot] of this.slots) {
      if (cfg.clusters.has(name)) continue;
      if ([CONNECTIONS, PENDING, REQUESTS, RETRIES].some((k) => this.counts.total(slot, k) !== 0)) continue;
      this.slots.delete(name);
      return slot;
    }
    throw new ConfigError("Cluster", "", "", `more than ${SLOTS} clusters with circuit breakers shared by the workers`);
  }
}
