// The agent's side of the workers' shared limits (engine/shared-counts.ts): it creates the memory, gives each worker
// process a column of its own (zeroed when that process exits), and names a slot per cluster and per local rate
// limit's token bucket in every config, the same for every worker and across hot restarts, so a cluster's counts
// and a bucket's tokens are the proxy's. It fills the buckets on their interval, as Envoy's main thread fills the
// token bucket its workers share.
import { ConfigError } from "../engine/config/index.js";
import type { EngineConfig } from "../engine/config/types.js";
import type { Resources } from "../engine/config/types.js";
import {
  bucketSlot,
  CONNECTIONS,
  LAST_FILL,
  NET,
  PENDING,
  REQUESTS,
  RETRIES,
  SharedCounts,
  sharedBytes,
  sharedMemory,
  TAKEN,
} from "../engine/shared-counts.js";
import { tokenBuckets, type Bucket } from "./shared-limits.js";

/** Clusters one proxy can hold breaker counts for. */
const SLOTS = 4096;

export class SharedTable {
  private readonly slots = new Map<string, number>();
  /** Slots never given out start here. */
  private fresh = 0;
  /** Token buckets in the current config, by slot: their fill timers. */
  private readonly buckets = new Map<number, { bucket: Bucket; timer: NodeJS.Timeout }>();
  /** Every slot a bucket ever had (a worker's tokens are moved to NET when it exits). */
  private readonly bucketSlots = new Set<number>();
  private readonly freeColumns: number[];

  private constructor(
    readonly fd: number,
    readonly bytes: number,
    readonly columns: number,
    private readonly counts: SharedCounts,
  ) {
    this.freeColumns = Array.from({ length: columns - 1 }, (_, i) => i); // the last is the agent's
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
    const agent = this.columns - 1;
    // What it took stays taken: moved into NET (granted less retired workers' tokens), before its column is zeroed.
    for (const slot of this.bucketSlots)
      this.counts.put(slot, agent, NET, this.counts.get(slot, agent, NET) - this.counts.get(slot, column, TAKEN));
    this.counts.clearColumn(column, SLOTS);
    this.freeColumns.push(column);
  }

  /** Each cluster's and token bucket's slot; a cluster keeps its slot while it is in the config. */
  slotsFor(cfg: EngineConfig): Record<string, number> {
    const out: Record<string, number> = {};
    for (const name of cfg.clusters.keys()) out[name] = this.slotOf(name, cfg);
    for (const { bucket } of tokenBuckets(cfg.resources))
      out[bucketSlot(bucket.key)] = this.slotOf(bucketSlot(bucket.key), cfg);
    return out;
  }

  private slotOf(name: string, cfg: EngineConfig): number {
    let slot = this.slots.get(name);
    if (slot === undefined) {
      slot = this.fresh < SLOTS ? this.fresh++ : this.reclaim(cfg);
      this.slots.set(name, slot);
    }
    return slot;
  }

  /**
   * Fills the buckets of a config (slotsFor's): a new bucket starts full. Before the workers get the config; once they
   * serve it, `prune` stops filling the buckets it no longer has (not before: a NACK keeps the old config's).
   */
  serving(res: Resources, slots: Readonly<Record<string, number>>, prune = false): void {
    const keep = new Set<number>();
    for (const { bucket } of tokenBuckets(res)) {
      const slot = slots[bucketSlot(bucket.key)];
      if (slot === undefined || keep.has(slot)) continue;
      keep.add(slot);
      if (this.buckets.has(slot)) continue;
      const agent = this.columns - 1;
      const taken = this.counts.total(slot, TAKEN) - this.counts.get(slot, agent, NET);
      this.counts.put(slot, agent, NET, taken + bucket.maxTokens);
      this.counts.put(slot, agent, LAST_FILL, Date.now());
      this.bucketSlots.add(slot);
      const timer = setInterval(() => this.fill(slot, bucket), Math.max(1, bucket.fillIntervalMs));
      timer.unref();
      this.buckets.set(slot, { bucket, timer });
    }
    if (prune)
      for (const [slot, b] of this.buckets)
        if (!keep.has(slot)) {
          clearInterval(b.timer);
          this.buckets.delete(slot);
        }
  }

  private fill(slot: number, b: Bucket): void {
    const agent = this.columns - 1;
    const left = this.counts.tokens(slot);
    const add = Math.min(b.tokensPerFill, b.maxTokens - left);
    if (add > 0) this.counts.put(slot, agent, NET, this.counts.get(slot, agent, NET) + add);
    this.counts.put(slot, agent, LAST_FILL, Date.now());
  }

  close(): void {
    for (const b of this.buckets.values()) clearInterval(b.timer);
    this.buckets.clear();
  }

  /** A slot of a cluster no longer in the config, whose counts are all back to zero (nothing in flight). */
  private reclaim(cfg: EngineConfig): number {
    for (const [name, slot] of this.slots) {
      if (cfg.clusters.has(name) || this.bucketSlots.has(slot)) continue; // a bucket keeps its slot
      if ([CONNECTIONS, PENDING, REQUESTS, RETRIES].some((k) => this.counts.total(slot, k) !== 0)) continue;
      this.slots.delete(name);
      return slot;
    }
    throw new ConfigError("Cluster", "", "", `more than ${SLOTS} clusters with circuit breakers shared by the workers`);
  }
}
