// The proxy report: the sync tracker's summary, written to ConfigMap weft-proxy-status (key status.json) in
// discovery's namespace, where the operator folds it into MeshInstallation.status. Written by server-side apply,
// at most every 2 s and only when the summary changed: at rest, nothing is written.
import type { KubernetesObject } from "@kubernetes/client-node";
import { MESH_LABEL, PROXY_STATUS_CONFIGMAP } from "../install/labels.js";
import { summarise, summaryChanged } from "./ads/summary.js";
import type { ProxyStatusSummary } from "./ads/summary.js";
import type { SyncTracker } from "./ads/tracker.js";
import { errorMessage } from "../runtime/kube.js";

export const REPORT_FIELD_MANAGER = "weftd";

export interface ReportOptions {
  tracker: SyncTracker;
  namespace: string;
  mesh: string;
  /** Server-side apply (Applier.apply in production). */
  apply(obj: KubernetesObject): Promise<unknown>;
  log: { warn(obj: object, msg?: string): void; info(obj: object, msg?: string): void };
  /** The least time between two writes. */
  minIntervalMs?: number;
  /** How often the summary is compared with the last one written. */
  checkMs?: number;
}

/** The ConfigMap that carries a summary. Pure. */
export function reportConfigMap(summary: ProxyStatusSummary, namespace: string, mesh: string): KubernetesObject & { data: Record<string, string> } {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: PROXY_STATUS_CONFIGMAP, namespace, labels: { [MESH_LABEL]: mesh, "app.kubernetes.io/part-of": "weft" } },
    data: { "status.json": JSON.stringify(summary) },
  } as KubernetesObject & { data: Record<string, string> };
}

export class ProxyReporter {
  private timer: NodeJS.Timeout | undefined;
  private written: ProxyStatusSummary | undefined;
  private lastWriteAt = 0;
  private writing: Promise<void> | undefined;

  constructor(private readonly options: ReportOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.options.checkMs ?? 250);
    void this.tick();
  }

  /** Writes the summary if it changed and the last write is old enough; resolves when done. */
  tick(now = Date.now()): Promise<void> {
    if (this.writing) return this.writing;
    const summary = summarise(this.options.tracker.view());
    if (!summaryChanged(this.written, summary)) return Promise.resolve();
    if (now - this.lastWriteAt < (this.options.minIntervalMs ?? 2000)) return Promise.resolve();
    this.lastWriteAt = now;
    const { namespace, mesh } = this.options;
    this.writing = this.options
      .apply(reportConfigMap(summary, namespace, mesh))
      .then(
        () => {
          this.written = summary;
          this.options.log.info({ connected: summary.connected, synced: summary.synced, nacked: summary.nacked }, "proxy report written");
        },
        (err: unknown) => this.options.log.warn({ error: errorMessage(err) }, "proxy report not written"),
      )
      .finally(() => (this.writing = undefined));
    return this.writing;
  }

  /** Stops checking; waits for a write in flight. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.writing;
  }
}
