// The proxy report: the sync tracker's summary, written to ConfigMap weft-proxy-status in discovery's namespace,
// where the operator adds up every replica's key (`status.<replica>.json`) into MeshInstallation.status. Written by
// server-side apply with a field manager per replica, at most every 2 s (every 10 s when only the proxies' config
// generations moved) and only when the summary changed: at rest, nothing is written, nor summarised again. On
// shutdown the replica withdraws its key, so its proxies (now gone) stop counting.
import type { KubernetesObject } from "@kubernetes/client-node";
import { MESH_LABEL, PROXY_STATUS_CONFIGMAP } from "../install/labels.js";
import { reportKey } from "../install/proxy-report.js";
import { summarise, summaryChange } from "./ads/summary.js";
import type { ProxyStatusSummary } from "./ads/summary.js";
import type { SyncTracker } from "./ads/tracker.js";
import { errorMessage } from "../runtime/kube.js";

/** A change of config generations alone is written this many times less often than any other change. */
const CONFIG_VERSIONS_FACTOR = 5;

/** Each replica owns its key: server-side apply then merges the replicas' keys instead of replacing them. */
export const reportFieldManager = (replica: string): string => `weftd-${replica}`.slice(0, 128);

export interface ReportOptions {
  tracker: SyncTracker;
  namespace: string;
  mesh: string;
  /** This discovery's name among its replicas (its pod name). */
  replica: string;
  /** Server-side apply (Applier.apply in production). */
  apply(obj: KubernetesObject): Promise<unknown>;
  log: { warn(obj: object, msg?: string): void; info(obj: object, msg?: string): void };
  /** The least time between two writes. */
  minIntervalMs?: number;
  /** How often the summary is compared with the last one written. */
  checkMs?: number;
}

/** What one replica applies: its key with the summary, or (summary undefined) no key, to withdraw it. Pure. */
export function reportConfigMap(
  summary: ProxyStatusSummary | undefined,
  o: Pick<ReportOptions, "namespace" | "mesh" | "replica">,
): KubernetesObject & { data?: Record<string, string> } {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: PROXY_STATUS_CONFIGMAP,
      namespace: o.namespace,
      labels: { [MESH_LABEL]: o.mesh, "app.kubernetes.io/part-of": "weft" },
    },
    ...(summary ? { data: { [reportKey(o.replica)]: JSON.stringify(summary) } } : {}),
  } as KubernetesObject & { data?: Record<string, string> };
}

export class ProxyReporter {
  private timer: NodeJS.Timeout | undefined;
  private written: ProxyStatusSummary | undefined;
  private lastWriteAt = 0;
  private writing: Promise<void> | undefined;
  /** The tracker's generation when the summary was last found the same as the one written. */
  private unchangedAt = -1;

  constructor(private readonly options: ReportOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.options.checkMs ?? 250);
    void this.tick();
  }

  /** Writes the summary if it changed and the last write is old enough; resolves when done. */
  tick(now = Date.now()): Promise<void> {
    if (this.writing) return this.writing;
    const generation = this.options.tracker.generation;
    if (generation === this.unchangedAt) return Promise.resolve(); // nothing happened since it was last the same
    const summary = summarise(this.options.tracker.view());
    const change = summaryChange(this.written, summary);
    if (change === "none") {
      this.unchangedAt = generation;
      return Promise.resolve();
    }
    const interval = this.options.minIntervalMs ?? 2000;
    // Every push moves proxies from one config generation to the next: an endpoint that keeps flapping would
    // otherwise cost a write every interval for as long as it flaps.
    const least = change === "configVersions" ? interval * CONFIG_VERSIONS_FACTOR : interval;
    if (now - this.lastWriteAt < least) return Promise.resolve();
    this.lastWriteAt = now;
    this.writing = this.options
      .apply(reportConfigMap(summary, this.options))
      .then(
        () => {
          this.written = summary;
          this.options.log.info(
            { connected: summary.connected, synced: summary.synced, nacked: summary.nacked },
            "proxy report written",
          );
        },
        (err: unknown) => this.options.log.warn({ error: errorMessage(err) }, "proxy report not written"),
      )
      .finally(() => (this.writing = undefined));
    return this.writing;
  }

  /** Stops checking, waits for a write in flight, then withdraws this replica's key. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.writing;
    if (!this.written) return;
    await this.options
      .apply(reportConfigMap(undefined, this.options))
      .catch((err: unknown) => this.options.log.warn({ error: errorMessage(err) }, "proxy report not withdrawn"));
  }
}
