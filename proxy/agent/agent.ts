// The agent: it owns the listening sockets and the admin ports, runs the engine as `concurrency` worker processes
// (workers.ts), and hot-restarts them (possibly from another binaryPath) without dropping a request: the new workers
// get the same listening sockets, serve, and only then are the old ones told to drain (Connection: close) and exit.
import { fileURLToPath } from "node:url";
import type { EngineConfig, Resources } from "../engine/config/types.js";
import { compile, ConfigError } from "../engine/config/index.js";
import { startAdmin, type AdminServers, type AdminTarget, type PortOption } from "../engine/admin.js";
import { EngineProcess } from "./engine-process.js";
import { mergePrometheus } from "./prom-merge.js";
import { EngineChooser } from "./engines.js";
import { ListenSocket } from "./listen-socket.js";
import { refuseUnsharedLimits } from "./shared-limits.js";
import { SharedTable } from "./shared-table.js";
import { Workers } from "./workers.js";

export const DEFAULT_ENGINE = fileURLToPath(new URL("../engine/child.js", import.meta.url));

export interface AgentOptions {
  resources: Resources;
  /** The engine entry point to fork. Default: this package's engine. */
  binaryPath?: string;
  /** The only directory a hot restart may take another engine from (engines.ts). Default: $WEFT_ENGINES_DIR, else
   * /var/lib/weft/engines. */
  enginesDir?: string;
  adminPort?: PortOption;
  statsPort?: PortOption;
  readyPort?: PortOption;
  bindAddress?: string;
  /** Engine worker processes, as Istio's ProxyConfig concurrency (resolve 0, "one per core", before). Default 1. */
  concurrency?: number;
  /** How long an old engine drains before it exits. Default 5 s. */
  drainMs?: number;
  accessLog?: boolean;
  /** The proxy's node id: the engine names its workload (metrics, spans) after it. */
  nodeId?: string;
  onQuit?: () => void;
  /** Address of the admin server. Default 127.0.0.1. */
  adminAddress?: string;
  /** More for /config_dump (the xDS client's versions). */
  dumpExtra?: () => Record<string, unknown>;
  /** How long a new engine has to start and serve the config before a hot restart is refused. Default 30 s. */
  readyTimeoutMs?: number;
  /** A new engine that exits this many times within windowMs of its hot restart is rolled back. Default 3 in 60 s. */
  crashLoop?: { count: number; windowMs: number };
  /** A crash-looping engine was replaced by the one it had replaced. */
  onRollback?: (e: { from: string; to: string; error: string }) => void;
  /** A crashed engine was replaced (so `engine` changed). */
  onRespawn?: () => void;
}

export interface HotRestartResult {
  epoch: number;
  binaryPath: string;
  version: string;
}

export class Agent implements AdminTarget {
  /** The listening sockets, bound here and listened on by the engines (see listen-socket.ts). */
  private readonly servers = new Map<string, ListenSocket>();
  private current: Workers | undefined;
  private epoch = -1;
  private binaryPath: string;
  private resources: Resources;
  private admin: AdminServers | undefined;
  private stopping = false;
  private restarting: Promise<unknown> = Promise.resolve();
  private crashes = 0;
  /** Old engines still draining: their counters count until their totals arrive. */
  private readonly draining = new Set<EngineProcess>();
  /** Totals of engines that drained and exited, carried into every later scrape. */
  private carried = "";
  /** The engine a hot restart replaced, while the new one may still prove to crash-loop. */
  private previous: { binaryPath: string; at: number; crashes: number } | undefined;
  private readonly engines: EngineChooser;
  readonly posts: AdminTarget["posts"];

  readonly concurrency: number;
  /** The workers' shared circuit-breaker counts (concurrency > 1 with the shared_memory addon built). */
  private readonly shared: SharedTable | undefined;
  /** Each cluster's slot in them, for the config in `resources`. */
  private slots: Record<string, number> | undefined;

