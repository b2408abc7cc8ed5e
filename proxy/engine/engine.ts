// The engine: listeners carrying HTTP/1.1 through the filter chain, configured by apply(resources), which
// validates a whole resource set and swaps it in atomically. Requests in flight finish on the config they started on.
import { createServer, type Server, type Socket } from "node:net";
import { compile, ConfigError, type EngineConfig, type Listener, type Resources } from "./config/index.js";
import type { Http1Connection } from "./http1/server.js";
import { Counters } from "./counters.js";
import type { SharedCounts } from "./shared-counts.js";
import { ClusterRuntime } from "./cluster.js";
import { RateLimiter } from "./filters/ratelimit.js";
import { Stats, unknownWorkload, type Workload } from "./stats.js";
import { checkTls } from "./tls.js";
import { chainsOf } from "./config/filters.js";
import { H2Counters } from "./h2/counters.js";
import type { EngineContext } from "./context.js";
import { startAdmin, type AdminServers, type PortOption } from "./admin.js";
import { clusterPrometheus, clusterStats, type ClusterState } from "./cluster-stats.js";
import { secureContextFor } from "./dial.js";
import { ListenerRuntime } from "./listener-runtime.js";
import { Tracers } from "./tracing/exporter.js";
import { identityOf } from "./workload.js";
import type { OriginalDst } from "../native/original-dst.js";

export interface EngineOptions {
  /** Circuit-breaker counts shared with the other workers of the agent (shared-counts.ts). */
  shared?: SharedCounts | undefined;
  /** Admin (loopback): /ready, /stats, /config_dump, /drain_listeners, /quitquitquit. Default 15000. */
  adminPort?: PortOption;
  adminAddress?: string;
  /** Prometheus: /stats/prometheus. Default 15090. */
  statsPort?: PortOption;
  /** Readiness: /healthz/ready. Default 15021. */
  readyPort?: PortOption;
  /** Address the stats and readiness servers bind. Default 0.0.0.0. */
  bindAddress?: string;
  /** pino JSON access log of every request to stdout (listeners with access_log log regardless). */
  accessLog?: boolean;
  /** Where access-log lines go; stdout by default. */
  accessLogStream?: { write(line: string): void };
  /** Start a trace (traceparent and B3 headers) when a request carries none. Default true. */
  tracing?: boolean;
  workload?: Partial<Workload>;
  /** The proxy's node id (`sidecar~ip~pod.ns~...`): its workload for metrics and spans, unless `workload` says. */
  nodeId?: string;
  random?: () => number;
  /** How long stop() lets connections drain before closing them. Default 5 s. */
  drainTimeoutMs?: number;
  /** Called on POST /quitquitquit. */
  onQuit?: () => void;
}

/** What serves one filter chain of a listener: its HTTP/2 side and TLS terminator, kept across config swaps. */
/** A listening socket from the agent, waiting for its listener's config. */
interface Adopted {
  server: Server;
  /** Stops holding new connections; returns those that waited. */
  take: () => Socket[];
  /** Settles once listen(2) is done: with its error, if it failed. */
  listening: Promise<Error | undefined>;
}

export class Engine {
  private cfg: EngineConfig | undefined;
  private readonly clusters = new Map<string, ClusterRuntime>();
  private readonly listeners = new Map<string, ListenerRuntime>();
  private readonly adopted = new Map<string, Adopted>();
  readonly stats: Stats;
  readonly counters: Counters;
  private readonly ctx: EngineContext;
  private admin: AdminServers | undefined;
  private stopping = false;

  constructor(private readonly opts: EngineOptions = {}) {
    const identity = (opts.nodeId !== undefined ? identityOf(opts.nodeId) : undefined) ?? {
      nodeId: opts.nodeId ?? "",
      ip: "127.0.0.1",
      workload: unknownWorkload,
    };
    identity.workload = { ...identity.workload, ...opts.workload };
    this.stats = new Stats(identity.workload);
    this.counters = new Counters(this.stats.registry);
    this.ctx = {
      clusters: this.clusters,
      routes: new Map(),
      stats: this.stats,
      limiter: new RateLimiter(),
      random: opts.random ?? Math.random,
      h2Counters: new H2Counters(this.stats.registry),
      counters: this.counters,
      log: undefined, // pino is loaded only when some listener logs (it costs ~9 MB of RSS)
      logAll: opts.accessLog ?? false,
      accessOut: undefined,
      tracing: opts.tracing ?? true,
      identity,
      tracers: new Tracers({
        resolve: (name) => this.clusters.get(name)?.pick(undefined, Math.random)?.endpoint,
        counters: this.counters,
        local: { serviceName: `${identity.workload.app}.${identity.workload.namespace}`, ip: identity.ip },
      }),
    };
  }

  /** Starts the admin, stats and readiness servers. */
  async start(): Promise<void> {
    this.admin = await startAdmin(this, this.opts);
  }

  get config(): EngineConfig | undefined {
    return this.cfg;
  }

