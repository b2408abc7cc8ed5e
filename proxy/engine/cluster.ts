// A cluster at run time: its hosts (with request counts and outlier state), load balancer, circuit-breaker
// counters and the upstream connection pool. It outlives config swaps that keep the cluster's name.
import type { Cluster } from "./config/types.js";
import { startHealthChecks } from "./health.js";
import { PriorityLb } from "./lb/priority.js";
import type { PreviousPriorities } from "./lb/previous-priorities.js";
import { Host } from "./cluster-host.js";
import { breaksStreak, eject, resetStreaks } from "./outlier.js";
import { isIP } from "node:net";
import { UpstreamConnection } from "./http1/upstream.js";
import { H2Pool } from "./h2/upstream.js";
import type { UpstreamFailure, UpstreamLink } from "./link.js";
import { ClusterCounters, type ClusterState } from "./cluster-stats.js";
import type { DialFailure, DialOptions } from "./dial.js";
import { BreakerCounts, CONNECTIONS, PENDING, REQUESTS, RETRIES } from "./shared-counts.js";

export type ConnCallback = (conn: UpstreamLink | undefined, err: UpstreamFailure | undefined) => void;
interface Waiter {
  host: Host;
  cb: ConnCallback;
  /** Wants a new connection (an upgrade): a released one is never handed to it. */
  fresh: boolean;
}

const noop = () => undefined;
const MAX_ORIGINAL_DST_HOSTS = 1024;

export class ClusterRuntime {
  config!: Cluster;
  private hosts = new Map<string, Host>();
  /** ORIGINAL_DST: hosts made per destination, dropped once unused (Envoy's cleanup_interval, 5 s). */
  private readonly dynamic = new Map<string, Host>();
  private sweeper: NodeJS.Timeout | undefined;
  /** Closes pooled HTTP/1.1 connections idle for idle_timeout: one timer per cluster, none per connection. */
  private idleSweeper: NodeJS.Timeout | undefined;
  private lb!: PriorityLb<Host>;
  /** Health changed (an ejection, a health check, a config) since the balancer's levels were last computed. */
  private stale = true;
  /** The earliest time an ejection ends (the levels are computed again then). */
  private nextExpiry = Infinity;
  private readonly panicked = () => this.counters.lb_healthy_panic++;
  /** Circuit-breaker counts: this worker's, and the proxy's when the workers share them. */
  readonly usage = new BreakerCounts();
  /** Requests of this worker waiting for a connection. */
  get pending(): number {
    return this.usage.mine(PENDING);
  }
  ejected = 0;
  readonly counters = new ClusterCounters();
  private waiters: Waiter[] = [];
  private removed = false;
  /** Bumped when the transport (TLS, keepalive) changes: older connections are not reused. */
  private generation = 0;
  private readonly generations = new WeakMap<UpstreamConnection, number>();
  private dialOptions!: DialOptions;
  /** Called when a host is ejected, for stats and tests. */
  onEject: ((host: Host) => void) | undefined;