  constructor(private readonly opts: AgentOptions) {
    this.concurrency = Math.max(1, Math.floor(opts.concurrency ?? 1));
    if (this.concurrency > 1) {
      const t = SharedTable.create(this.concurrency);
      if (typeof t === "string") process.stderr.write(`weft agent: circuit breakers can't be shared: ${t}\n`);
      else this.shared = t;
    }
    this.binaryPath = opts.binaryPath ?? DEFAULT_ENGINE;
    this.engines = new EngineChooser(this.binaryPath, opts.enginesDir);
    this.resources = opts.resources;
    this.posts = {
      "/hot_restart": async (q) => JSON.stringify(await this.hotRestart(q.get("binary_path") ?? undefined)),
    };
  }

  get ready(): boolean {
    return this.current !== undefined && this.current.live.length > 0 && !this.stopping;
  }

  get notReady(): string | undefined {
    if (this.stopping) return "shutting down";
    return this.ready ? undefined : "the engine is not running";
  }

  get ports(): AdminServers["ports"] {
    return this.admin?.ports ?? { admin: 0, stats: 0, ready: 0 };
  }

  /** The address the Prometheus server is bound to (0.0.0.0: every address). */
  get statsHost(): string {
    return this.opts.bindAddress ?? "0.0.0.0";
  }

  listenerPort(name: string): number {
    return this.servers.get(name)?.port ?? 0;
  }

  async start(): Promise<void> {
    const cfg = compile(this.resources); // reject a bad bootstrap before binding anything
    refuseUnsharedLimits(cfg, this.concurrency, this.shared !== undefined);
    this.slots = this.shared?.slotsFor(cfg);
    if (this.slots) this.shared?.serving(this.resources, this.slots, true);
    for (const l of cfg.listeners) if (l.bindToPort) this.servers.set(l.name, ListenSocket.bind(l.address, l.port));
    this.admin = await startAdmin(this, this.opts);
    this.current = await this.spawn(this.binaryPath);
  }

  /** A whole set of workers of a new epoch; if one fails to serve, none is kept. */
  private async spawn(binaryPath: string): Promise<Workers> {
    const epoch = ++this.epoch;
    const started = await Promise.allSettled(
      Array.from({ length: this.concurrency }, () => this.spawnWorker(epoch, binaryPath)),
    );
    const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
    const procs = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    if (failed) {
      for (const p of procs) p.child.kill("SIGKILL");
      throw failed.reason;
    }
    const set = new Workers(epoch, procs);
    for (const p of procs) void p.exited.then((code) => this.onExit(set, p, code));
    return set;
  }

