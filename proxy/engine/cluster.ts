// A cluster at run time: its hosts (with request counts and outlier state), load balancer and health, on the
// upstream connection pool and circuit-breaker counts of cluster-pool.ts. It outlives config swaps that keep the
// cluster's name.
import type { Cluster } from "./config/types.js";
import { startHealthChecks } from "./health.js";
import { PriorityLb } from "./lb/priority.js";
import type { PickContext } from "./lb/index.js";
import type { PreviousPriorities } from "./lb/previous-priorities.js";
import { Host } from "./cluster-host.js";
import { breaksStreak, eject, resetStreaks } from "./outlier.js";
import { isIP } from "node:net";
import type { ClusterState } from "./cluster-stats.js";
import type { DialOptions } from "./dial.js";
import { CONNECTIONS, PENDING, REQUESTS, RETRIES } from "./shared-counts.js";
import { ClusterPool } from "./cluster-pool.js";

const MAX_ORIGINAL_DST_HOSTS = 1024;

export class ClusterRuntime extends ClusterPool {
  protected hosts = new Map<string, Host>();
  /** ORIGINAL_DST: hosts made per destination, dropped once unused (Envoy's cleanup_interval, 5 s). */
  protected readonly dynamic = new Map<string, Host>();
  private sweeper: NodeJS.Timeout | undefined;
  private lb!: PriorityLb<Host>;
  /** Health changed (an ejection, a health check, a config) since the balancer's levels were last computed. */
  private stale = true;
  /** The earliest time an ejection ends (the levels are computed again then). */
  private nextExpiry = Infinity;
  private readonly panicked = () => this.counters.lb_healthy_panic++;
  ejected = 0;
  private dialOptions!: DialOptions;
  /** Called when a host is ejected, for stats and tests. */
  onEject: ((host: Host) => void) | undefined;

  constructor(config: Cluster) {
    super();
    this.update(config);
  }

  update(config: Cluster): void {
    const transportChanged = this.config !== undefined && this.config.transportKey !== config.transportKey;
    this.config = config;
    this.dialOptions = {
      connectTimeoutMs: config.connectTimeoutMs,
      keepAliveMs: config.keepAliveMs,
      tls: config.tls,
      tlsStats: this.counters.tls,
    };
    if (transportChanged) {
      this.generation++;
      for (const h of this.hosts.values()) {
        for (const c of h.idle.splice(0)) c.close();
        h.h2?.close();
      }
    }
    for (const h of this.dynamic.values()) h.dial = undefined;
    const next = new Map<string, Host>();
    for (const e of config.endpoints) {
      const h = this.hosts.get(e.key) ?? new Host(e);
      h.endpoint = e;
      h.dial = undefined;
      h.slowStart = config.slowStart;
      next.set(e.key, h);
    }
    for (const [key, h] of this.hosts) {
      if (next.has(key)) continue;
      for (const c of h.idle.splice(0)) c.close();
      h.h2?.close();
    }
    this.hosts = next;
    this.ejected = [...next.values()].filter((h) => h.ejectedUntil > 0).length;
    this.lb = new PriorityLb(
      config.lbPolicy,
      [...next.values()],
      {
        ringMin: config.ringMin,
        ringMax: config.ringMax,
        maglevTableSize: config.maglevTableSize,
        choiceCount: config.choiceCount,
        dynamicWeights: config.slowStart !== undefined,
      },
      {
        overprovisioning: config.overprovisioning,
        panicThreshold: config.panicThreshold,
        localityWeighted: config.localityWeighted,
      },
    );
    this.stale = true;
    this.health(config);
  }

  /** The host's dial options: the first transport_socket_matches entry its metadata matches, else the cluster's. */
  dialOptionsFor(host: Host): DialOptions {
    if (host.dial) return host.dial;
    const meta = host.endpoint.socketMatch ?? {};
    const m = this.config.socketMatches.find((s) => Object.entries(s.match).every(([k, v]) => meta[k] === v));
    host.dial = m ? { ...this.dialOptions, tls: m.tls } : this.dialOptions;
    return host.dial;
  }

  /**
   * ORIGINAL_DST: the host is where the client meant to go: the connection's original destination (REDIRECT
   * interception), or `ip:port` (an IPv6 address in brackets) from the configured header. Undefined when the value
   * isn't one, or when too many destinations are in use (a bound on what clients can make the proxy hold); hosts
   * nothing uses are swept.
   */
  originalHost(dst: string | { address: string; port: number } | undefined): Host | undefined {
    if (!dst) return undefined;
    let address: string | undefined;
    let port: number;
    if (typeof dst === "string") {
      const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(dst.trim());
      address = m?.[1] ?? m?.[2];
      port = Number(m?.[3]);
    } else ({ address, port } = dst);
    if (!address || isIP(address) === 0 || !(port > 0 && port < 65536)) return undefined;
    const key = `${address}:${port}`;
    let h = this.dynamic.get(key);
    if (h) return h;
    if (this.dynamic.size >= MAX_ORIGINAL_DST_HOSTS) return undefined;
    h = new Host({
      address,
      port,
      weight: 1,
      healthy: true,
      key,
      locality: "",
      priority: 0,
      localityWeight: 0,
      workload: undefined,
      socketMatch: undefined,
    });
    this.dynamic.set(key, h);
    this.sweeper ??= setInterval(() => this.sweep(), 5000).unref();
    return h;
  }

