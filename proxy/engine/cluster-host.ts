// An upstream host at run time: its endpoint, its connections, and what health checks and outlier detection
// know of it. The load balancer reads its weight, priority and locality.
import type { Endpoint, SlowStart } from "./config/types.js";
import { slowStartFactor } from "./config/slow-start.js";
import type { TieredHost } from "./lb/priority.js";
import type { UpstreamConnection } from "./http1/upstream.js";
import type { H2Pool } from "./h2/upstream.js";
import type { DialOptions } from "./dial.js";

export class Host implements TieredHost {
  active = 0;
  hcFailed = false;
  hcFails = 0;
  hcPasses = 0;
  idle: UpstreamConnection[] = [];
  /** HTTP/1.1 connections to this host, open or opening. */
  conns = 0;
  /** HTTP/2 clusters: the host's connections. */
  h2: H2Pool | undefined;
  consecutive5xx = 0;
  consecutiveGateway = 0;
  /** Failures this proxy saw itself, in a row (split_external_local_origin_errors). */
  consecutiveLocal = 0;
  ejections = 0;
  ejectedUntil = 0;
  /** How to connect to this host (its transport socket match), worked out once per config. */
  dial: DialOptions | undefined;
  /** The cluster's slow start, and since when this host ramps up (it joined, or passed its health check again). */
  slowStart: SlowStart | undefined;
  since = performance.now();
  constructor(public endpoint: Endpoint) {}
  get key(): string {
    return this.endpoint.key;
  }
  get priority(): number {
    return this.endpoint.priority;
  }
  get locality(): string {
    return this.endpoint.locality;
  }
  get localityWeight(): number {
    return this.endpoint.localityWeight;
  }
  /** Healthy as the load balancer counts it: by EDS, by its health check, not ejected. */
  get healthy(): boolean {
    return this.endpoint.healthy && !this.hcFailed && this.ejectedUntil === 0;
  }
  get weight(): number {
    const w = this.endpoint.weight;
    const s = this.slowStart;
    return s ? w * slowStartFactor(s, performance.now() - this.since) : w;
  }
}
