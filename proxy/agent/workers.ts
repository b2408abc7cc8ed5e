// The engines of one epoch: `concurrency` worker processes from one binary, as Envoy's worker threads. Every worker
// listens on every one of the agent's sockets (the same socket, handed to each: see listen-socket.ts), so the kernel
// gives each connection to whichever worker accepts first, and gets the same config. What the agent asks of "the
// engine" it asks of all of them: a config applies when every worker serves it, stats are added up
// (worker-stats.ts), and a hot restart replaces the whole set.
import type { Resources } from "../engine/config/types.js";
import { mergePrometheus } from "./prom-merge.js";
import type { EngineProcess } from "./engine-process.js";
import type { ListenSocket } from "./listen-socket.js";
import { mergeStatsText } from "./worker-stats.js";

export class Workers {
  constructor(
    readonly epoch: number,
    /** One per worker; a crashed worker's slot gets its replacement (replace()). */
    readonly procs: EngineProcess[],
  ) {}

  get binaryPath(): string {
    return this.procs[0]?.binaryPath ?? "";
  }

  get version(): string {
    return this.procs[0]?.version ?? "";
  }

  /** Workers that are running now (a crashed one is out until its replacement serves). */
  get live(): EngineProcess[] {
    return this.procs.filter((p) => p.child.exitCode === null && p.child.signalCode === null && p.child.connected);
  }

  replace(old: EngineProcess, next: EngineProcess): boolean {
    const i = this.procs.indexOf(old);
    if (i < 0) return false;
    this.procs[i] = next;
    return true;
  }

  /** Every worker gets the socket; resolves once all have it. */
  async adopt(name: string, socket: ListenSocket): Promise<void> {
    await Promise.all(this.live.map((p) => p.adopt(name, socket)));
  }

  /** Resolves once every live worker serves the config; rejects with the first worker's refusal. (The agent compiled
   * the config before, so workers refuse only what compiling can't see, and then all alike.) */
  async apply(resources: Resources, slots?: Record<string, number>): Promise<void> {
    const results = await Promise.allSettled(this.live.map((p) => p.apply(resources, slots)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  }

  drain(): Promise<unknown> {
    return Promise.all(this.procs.map((p) => p.drain()));
  }

  drainListeners(): void {
    for (const p of this.live) p.drainListeners();
  }

  /** Every live worker's Prometheus text, as one proxy's. */
  async prometheus(): Promise<string> {
    const texts = await Promise.all(this.live.map((p) => p.prometheus().catch(() => "")));
    return texts.length === 1 ? (texts[0] ?? "") : mergePrometheus(texts, true);
  }

  /** The first worker's config dump (all serve the same config), with every worker's /stats added up. */
  async dump(): Promise<Record<string, unknown>> {
    const live = this.live;
    const dumps = (await Promise.all(live.map((p) => p.dump().catch(() => ({}))))) as { stats?: string }[];
    const stats = mergeStatsText(dumps.map((d) => d.stats ?? ""));
    return {
      ...dumps[0],
      stats,
      workers: live.map((p) => ({ pid: p.child.pid, version: p.version })),
    };
  }
}
