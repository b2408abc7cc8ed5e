// A cluster's upstream connections: the HTTP/1.1 pool (idle connections per host, requests waiting for one, the
// idle and max_connection_duration sweep), HTTP/2 streams through each host's H2Pool, and the circuit-breaker counts
// they keep. ClusterRuntime (cluster.ts) adds the hosts, their balancer and health on top.
import type { Cluster } from "./config/types.js";
import type { Host } from "./cluster-host.js";
import { UpstreamConnection } from "./http1/upstream.js";
import { H2Pool } from "./h2/upstream.js";
import type { UpstreamFailure, UpstreamLink } from "./link.js";
import { ClusterCounters } from "./cluster-stats.js";
import type { DialFailure, DialOptions } from "./dial.js";
import { BreakerCounts, CONNECTIONS, PENDING } from "./shared-counts.js";

export type ConnCallback = (conn: UpstreamLink | undefined, err: UpstreamFailure | undefined) => void;
interface Waiter {
  host: Host;
  cb: ConnCallback;
  /** Wants a new connection (an upgrade): a released one is never handed to it. */
  fresh: boolean;
}

const noop = () => undefined;

export abstract class ClusterPool {
  config!: Cluster;
  /** Closes pooled HTTP/1.1 connections idle for idle_timeout: one timer per cluster, none per connection. */
  protected idleSweeper: NodeJS.Timeout | undefined;
  /** Circuit-breaker counts: this worker's, and the proxy's when the workers share them. */
  readonly usage = new BreakerCounts();
  /** Requests of this worker waiting for a connection. */
  get pending(): number {
    return this.usage.mine(PENDING);
  }
  readonly counters = new ClusterCounters();
  private waiters: Waiter[] = [];
  protected removed = false;
  /** Bumped when the transport (TLS, keepalive) changes: older connections are not reused. */
  protected generation = 0;
  private readonly generations = new WeakMap<UpstreamConnection, number>();
  /** The hosts of the config, and those made per destination (ORIGINAL_DST): a connection to neither is not pooled. */
  protected abstract hosts: Map<string, Host>;
  protected abstract readonly dynamic: Map<string, Host>;

  /** The host's dial options (transport_socket_matches). */
  abstract dialOptionsFor(host: Host): DialOptions;

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
}

/** The shorter of two limits (0: none). */
function shortest(a: number, b: number): number {
  return a > 0 && b > 0 ? Math.min(a, b) : Math.max(a, b, 0);
}
