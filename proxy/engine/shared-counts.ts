// Circuit-breaker counts shared by all of a proxy's engine workers, so that a limit is the proxy's, as Envoy's
// (whose worker threads share one count per cluster), not one per worker. The agent creates the memory (a memfd,
// mapped by the shared_memory addon) and names one slot per cluster in each config; each worker process has its
// own column, which only it writes, so no cross-process atomics are needed (aligned 8-byte stores are whole) and a
// crashed worker's counts are zeroed by the agent. A check reads the sum of the columns: like Envoy's check then
// increment, two workers checking at the same instant may both pass, by one each.
import { loadAddon } from "../native/addon.js";

/** The counts of one cluster, in this order in each column. */
export const CONNECTIONS = 0;
export const PENDING = 1;
export const REQUESTS = 2;
export const RETRIES = 3;
const KINDS = 4;
/** A local rate limit's slot: each worker's column holds the tokens it took (TAKEN, a running total); the agent's
 * column (the last) holds the tokens granted less those retired workers took (NET), and when it last filled. */
export const TAKEN = 0;
export const NET = 0;
export const LAST_FILL = 1;

/** The slot name of a token bucket (RateLimitConfig.key) among the clusters' names. */
export const bucketSlot = (key: string): string => `ratelimit:${key}`;

/** How the agent tells a worker where its column is (env), and which stdio fd holds the memory. */
export const SHARED_ENV = { bytes: "WEFT_SHARED_BYTES", columns: "WEFT_SHARED_COLUMNS", column: "WEFT_SHARED_COLUMN" };
export const SHARED_FD = 4;

export function sharedBytes(slots: number, columns: number): number {
  return slots * columns * KINDS * 8;
}

interface Addon {
  create(bytes: number): number;
  map(fd: number, bytes: number): ArrayBuffer;
}

let addon: Addon | undefined;
let why: string | undefined;

/** The shared_memory addon (built by `npm run build` beside original_dst.node), or why it can't be loaded. */
export function sharedMemory(): Addon | string {
  if (addon) return addon;
  if (why) return why;
  const loaded = loadAddon<Addon>("shared_memory.node");
  if (typeof loaded !== "string") return (addon = loaded);
  why = `the shared-memory addon (shared_memory.node) is not built: ${loaded}`;
  return why;
}

/** A cluster's circuit-breaker counts in this worker (CONNECTIONS, …), published to its column when shared. */
export class BreakerCounts {
  private readonly own = [0, 0, 0, 0];
  private shared: SharedCounts | undefined;
  private slot = 0;

  add(kind: number, n: number): void {
    const v = (this.own[kind] as number) + n;
    this.own[kind] = v;
    this.shared?.set(this.slot, kind, v);
  }

  get sharing(): boolean {
    return this.shared !== undefined;
  }

  /** This worker's count. */
  mine(kind: number): number {
    return this.own[kind] as number;
  }

  /** The proxy's count: all workers' when they share limits, else this one's. */
  total(kind: number): number {
    return this.shared ? this.shared.total(this.slot, kind) : (this.own[kind] as number);
  }

  /** Counts in the slot the agent named for the cluster, with the other workers; undefined: alone. */
  share(shared: SharedCounts | undefined, slot: number | undefined): void {
    if (!shared || slot === undefined) {
      this.shared = undefined;
      return;
    }
    if (this.shared === shared && this.slot === slot) return;
    this.shared = shared;
    this.slot = slot;
    this.own.forEach((v, kind) => shared.set(slot, kind, v));
  }
}

export class SharedCounts {
  constructor(
    readonly cells: Float64Array,
    readonly columns: number,
    readonly column: number,
  ) {}

  /** All workers' count of one kind for a slot. */
  total(slot: number, kind: number): number {
    const c = this.cells;
    let i = slot * this.columns * KINDS + kind;
    let n = 0;
    for (let w = 0; w < this.columns; w++, i += KINDS) n += c[i] as number;
    return n;
  }

  /** This worker's count of one kind for a slot. */
  set(slot: number, kind: number, value: number): void {
    this.cells[(slot * this.columns + this.column) * KINDS + kind] = value;
  }

  /** One column's count (the agent's column is the last). */
  get(slot: number, column: number, kind: number): number {
    return this.cells[(slot * this.columns + column) * KINDS + kind] as number;
  }

  put(slot: number, column: number, kind: number, value: number): void {
    this.cells[(slot * this.columns + column) * KINDS + kind] = value;
  }

  /** Tokens left in a shared bucket: granted, less what every worker took. */
  tokens(slot: number): number {
    const agent = this.columns - 1;
    return 2 * this.get(slot, agent, NET) - this.total(slot, TAKEN); // total() counts the agent's NET once
  }

  /** Zeroes a worker's column (it exited: its connections and requests are gone). */
  clearColumn(column: number, slots: number): void {
    for (let s = 0; s < slots; s++)
      this.cells.fill(0, (s * this.columns + column) * KINDS, (s * this.columns + column + 1) * KINDS);
  }

  /** In a worker: the memory the agent passed on SHARED_FD, or undefined when this worker shares nothing. */
  static fromEnv(env: NodeJS.ProcessEnv): SharedCounts | undefined {
    const bytes = Number(env[SHARED_ENV.bytes]);
    if (!bytes) return undefined;
    const mem = sharedMemory();
    if (typeof mem === "string") throw new Error(mem); // the agent loaded it: so must we
    return new SharedCounts(
      new Float64Array(mem.map(SHARED_FD, bytes)),
      Number(env[SHARED_ENV.columns]),
      Number(env[SHARED_ENV.column]),
    );
  }
}