  private async spawnWorker(epoch: number, binaryPath: string): Promise<EngineProcess> {
    const t = this.shared;
    const column = t?.takeColumn();
    const e = new EngineProcess(epoch, binaryPath, {
      drainMs: this.opts.drainMs ?? 5000,
      accessLog: this.opts.accessLog ?? false,
      nodeId: this.opts.nodeId,
      shared: t && column !== undefined ? { fd: t.fd, bytes: t.bytes, columns: t.columns, column } : undefined,
    });
    if (t && column !== undefined) void e.exited.then(() => t.releaseColumn(column));
    const readyMs = this.opts.readyTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`engine ${binaryPath} did not serve the config within ${readyMs / 1000}s`)),
        readyMs,
      );
    });
    try {
      await Promise.race([e.boot(this.servers, this.resources, this.slots), late]);
    } catch (err) {
      e.child.kill("SIGKILL");
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return e;
  }

  private onExit(set: Workers, e: EngineProcess, code: number | null): void {
    if (set !== this.current || !set.procs.includes(e) || this.stopping) return;
    // A crash: restart that worker from the same binary with backoff; the listening sockets stay open in the agent,
    // and meanwhile the other workers take the connections (with none left, they wait in the kernel's accept queue).
    process.stderr.write(`weft agent: engine epoch ${e.epoch} (pid ${e.child.pid}) exited (${code}); restarting\n`);
    this.crashed(`exited (${code})`);
    this.respawn(set, e);
  }

  /** Counts a crash of the engine a hot restart brought; past the limit, goes back to the one it replaced. */
  private crashed(why: string): void {
    const p = this.previous;
    const loop = this.opts.crashLoop ?? { count: 3, windowMs: 60_000 };
    if (!p || Date.now() - p.at > loop.windowMs) return;
    if (++p.crashes < loop.count) return;
    const from = this.binaryPath;
    this.previous = undefined;
    this.binaryPath = p.binaryPath;
    this.crashes = 0;
    const error = `engine ${from} crashed ${p.crashes} times in ${Math.round((Date.now() - p.at) / 1000)}s (last: ${why}); rolled back to ${p.binaryPath}`;
    process.stderr.write(`weft agent: ${error}\n`);
    this.opts.onRollback?.({ from, to: p.binaryPath, error });
  }

  /** Replaces a crashed worker of the running set; after a rollback (another binary), replaces the whole set. */
  private respawn(set: Workers, dead: EngineProcess): void {
    const delay = Math.min(100 * 2 ** this.crashes++, 10_000);
    setTimeout(() => {
      if (this.stopping || set !== this.current) return;
      // Behind a config apply or hot restart in progress, so the new worker boots with the config the others serve.
      const next = this.restarting.then((): Promise<Workers | EngineProcess> =>
        set.binaryPath !== this.binaryPath ? this.spawn(this.binaryPath) : this.spawnWorker(set.epoch, this.binaryPath),
      );
      this.restarting = next.catch(() => undefined);
      next.then(
        (n) => {
          if (this.stopping && n instanceof Workers) {
            // stop() drained the set this one replaces while it was starting: it must not outlive the agent (its
            // engines would keep the agent's process from ever exiting).
            void n.drain();
            return;
          }
          if (n instanceof Workers) {
            this.current = n;
            for (const p of set.live) this.retire(p);
          } else if (this.stopping || this.current !== set || !set.replace(dead, n)) {
            n.child.kill("SIGKILL");
            return;
          } else void n.exited.then((code) => this.onExit(set, n, code));
          this.crashes = 0;
          this.opts.onRespawn?.();
        },
        (err: unknown) => {
          process.stderr.write(`weft agent: restart failed: ${String(err)}\n`);
          this.crashed(String(err));
          this.respawn(set, dead);
        },
      );
    }, delay);
  }

  /** Starts a new engine (optionally from another binaryPath, which must be the one the agent started with or
   * inside the engines directory), waits until it serves, then drains the old one. */
  hotRestart(binaryPath?: string): Promise<HotRestartResult> {
    let path: string;
    try {
      path = this.engines.choose(binaryPath, this.binaryPath);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const run = async (): Promise<HotRestartResult> => {
      const old = this.current;
      const next = await this.spawn(path);
      if (this.stopping) {
        // stop() drained the set this one was to replace while it was starting: it must not outlive the agent.
        await next.drain();
        throw new Error("the agent is shutting down");
      }
      this.current = next;
      if (next.binaryPath !== this.binaryPath)
        this.previous = { binaryPath: this.binaryPath, at: Date.now(), crashes: 0 };
      this.binaryPath = next.binaryPath;
      if (old) for (const p of old.procs) this.retire(p);
      return { epoch: next.epoch, binaryPath: next.binaryPath, version: next.version };
    };
    const p = this.restarting.then(run, run);
    this.restarting = p.catch(() => undefined);
    return p;
  }

  /** Drains an old engine; its counters keep counting in scrapes, then its final totals are carried. */
  private retire(old: EngineProcess): void {
    this.draining.add(old);
    old.onFinal = (text) => {
      this.carried = this.carried ? mergePrometheus([text, this.carried]) : text;
      this.draining.delete(old);
    };
    void old.drain().then(() => this.draining.delete(old));
  }

  /** The engine running now: its binary, the version it announced, and how many workers run it. */
  get engine(): { binaryPath: string; version: string; epoch: number; workers: number } | undefined {
    const e = this.current;
    return e && { binaryPath: e.binaryPath, version: e.version, epoch: e.epoch, workers: e.live.length };
  }

  /**
   * A new config for the running engine (the xDS path); rejected configs leave the old one serving. Queued behind a
   * hot restart in progress, so the engine it brings up gets this config too, not the one it booted with.
   */
  apply(resources: Resources, compiled?: EngineConfig): Promise<void> {
    const p = this.restarting.then(() => this.applyNow(resources, compiled));
    this.restarting = p.catch(() => undefined);
    return p;
  }

  /** `compiled`: what `resources` compile to, when the caller has it already (the xDS client checked it). */
  private async applyNow(resources: Resources, compiled?: EngineConfig): Promise<void> {
    const cfg = compiled ?? compile(resources);
    refuseUnsharedLimits(cfg, this.concurrency, this.shared !== undefined);
    const slots = this.shared?.slotsFor(cfg);
    if (slots) this.shared?.serving(resources, slots);
    // Listeners that are new (or moved) get their sockets here, since the agent owns them; removed ones close.
    const bound = new Map<string, ListenSocket>();
    try {
      for (const l of cfg.listeners) {
        if (!l.bindToPort) continue; // reached through a use_original_dst listener, never bound
        const a = this.servers.get(l.name);
        if (a && a.address === l.address && (a.port === l.port || l.port === 0)) continue;
        try {
          bound.set(l.name, ListenSocket.bind(l.address, l.port));
        } catch (err) {
          const why = err instanceof Error ? err.message : String(err);
          throw new ConfigError("Listener", l.name, "address", `cannot listen on ${l.address}:${l.port}: ${why}`);
        }
      }
      for (const [name, server] of bound) await this.current?.adopt(name, server);
      await this.current?.apply(resources, slots);
    } catch (err) {
      for (const s of bound.values()) s.close();
      throw err;
    }
    this.resources = resources;
    this.slots = slots;
    if (slots) this.shared?.serving(resources, slots, true);
    const keep = new Set(cfg.listeners.filter((l) => l.bindToPort).map((l) => l.name));
    for (const [name, server] of this.servers) if (!keep.has(name) || bound.has(name)) server.close();
    for (const name of this.servers.keys()) if (!keep.has(name)) this.servers.delete(name);
    for (const [name, server] of bound) this.servers.set(name, server);
  }

  async configDump(): Promise<unknown> {
    const e = this.current;
    const dump = e ? await e.dump() : {};
    const extra = this.opts.dumpExtra?.() ?? {};
    return {
      epoch: e?.epoch ?? -1,
      binary_path: e?.binaryPath ?? this.binaryPath,
      engine_version: e?.version ?? "",
      concurrency: this.concurrency,
      ...extra,
      ...dump,
    };
  }

  async statsText(): Promise<string> {
    const d = await this.current?.dump();
    return `server.concurrency: ${this.concurrency}\nserver.hot_restart_epoch: ${this.epoch}\n${typeof d?.stats === "string" ? d.stats : ""}`;
  }

  /** The running workers' metrics added up, plus the totals of the engines they replaced (as Envoy's hot restart
   * keeps them). */
  async prometheus(): Promise<string> {
    const olds = [...this.draining];
    const [now = "", ...live] = await Promise.all([
      this.current?.prometheus() ?? "",
      ...olds.map((e) => e.prometheus().catch(() => "")),
    ]);
    // An engine whose totals arrived while we asked is in `carried` already: not twice.
    const still = live.filter((_, i) => olds[i]?.finalStats === undefined);
    if (still.length === 0 && !this.carried) return now;
    return mergePrometheus([now, ...still, this.carried]);
  }

  drainListeners(): void {
    this.current?.drainListeners();
  }

  quit(): void {
    this.opts.onQuit?.();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const s of this.servers.values()) s.close();
    await this.current?.drain();
    this.shared?.close();
    await this.admin?.close();
  }
}