  private sweep(): void {
    for (const [key, h] of this.dynamic) {
      if (h.active || h.conns > h.idle.length || h.h2?.size) continue;
      for (const c of h.idle.splice(0)) c.close();
      this.dynamic.delete(key);
    }
  }

  /** The cluster left the config: close idle connections now and the others when their exchange ends. */
  remove(): void {
    this.removed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    if (this.idleSweeper) clearInterval(this.idleSweeper);
    for (const h of this.dynamic.values()) for (const c of h.idle.splice(0)) c.close();
    this.dynamic.clear();
    this.stopChecks?.();
    for (const h of [...this.hosts.values(), ...this.dynamic.values()]) {
      for (const c of h.idle.splice(0)) c.close();
      h.h2?.close();
    }
  }

  get size(): number {
    return this.hosts.size;
  }

  private usableHost(h: Host | undefined, now: number): boolean {
    if (!h || !h.endpoint.healthy || h.hcFailed) return false;
    if (h.ejectedUntil === 0) return true;
    if (h.ejectedUntil > now) return false;
    this.unEject(h);
    return true;
  }

  private unEject(h: Host): void {
    h.ejectedUntil = 0; // the ejection time is over
    resetStreaks(h);
    this.ejected--;
    this.stale = true;
  }

  /** Ends the ejections that are over and computes the balancer's levels (priority loads, panic) again. */
  private refreshHealth(now: number): void {
    let next = Infinity;
    for (const h of this.hosts.values()) {
      if (h.ejectedUntil === 0) continue;
      if (h.ejectedUntil <= now) this.unEject(h);
      else next = Math.min(next, h.ejectedUntil);
    }
    this.nextExpiry = next;
    this.stale = false;
    this.lb.refresh((h) => h.healthy);
  }

  /**
   * A host for a request (PriorityLb.choose): hosts in `exclude` are avoided when another one is usable; `priorities`:
   * a retry's previous_priorities.
   */
  pick(
    hash: number | undefined,
    random: () => number,
    exclude?: ReadonlySet<string>,
    priorities?: PreviousPriorities,
  ): Host | undefined {
    const now = Date.now();
    if (this.stale || now >= this.nextExpiry) this.refreshHealth(now);
    // One context per cluster, filled in per pick (a pick runs to its end before any other starts): a request's
    // pick allocates nothing.
    const ctx = this.pickContext;
    this.pickNow = now;
    ctx.hash = hash;
    ctx.random = random;
    return this.lb.choose(ctx, this.panicked, exclude, priorities);
  }

  private pickNow = 0;
  private readonly pickContext: PickContext = {
    hash: undefined,
    random: Math.random,
    usable: (k: string) => this.usableHost(this.hosts.get(k), this.pickNow),
  };

  private stopChecks: (() => void) | undefined;
  private checking: Cluster["healthCheck"];

  private health(config: Cluster): void {
    if (JSON.stringify(config.healthCheck) === JSON.stringify(this.checking)) return;
    this.stopChecks?.();
    this.checking = config.healthCheck;
    this.stopChecks = config.healthCheck
      ? startHealthChecks(
          config.healthCheck,
          () => this.hosts.values(),
          () => (this.stale = true),
        )
      : undefined;
  }

  /** What /stats and Prometheus show of this cluster. */
  state(): ClusterState {
    return {
      counters: this.counters,
      hosts: this.hosts.size,
      ejected: this.ejected,
      connections: this.usage.mine(CONNECTIONS),
      requests: this.usage.mine(REQUESTS),
      pending: this.usage.mine(PENDING),
      retries: this.usage.mine(RETRIES),
      limits: this.config.breakers,
      totals: !this.usage.sharing
        ? undefined
        : {
            connections: this.usage.total(CONNECTIONS),
            pending: this.usage.total(PENDING),
            requests: this.usage.total(REQUESTS),
            retries: this.usage.total(RETRIES),
          },
    };
  }

  /**
   * Outlier detection: a response status from a host, or a failure this proxy saw itself (`local`: a connect
   * failure or reset as 503, a timeout as 504).
   */
  record(host: Host, status: number, random: () => number, local = false): void {
    const od = this.config.outlier;
    if (!od || !breaksStreak(od, host, status, random, local)) return;
    if (!eject(od, host, this.ejected, this.hosts.size, Date.now())) return;
    this.ejected++;
    this.stale = true;
    this.onEject?.(host);
  }
}
