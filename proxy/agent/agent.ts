// The agent: it owns the listening sockets and the admin ports, runs the engine as a child process, and
// hot-restarts it (possibly from another binaryPath) without dropping a request: the new engine gets the same
// listening sockets, serves, and only then is the old one told to drain (Connection: close) and exit.
import { createServer, type Server, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import type { Resources } from "../engine/config/types.js";
import { compile, ConfigError } from "../engine/config/index.js";
import { startAdmin, type AdminServers, type AdminTarget, type PortOption } from "../engine/admin.js";
import { EngineProcess } from "./engine-process.js";
import { EngineChooser } from "./engines.js";

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
  /** How long an old engine drains before it exits. Default 5 s. */
  drainMs?: number;
  accessLog?: boolean;
  onQuit?: () => void;
  /** Address of the admin server. Default 127.0.0.1. */
  adminAddress?: string;
  /** More for /config_dump (the xDS client's versions). */
  dumpExtra?: () => Record<string, unknown>;
}

export class Agent implements AdminTarget {
  private readonly servers = new Map<string, Server>();
  private current: EngineProcess | undefined;
  private epoch = -1;
  private binaryPath: string;
  private resources: Resources;
  private admin: AdminServers | undefined;
  private stopping = false;
  private restarting: Promise<unknown> = Promise.resolve();
  private crashes = 0;
  private held: { name: string; socket: Socket }[] = [];
  private readonly engines: EngineChooser;
  readonly posts: AdminTarget["posts"];

  constructor(private readonly opts: AgentOptions) {
    this.binaryPath = opts.binaryPath ?? DEFAULT_ENGINE;
    this.engines = new EngineChooser(this.binaryPath, opts.enginesDir);
    this.resources = opts.resources;
    this.posts = {
      "/hot_restart": async (q) => JSON.stringify(await this.hotRestart(q.get("binary_path") ?? undefined)),
    };
  }

  get ready(): boolean {
    return this.current !== undefined && !this.stopping;
  }

  get notReady(): string | undefined {
    if (this.stopping) return "shutting down";
    return this.current ? undefined : "the engine is not running";
  }

  get ports(): AdminServers["ports"] {
    return this.admin?.ports ?? { admin: 0, stats: 0, ready: 0 };
  }

  listenerPort(name: string): number {
    const a = this.servers.get(name)?.address();
    return a && typeof a === "object" ? a.port : 0;
  }

  async start(): Promise<void> {
    const cfg = compile(this.resources); // reject a bad bootstrap before binding anything
    for (const l of cfg.listeners) this.servers.set(l.name, await this.bind(l));
    this.admin = await startAdmin(this, this.opts);
    this.current = await this.spawn(this.binaryPath);
  }

  private async bind(l: { name: string; address: string; port: number }): Promise<Server> {
    const server = createServer({ noDelay: true, pauseOnConnect: true });
    // The agent never serves: a connection it happens to accept goes to the current engine.
    server.on("connection", (socket: Socket) => this.pass(l.name, socket));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: l.address, port: l.port }, resolve);
    });
    return server;
  }

  private pass(name: string, socket: Socket): void {
    const e = this.current;
    if (e && !e.draining) e.pass(name, socket);
    else this.held.push({ name, socket });
  }

  private async spawn(binaryPath: string): Promise<EngineProcess> {
    const e = new EngineProcess(++this.epoch, binaryPath, { drainMs: this.opts.drainMs ?? 5000, accessLog: this.opts.accessLog ?? false });
    try {
      await e.boot(this.servers, this.resources);
    } catch (err) {
      e.child.kill("SIGKILL");
      throw err;
    }
    void e.exited.then((code) => this.onExit(e, code));
    for (const h of this.held.splice(0)) e.pass(h.name, h.socket);
    return e;
  }

  private onExit(e: EngineProcess, code: number | null): void {
    if (e !== this.current || this.stopping) return;
    // A crash: restart from the same binary with backoff; the listening sockets stay open in the agent, and
    // connections it accepts meanwhile wait in `held`.
    this.current = undefined;
    process.stderr.write(`weft agent: engine epoch ${e.epoch} exited (${code}); restarting\n`);
    this.respawn();
  }

  private respawn(): void {
    const delay = Math.min(100 * 2 ** this.crashes++, 10_000);
    setTimeout(() => {
      if (this.stopping) return;
      this.spawn(this.binaryPath).then(
        (next) => {
          this.current = next;
          this.crashes = 0;
        },
        (err: unknown) => {
          process.stderr.write(`weft agent: restart failed: ${String(err)}\n`);
          this.respawn();
        },
      );
    }, delay);
  }

  /** Starts a new engine (optionally from another binaryPath, which must be the one the agent started with or
   * inside the engines directory), waits until it serves, then drains the old one. */
  hotRestart(binaryPath?: string): Promise<{ epoch: number; binaryPath: string; version: string }> {
    let path: string;
    try {
      path = this.engines.choose(binaryPath, this.binaryPath);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const run = async () => {
      const old = this.current;
      const next = await this.spawn(path);
      this.current = next;
      this.binaryPath = next.binaryPath;
      if (old) void old.drain();
      return { epoch: next.epoch, binaryPath: next.binaryPath, version: next.version };
    };
    const p = this.restarting.then(run, run);
    this.restarting = p.catch(() => undefined);
    return p;
  }

  /** A new config for the running engine (the xDS path); rejected configs leave the old one serving. */
  async apply(resources: Resources): Promise<void> {
    const cfg = compile(resources);
    // Listeners that are new (or moved) get their sockets here, since the agent owns them; removed ones close.
    const bound = new Map<string, Server>();
    try {
      for (const l of cfg.listeners) {
        const a = this.servers.get(l.name)?.address();
        if (a && typeof a === "object" && a.address === l.address && (a.port === l.port || l.port === 0)) continue;
        bound.set(l.name, await this.bind(l).catch((err: Error) => Promise.reject(new ConfigError("Listener", l.name, "address", `cannot listen on ${l.address}:${l.port}: ${err.message}`))));
      }
      for (const [name, server] of bound) await this.current?.adopt(name, server);
      await this.current?.apply(resources);
    } catch (err) {
      for (const s of bound.values()) s.close();
      throw err;
    }
    this.resources = resources;
    const keep = new Set(cfg.listeners.map((l) => l.name));
    for (const [name, server] of this.servers) if (!keep.has(name) || bound.has(name)) server.close();
    for (const name of this.servers.keys()) if (!keep.has(name)) this.servers.delete(name);
    for (const [name, server] of bound) this.servers.set(name, server);
  }

  async configDump(): Promise<unknown> {
    const e = this.current;
    const dump = e ? await e.dump() : {};
    const extra = this.opts.dumpExtra?.() ?? {};
    return { epoch: e?.epoch ?? -1, binary_path: e?.binaryPath ?? this.binaryPath, engine_version: e?.version ?? "", ...extra, ...(dump as object) };
  }

  async statsText(): Promise<string> {
    const d = (await this.current?.dump()) as { stats?: string } | undefined;
    return `server.hot_restart_epoch: ${this.epoch}\n${d?.stats ?? ""}`;
  }

  prometheus(): Promise<string> {
    return this.current ? this.current.prometheus() : Promise.resolve("");
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
    for (const h of this.held.splice(0)) h.socket.destroy();
    await this.admin?.close();
  }
}
