// A shared informer over client-node's ListWatch: it lists, then watches; relists on 410
// (client-node does that); and, unlike client-node, restarts itself with backoff after any
// other error instead of stopping for good. `synced` resolves once the first list is in
// the cache, so a controller never acts on a half-filled cache. Cached objects are kept without managedFields.
import { KubernetesObjectApi, ListWatch, Watch } from "@kubernetes/client-node";
import type { KubeConfig, KubernetesListObject, KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { backoffDelay } from "./backoff.js";

export interface InformerSource {
  apiVersion: string;
  kind: string;
  /** Plural resource name, used for the watch path. */
  plural: string;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export type EventHandler<T> = (type: "add" | "update" | "delete", obj: T) => void;

export function resourcePath({
  apiVersion,
  plural,
  namespace,
}: Pick<InformerSource, "apiVersion" | "plural" | "namespace">): string {
  const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return namespace ? `${base}/namespaces/${namespace}/${plural}` : `${base}/${plural}`;
}

export class Informer<T extends KubernetesObject> {
  private readonly lw: ListWatch<T>;
  private readonly handlers: EventHandler<T>[] = [];
  private failures = 0;
  private stopped = false;
  private restartTimer?: NodeJS.Timeout;
  private markSynced!: () => void;
  readonly synced = new Promise<void>((resolve) => (this.markSynced = resolve));

  constructor(
    kc: KubeConfig,
    readonly source: InformerSource,
    private readonly log: Logger,
  ) {
    const api = KubernetesObjectApi.makeApiClient(kc);
    const list = async (): Promise<KubernetesListObject<T>> => {
      const { apiVersion, kind, namespace, fieldSelector, labelSelector } = source;
      const result = await api.list<T>(
        apiVersion,
        kind,
        namespace,
        undefined,
        undefined,
        undefined,
        fieldSelector,
        labelSelector,
      );
      this.failures = 0;
      // ListWatch fills its cache synchronously once this promise resolves.
      setImmediate(() => this.markSynced());
      return result;
    };
    this.lw = new ListWatch<T>(
      resourcePath(source),
      new Watch(kc),
      list,
      false,
      source.labelSelector,
      source.fieldSelector,
    );
    this.lw.on("add", (o) => this.emit("add", o));
    this.lw.on("update", (o) => this.emit("update", o));
    this.lw.on("delete", (o) => this.emit("delete", o));
    this.lw.on("error", (err) => this.restart(err));
  }

  on(handler: EventHandler<T>): void {
    this.handlers.push(handler);
  }

  private emit(type: "add" | "update" | "delete", obj: T): void {
    // The cache holds this very object: without managedFields, which nothing here reads (a write that omits them
    // leaves them as they are), a cached Pod takes about half the memory.
    if (obj.metadata?.managedFields) delete obj.metadata.managedFields;
    for (const h of this.handlers) h(type, obj);
  }

  private restart(err: unknown): void {
    if (this.stopped) return;
    const delay = backoffDelay(++this.failures, { baseMs: 200, maxMs: 30_000 });
    this.log.warn({ kind: this.source.kind, err: String(err), retryInMs: delay }, "watch failed; restarting");
    this.restartTimer = setTimeout(() => void this.start(), delay);
  }

  async start(): Promise<void> {
    this.stopped = false;
    try {
      await this.lw.start();
    } catch (err) {
      this.restart(err);
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    void this.lw.stop();
  }

  get(name: string, namespace?: string): T | undefined {
    return this.lw.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.lw.list(namespace);
  }
}
