// Leader election on a coordination.k8s.io/v1 Lease, with client-go's rules: the holder
// renews every retryPeriod; a candidate takes over once it has seen no renewal for a
// whole leaseDuration, measured on its own clock from when it observed the record change
// (so clock skew between nodes can't shorten a lease). Unlike client-go, candidates watch
// the Lease instead of polling it, so they observe each renewal as it happens and take
// over exactly one leaseDuration after the last one. A holder that cannot renew within
// renewDeadline steps down; on shutdown it releases the Lease for a fast handover.
import { CoordinationV1Api, V1MicroTime } from "@kubernetes/client-node";
import type { KubeConfig, V1Lease } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { Informer } from "./informer.js";
import { errorMessage, isConflict, isNotFound } from "./kube.js";

export interface LeaderOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export const DEFAULT_LEASE = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private readonly watch: Informer<V1Lease>;
  private observedRecord = "";
  private observedAt = 0;
  private leading = false;
  private lastRenew = 0;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private busy = false;

  constructor(
    kc: KubeConfig,
    private readonly opts: LeaderOptions,
    private readonly log: Logger,
    private readonly callbacks: { onStartedLeading(): void; onStoppedLeading(): void },
  ) {
    this.api = kc.makeApiClient(CoordinationV1Api);
    this.watch = new Informer<V1Lease>(
      kc,
      {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        plural: "leases",
        namespace: opts.namespace,
        fieldSelector: `metadata.name=${opts.name}`,
      },
      log,
    );
    this.watch.on((_type, lease) => {
      this.observe(lease);
      if (!this.leading) this.schedule(0);
    });
  }

  get isLeader(): boolean {
    return this.leading;
  }

  async start(): Promise<void> {
    await this.watch.start();
    this.schedule(0);
  }

  private observe(lease: V1Lease | undefined): void {
    const s = lease?.spec;
    const record = `${s?.holderIdentity ?? ""}|${s?.renewTime ? new Date(s.renewTime).getTime() : ""}|${s?.leaseDurationSeconds ?? ""}`;
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedAt = Date.now();
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), Math.max(0, delayMs));
  }

  private async tick(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    let next = this.opts.retryPeriodMs;
    try {
      const until = await this.tryAcquireOrRenew();
      if (until !== undefined) next = Math.min(next, until - Date.now() + 5);
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, "leader election: lease update failed");
    } finally {
      this.busy = false;
    }
    if (this.leading && Date.now() - this.lastRenew > this.opts.renewDeadlineMs) {
      this.log.error({ lease: this.opts.name }, "leader election: could not renew the lease in time; stepping down");
      this.leading = false;
      this.callbacks.onStoppedLeading();
    }
    this.schedule(next);
  }

  /** Returns when the current holder's lease expires, if someone else holds it. */
  private async tryAcquireOrRenew(): Promise<number | undefined> {
    const { namespace, name, identity } = this.opts;
    const durationS = Math.ceil(this.opts.leaseDurationMs / 1000);
    let lease: V1Lease | undefined;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const now = new V1MicroTime();
    if (!lease) {
      const body: V1Lease = {
        metadata: { name, namespace },
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds: durationS,
          acquireTime: now,
          renewTime: now,
          leaseTransitions: 0,
        },
      };
      try {
        this.observe(await this.api.createNamespacedLease({ namespace, body }));
      } catch (err) {
        if (isConflict(err)) return undefined; // someone else created it first
        throw err;
      }
      return this.becameLeader();
    }
    this.observe(lease);
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? "";
    const expiresAt = this.observedAt + (spec.leaseDurationSeconds ?? durationS) * 1000;
    if (holder && holder !== identity && Date.now() < expiresAt) return expiresAt;
    const taking = holder !== identity;
    lease.spec = {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds: durationS,
      renewTime: now,
      acquireTime: taking ? now : spec.acquireTime,
      leaseTransitions: (spec.leaseTransitions ?? 0) + (taking && holder ? 1 : 0),
    };
    try {
      this.observe(await this.api.replaceNamespacedLease({ name, namespace, body: lease }));
    } catch (err) {
      if (isConflict(err)) return undefined; // lost a race; re-read on the next tick
      throw err;
    }
    return this.becameLeader();
  }

  private becameLeader(): undefined {
    this.lastRenew = Date.now();
    if (!this.leading) {
      this.leading = true;
      this.log.info(
        { lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity },
        "leader election: became leader",
      );
      this.callbacks.onStartedLeading();
    }
    return undefined;
  }

  /** Stops campaigning; a leader hands the Lease back so a standby needn't wait it out. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.watch.stop();
    if (!this.leading) return;
    this.leading = false;
    const { namespace, name, identity } = this.opts;
    try {
      const lease = await this.api.readNamespacedLease({ name, namespace });
      if (lease.spec?.holderIdentity !== identity) return;
      lease.spec = { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1, renewTime: new V1MicroTime() };
      await this.api.replaceNamespacedLease({ name, namespace, body: lease });
      this.log.info({ lease: name }, "leader election: released the lease");
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, "leader election: could not release the lease");
    }
  }
}