  get ready(): boolean {
    return this.cfg !== undefined && !this.stopping;
  }

  /** The admin, stats and readiness ports actually bound (useful with port 0). */
  get ports(): { admin: number; stats: number; ready: number } {
    return this.admin?.ports ?? { admin: 0, stats: 0, ready: 0 };
  }

  listenerPort(name: string): number {
    return this.listeners.get(name)?.port ?? 0;
  }

  clusterRuntime(name: string): ClusterRuntime | undefined {
    return this.clusters.get(name);
  }

  /**
   * Validates and swaps in a whole resource set. Throws ConfigError and keeps the old config on rejection.
   * `slots`: where each cluster's circuit-breaker counts live in `opts.shared` (the agent names them, the same for
   * every worker), when the workers share limits.
   */
  async apply(res: Resources, slots?: Readonly<Record<string, number>>): Promise<void> {
    const cfg = compile(res);
    const chains = cfg.listeners.flatMap(chainsOf);
    const logs = chains.map((l) => l.hcm?.accessLog ?? l.tcp?.accessLog).filter((f) => f !== undefined);
    if (!this.ctx.log && (this.ctx.logAll || logs.length)) {
      const { pino } = await import("pino");
      this.ctx.log = pino(
        { base: null, timestamp: pino.stdTimeFunctions.isoTime },
        this.opts.accessLogStream ?? pino.destination(1),
      );
    }
    if (!this.ctx.accessOut && logs.some((f) => f.kind !== "default")) {
      const { pino } = await import("pino");
      this.ctx.accessOut = this.opts.accessLogStream ?? pino.destination({ dest: 1, sync: false });
    }
    const checked = new Set<object>();
    for (const l of chains) {
      if (!l.tls || checked.has(l.tls)) continue;
      checked.add(l.tls);
      try {
        checkTls(l.tls); // read and check certificates now, not on the first connection
      } catch (err) {
        throw new ConfigError(
          "Listener",
          l.name,
          `filter_chains[${l.chainIndex ?? 0}].transport_socket`,
          `invalid TLS certificate or key: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
    for (const c of cfg.clusters.values()) {
      try {
        // Read the CA and client certificates now, not on the first request.
        for (const tls of [c.tls, ...c.socketMatches.map((m) => m.tls)])
          if (tls && tls.notReady === undefined) secureContextFor(tls);
      } catch (err) {
        throw new ConfigError(
          "Cluster",
          c.name,
          "transport_socket",
          `invalid TLS certificates: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
    const started: ListenerRuntime[] = [];
    try {
      for (const l of cfg.listeners) {
        const cur = this.listeners.get(l.name);
        if (
          cur &&
          cur.listener.bindToPort === l.bindToPort &&
          cur.listener.address === l.address &&
          (cur.listener.port === l.port || l.port === 0)
        )
          continue;
        started.push(await this.listen(l));
      }
    } catch (err) {
      for (const rt of started) {
        rt.server?.close();
        for (const h of rt.held.splice(0)) h.socket.destroy();
      }
      throw err;
    }
    // Swap: clusters first (routes may name new ones), then routes and listeners.
    for (const [name, c] of cfg.clusters) {
      const cur = this.clusters.get(name);
      const rt = cur ?? new ClusterRuntime(c);
      if (cur) cur.update(c);
      else this.clusters.set(name, rt);
      rt.usage.share(this.opts.shared, slots?.[name]);
    }
    this.ctx.limiter.share(this.opts.shared, slots);
    this.ctx.routes = cfg.routes;
    const keep = new Set(cfg.listeners.map((l) => l.name));
    for (const rt of started) {
      this.listeners.get(rt.listener.name)?.drain();
      this.listeners.set(rt.listener.name, rt);
    }
    for (const l of cfg.listeners) {
      const rt = this.listeners.get(l.name);
      if (rt) rt.listener = l; // every listener of cfg was started above or kept
    }
    for (const [name, rt] of this.listeners) {
      if (!keep.has(name)) {
        rt.drain();
        this.listeners.delete(name);
      }
    }
    for (const [name, c] of this.clusters) {
      if (!cfg.clusters.has(name)) {
        c.remove();
        this.clusters.delete(name);
      }
    }
    this.cfg = cfg;
    // Only now may new listeners serve the connections that waited: resumed any earlier (as adopted ones were on a
    // hot restart), their requests were routed before the clusters above existed (503 NC under load).
    for (const rt of started) rt.serveHeld();
  }

  /** A listening socket handed over by the agent (hot restart): the listener of that name uses it. */
  /** The agent's bound socket for the listener of that name (listen-socket.ts): the engine listens on it. */
  adoptHandle(name: string, handle: unknown): void {
    const server = createServer({ noDelay: true });
    // Until the listener's config arrives, connections wait (paused) rather than meet no handler.
    const waiting: Socket[] = [];
    const hold = (s: Socket) => {
      s.pause();
      waiting.push(s);
    };
    server.on("connection", hold);
    const listening = new Promise<Error | undefined>((resolve) => {
      server.once("error", resolve); // the listener's config is NACKed with it
      server.once("listening", () => resolve(undefined));
    });
    server.listen(handle); // child_process hands a bare TCP handle over as is, and listen() takes it
    this.adopted.set(name, { server, take: () => (server.off("connection", hold), waiting), listening });
  }

  /** Envoy's rule for use_original_dst: the listener bound to the exact address and port, else 0.0.0.0:port. */
  private readonly byDestination = (dst: OriginalDst): ListenerRuntime | undefined => {
    let wildcard: ListenerRuntime | undefined;
    for (const rt of this.listeners.values()) {
      const l = rt.listener;
      if (l.port !== dst.port || l.useOriginalDst) continue;
      if (l.address === dst.address) return rt;
      if (l.address === "0.0.0.0" || l.address === "::") wildcard ??= rt;
    }
    return wildcard;
  };

  private listen(l: Listener): Promise<ListenerRuntime> {
    const grace = this.opts.drainTimeoutMs ?? 5000;
    if (!l.bindToPort)
      return Promise.resolve(new ListenerRuntime(l, undefined, this.ctx, grace, this.counters, this.byDestination));
    const adopted = this.adopted.get(l.name);
    if (adopted) {
      this.adopted.delete(l.name);
      return adopted.listening.then((err) => {
        if (err) {
          adopted.server.close();
          throw new ConfigError(
            "Listener",
            l.name,
            "address",
            `cannot listen on ${l.address}:${l.port}: ${err.message}`,
          );
        }
        const rt = new ListenerRuntime(l, adopted.server, this.ctx, grace, this.counters, this.byDestination);
        // The connections that waited are served only once the whole config (its clusters) is in place: see apply().
        rt.held = adopted.take().map((socket) => ({ socket }));
        return rt;
      });
    }
    const server = createServer({ noDelay: true });
    const rt = new ListenerRuntime(l, server, this.ctx, grace, this.counters, this.byDestination);
    return new Promise((resolve, reject) => {
      server.once("error", (err) =>
        reject(
          new ConfigError("Listener", l.name, "address", `cannot listen on ${l.address}:${l.port}: ${err.message}`),
        ),
      );
      server.listen({ host: l.address, port: l.port }, () => resolve(rt));
    });
  }

  /** Stops accepting, lets connections finish their responses (HTTP/1.1 Connection: close), then closes. */
  async stop(): Promise<void> {
    this.stopping = true;
    const conns: Http1Connection[] = [];
    for (const rt of this.listeners.values()) {
      rt.drain();
      conns.push(...rt.conns);
    }
    const deadline = Date.now() + (this.opts.drainTimeoutMs ?? 5000);
    await Promise.all(
      conns.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.isClosed) return resolve();
            const t = setTimeout(() => c.socket.destroy(), Math.max(0, deadline - Date.now()));
            c.socket.once("close", () => {
              clearTimeout(t);
              resolve();
            });
          }),
      ),
    );
    await this.ctx.tracers.stop(); // the last spans, while the collector's cluster is still there
    for (const c of this.clusters.values()) c.remove();
    for (const rt of this.listeners.values()) rt.stopSweep();
    await this.admin?.close();
  }

  /** /drain_listeners: keep serving requests in flight, but close connections after them. */
  drainListeners(): void {
    for (const rt of this.listeners.values()) for (const c of rt.conns) c.drain(this.opts.drainTimeoutMs ?? 5000);
  }

  /** Prometheus text of the engine's metrics. */
  async prometheus(): Promise<string> {
    const istio = this.stats.registry.metrics();
    return istio + clusterPrometheus([...this.clusters].map(([name, c]): [string, ClusterState] => [name, c.state()]));
  }

  quit(): void {
    this.opts.onQuit?.();
  }

  configDump(): unknown {
    return {
      version: this.cfg?.version ?? "",
      listeners: [...this.listeners.values()].map((rt) => ({ name: rt.listener.name, port: rt.port })),
      resources: this.cfg?.resources ?? {},
    };
  }

  /** Envoy-style counters and gauges for /stats. */
  statsText(): string {
    const lines: string[] = [];
    for (const [name, c] of this.clusters) {
      for (const st of clusterStats(c.state())) lines.push(`cluster.${name}.${st.name}: ${st.value}`);
      const pool = c.poolState();
      lines.push(
        `cluster.${name}.upstream_cx_pool_idle: ${pool.idle}`,
        `cluster.${name}.upstream_cx_pool_unusable: ${pool.unusable}`,
      );
    }
    for (const [name, rt] of this.listeners) lines.push(`listener.${name}.downstream_cx_active: ${rt.conns.size}`);
    lines.push(...this.counters.lines());
    lines.push(...this.ctx.h2Counters.lines());
    return `${lines.sort().join("\n")}\n`;
  }
}