  constructor(config: Cluster) {
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
    const usable = (k: string) => this.usableHost(this.hosts.get(k), now);
    return this.lb.choose({ hash, random, usable }, this.panicked, exclude, priorities);
  }

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
   * A connection to the host: an idle one, a new one, or a wait in the pending queue. As Envoy's pools: the
   * connection limit is the cluster's, but a host with no connection at all always gets one (counted as
   * upstream_cx_overflow when over the limit), so a pending request is never stranded on a host that can't connect.
   * `fresh`: skip the idle ones (a request whose pooled connection was closed under it: its siblings, idle as long,
   * are likely closing too, as when the upstream drains and closes every idle connection at once).
   */
  acquire(host: Host, cb: ConnCallback, fresh = false, h2Downstream = false): (() => void) | "overflow" {
    if (this.config.http2 || (h2Downstream && this.config.downstreamProtocol)) return this.acquireH2(host, cb);
    while (!fresh && host.idle.length) {
      const c = host.idle.pop() as UpstreamConnection;
      if (c.reusable) {
        cb(c, undefined);
        return noop;
      }
      c.close();
    }
    const b = this.config.breakers;
    const atLimit = this.usage.total(CONNECTIONS) >= b.maxConnections;
    if (atLimit) this.counters.upstream_cx_overflow++;
    if (!atLimit || host.conns === 0) {
      this.open(host, cb);
      return noop;
    }
    if (this.usage.total(PENDING) >= b.maxPendingRequests) {
      this.counters.upstream_rq_pending_overflow++;
      return "overflow";
    }
    this.usage.add(PENDING, 1);
    this.counters.upstream_rq_pending_total++;
    const w: Waiter = { host, cb, fresh };
    this.waiters.push(w);
    return () => {
      const i = this.waiters.indexOf(w);
      if (i >= 0) {
        this.waiters.splice(i, 1);
        this.usage.add(PENDING, -1);
        this.counters.upstream_rq_cancelled++;
      }
    };
  }

  /**
   * HTTP/2: a stream on one of the host's connections (h2/upstream.ts's H2Pool). A request that would wait for a
   * stream (every connection full, max_connections reached) is a pending request, as Envoy's: over
   * max_pending_requests it overflows.
   */
  private acquireH2(host: Host, cb: ConnCallback): (() => void) | "overflow" {
    host.h2 ??= new H2Pool(host.endpoint.address, host.endpoint.port, {
      dialOptions: () => this.dialOptionsFor(host),
      idleTimeoutMs: () => this.config.idleTimeoutMs,
      idleTimeout: () => this.counters.upstream_cx_idle_timeout++,
      maxRequestsPerConnection: () => this.config.maxRequestsPerConnection,
      maxRequestsReached: () => this.counters.upstream_cx_max_requests++,
      maxConcurrentStreams: () => this.config.maxConcurrentStreams,
      maxConnectionDurationMs: () => this.config.maxConnectionDurationMs,
      maxDurationReached: () => this.counters.upstream_cx_max_duration_reached++,
      pending: (delta, cancelled) => {
        this.usage.add(PENDING, delta);
        if (delta > 0) this.counters.upstream_rq_pending_total++;
        else if (cancelled) this.counters.upstream_rq_cancelled++;
      },
      flooded: (stat) => this.counters.http2[stat]++,
      underConnectionLimit: () => this.usage.total(CONNECTIONS) < this.config.breakers.maxConnections,
      connection: (delta, failed) => {
        this.usage.add(CONNECTIONS, delta);
        if (delta > 0) {
          if (this.usage.total(CONNECTIONS) > this.config.breakers.maxConnections) this.counters.upstream_cx_overflow++;
          this.counters.upstream_cx_total++;
        } else this.connectFailed(failed);
      },
    });
    const link = host.h2.link(() => this.usage.total(PENDING) < this.config.breakers.maxPendingRequests);
    if (!link) {
      this.counters.upstream_rq_pending_overflow++;
      return "overflow";
    }
    cb(link, undefined);
    return noop;
  }

  private connectFailed(err: DialFailure | undefined): void {
    if (!err) return;
    this.counters.upstream_cx_connect_fail++;
    if (err === "timeout") this.counters.upstream_cx_connect_timeout++;
  }

  private open(host: Host, cb: ConnCallback): void {
    this.usage.add(CONNECTIONS, 1);
    host.conns++;
    this.counters.upstream_cx_total++;
    const e = host.endpoint;
    const conn = new UpstreamConnection(e.key, e.address, e.port, this.dialOptionsFor(host), (err) => {
      if (err) {
        this.connectFailed(err);
        cb(undefined, "connect-failure");
      } else cb(conn, undefined);
    });
    this.generations.set(conn, this.generation);
    conn.onClosed = (c) => {
      this.usage.add(CONNECTIONS, -1);
      host.conns--;
      const i = host.idle.indexOf(c);
      if (i >= 0) host.idle.splice(i, 1);
      this.serveWaiter();
    };
    conn.onReusable = (c) => this.release(host, c);
  }

  /** A connection is free again: hand it to a waiter for the same host, or keep it idle. */
  release(host: Host, c: UpstreamLink): void {
    if (!(c instanceof UpstreamConnection)) return; // an HTTP/2 stream: nothing to give back
    const max = this.config.maxRequestsPerConnection;
    if (max > 0 && c.requests >= max) this.counters.upstream_cx_max_requests++;
    // Never pool a connection that is paused, half-closed or mid-exchange: the next request on it would hang.
    const known = this.hosts.has(host.key) || this.dynamic.has(host.key);
    if (
      !c.reusable ||
      this.removed ||
      (max > 0 && c.requests >= max) ||
      !known ||
      this.generations.get(c) !== this.generation ||
      this.tooOld(c, performance.now())
    ) {
      c.close();
      return;
    }
    const i = this.waiters.findIndex((w) => w.host === host && !w.fresh);
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      this.usage.add(PENDING, -1);
      (w as Waiter).cb(c, undefined);
      return;
    }
    if (this.waiters.length && this.usage.total(CONNECTIONS) >= this.config.breakers.maxConnections) {
      c.close(); // frees a slot for a waiter on another host
      return;
    }
    host.idle.push(c);
    // A timestamp, not socket.setTimeout(): that armed and cleared a timer (a new Timeout object) per request.
    c.idleSince = performance.now();
    const every = shortest(this.config.idleTimeoutMs, this.config.maxConnectionDurationMs);
    if (every > 0)
      this.idleSweeper ??= setInterval(() => this.closeIdle(), Math.min(1000, Math.max(10, every / 4))).unref();
  }

  /** Past max_connection_duration: closed once idle, as Envoy drains it (counted once, as it closes). */
  private tooOld(c: UpstreamConnection, now: number): boolean {
    const max = this.config.maxConnectionDurationMs;
    if (max <= 0 || now - c.bornAt < max) return false;
    this.counters.upstream_cx_max_duration_reached++;
    return true;
  }

  /**
   * Pooled connections idle for idle_timeout, or older than max_connection_duration, close (checked a few times per
   * the shorter, at most every second).
   */
  private closeIdle(): void {
    const idleMs = this.config.idleTimeoutMs;
    if (idleMs <= 0 && this.config.maxConnectionDurationMs <= 0) return; // a config update took the limits away
    const now = performance.now();
    const limit = idleMs > 0 ? now - idleMs : -Infinity;
    const closes = (c: UpstreamConnection) => c.idleSince <= limit || this.tooOld(c, now);
    for (const pool of [this.hosts, this.dynamic])
      for (const h of pool.values()) {
        const keep = h.idle.filter((c) => {
          if (!closes(c)) return true;
          if (c.idleSince <= limit) this.counters.upstream_cx_idle_timeout++;
          c.close();
          return false;
        });
        if (keep.length !== h.idle.length) h.idle = keep; // out of the pool now, not when their close event comes
      }
  }

  /** Idle pooled HTTP/1.1 connections, and how many of them could not carry a request (always 0 when healthy). */
  poolState(): { idle: number; unusable: number } {
    let idle = 0;
    let unusable = 0;
    for (const h of this.hosts.values()) {
      idle += h.idle.length;
      for (const c of h.idle) if (!c.reusable && c.alive) unusable++;
    }
    return { idle, unusable };
  }

  /** A slot is free: open a connection for the oldest waiter (at the limit, only for a host left with none). */
  private serveWaiter(): void {
    if (!this.waiters.length) return;
    const i =
      this.usage.total(CONNECTIONS) < this.config.breakers.maxConnections
        ? 0
        : this.waiters.findIndex((w) => w.host.conns === 0);
    if (i < 0) return;
    const [w] = this.waiters.splice(i, 1) as [Waiter];
    this.usage.add(PENDING, -1);
    this.open(w.host, w.cb);
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

/** The shorter of two limits (0: none). */
function shortest(a: number, b: number): number {
  return a > 0 && b > 0 ? Math.min(a, b) : Math.max(a, b, 0);
}
