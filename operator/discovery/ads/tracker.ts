// The sync tracker: for every connected proxy, per resource type, the version sent, the version ACKed and the
// last NACK. Served at /debug/syncz and summarised for the operator.
import type { EngineReport } from "../../../proxy/xds/engine.js";
import { SHORT_NAME } from "../../../proxy/xds/types.js";

export interface TypeSync {
  sent?: string;
  acked?: string;
  /** Set by a NACK, cleared by the next ACK. */
  nack?: { version: string; error: string; at: string };
}

export interface ProxySync {
  connection: number;
  node: string;
  connectedSince: string;
  /** The config generation the proxy's ACKed state corresponds to. */
  configVersion?: string;
  types: Record<string, TypeSync>;
  /** The engine it reports running (node metadata WEFT_ENGINE). */
  engine?: EngineReport;
  /** Set while this generation's snapshot for the proxy can't be built: it keeps an older config. */
  snapshotError?: string;
  /**
   * A gateway whose ServiceAccount may not read its namespace's Secrets (the SubjectAccessReview's answer): why. Its
   * credentialName servers are left out.
   */
  credentialsDenied?: string;
}

export interface RecentNack {
  type: string;
  version: string;
  error: string;
  at: string;
}

export const RECENT_NACKS = 5;

export type ScrapeTarget = { url: string } | { error: string };

export class SyncTracker {
  private readonly proxies = new Map<number, ProxySync>();
  private readonly nackLog = new Map<number, RecentNack[]>();
  private readonly scrapeTargets = new Map<number, () => ScrapeTarget>();
  private changes = 0;

  /** Counts every change of what the tracker holds: unchanged, nothing read from it can have changed. */
  get generation(): number {
    return this.changes;
  }

  /** A proxy's last NACKs (at most RECENT_NACKS), newest first: they stay after the next ACK clears the standing one. */
  recentNacks(connection: number): readonly RecentNack[] {
    return this.nackLog.get(connection) ?? [];
  }

  connect(connection: number, node: string, now = new Date()): void {
    this.changes++;
    this.proxies.set(connection, { connection, node, connectedSince: now.toISOString(), types: {} });
  }

  disconnect(connection: number): void {
    this.changes++;
    this.proxies.delete(connection);
    this.nackLog.delete(connection);
    this.scrapeTargets.delete(connection);
  }

  private type(connection: number, typeUrl: string): TypeSync | undefined {
    const p = this.proxies.get(connection);
    if (!p) return undefined;
    const key = SHORT_NAME[typeUrl] ?? typeUrl;
    return (p.types[key] ??= {});
  }

  sent(connection: number, typeUrl: string, version: string): void {
    this.changes++;
    const t = this.type(connection, typeUrl);
    if (t) t.sent = version;
  }

  acked(connection: number, typeUrl: string, version: string): void {
    this.changes++;
    const t = this.type(connection, typeUrl);
    if (!t) return;
    t.acked = version;
    delete t.nack;
  }

  nacked(connection: number, typeUrl: string, version: string, error: string, now = new Date()): void {
    this.changes++;
    const t = this.type(connection, typeUrl);
    if (!t) return;
    t.nack = { version, error, at: now.toISOString() };
    const type = SHORT_NAME[typeUrl] ?? typeUrl;
    this.nackLog.set(connection, [{ type, ...t.nack }, ...(this.nackLog.get(connection) ?? [])].slice(0, RECENT_NACKS));
  }

  engine(connection: number, report: EngineReport | undefined): void {
    this.changes++;
    const p = this.proxies.get(connection);
    if (!p) return;
    if (report) p.engine = report;
    else delete p.engine;
  }

  /** Where a proxy's Istio metrics are read for the service graph, or why they can't be (proxy/xds/stats-target.ts). */
  setScrapeTarget(connection: number, target: () => ScrapeTarget): void {
    if (this.proxies.has(connection)) this.scrapeTargets.set(connection, target);
  }

  scrapeTarget(connection: number): ScrapeTarget | undefined {
    return this.scrapeTargets.get(connection)?.();
  }

  /** The snapshot for the proxy failed (an error) or was built (undefined). */
  snapshot(connection: number, error: string | undefined): void {
    this.note(connection, "snapshotError", error);
  }

  /** The proxy's ServiceAccount was denied its namespace's Secrets (why), or is allowed them (undefined). */
  credentialsDenied(connection: number, reason: string | undefined): void {
    this.note(connection, "credentialsDenied", reason);
  }

  /** Sets a proxy's problem of this kind, or clears it (undefined). */
  private note(connection: number, key: "snapshotError" | "credentialsDenied", value: string | undefined): void {
    this.changes++;
    const p = this.proxies.get(connection);
    if (!p) return;
    if (value) p[key] = value;
    else delete p[key];
  }

  /** The proxy is known to hold the config of this generation (it ACKed it, or its config didn't change). */
  atVersion(connection: number, version: string): void {
    this.changes++;
    const p = this.proxies.get(connection);
    if (p) p.configVersion = version;
  }

  get size(): number {
    return this.proxies.size;
  }

  /** A copy of every proxy's state. */
  state(): ProxySync[] {
    return this.view().map((p) => structuredClone(p));
  }

  /** The live state, for readers that only serialise or count it at once. */
  view(): readonly Readonly<ProxySync>[] {
    return [...this.proxies.values()];
  }
}

/** Synced: its snapshot was built, every type's last sent version is ACKed, and no NACK stands. */
export function isSynced(p: Readonly<ProxySync>): boolean {
  return !p.snapshotError && Object.values(p.types).every((t) => !t.nack && t.sent === t.acked);
}

export function isNacked(p: Readonly<ProxySync>): boolean {
  return Object.values(p.types).some((t) => t.nack !== undefined);
}
