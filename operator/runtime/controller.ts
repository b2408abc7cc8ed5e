// A generic controller in the manner of sail-operator's reconciler: it reads the primary
// object from the informer cache, handles not-found, adds and removes the finalizer, calls
// the controller's reconcile or finalize, and requeues failures with backoff. Secondary
// informers map their events to primary keys, so drift on an owned object is repaired.
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { Applier } from "./apply.js";
import type { Informer } from "./informer.js";
import { WorkQueue } from "./queue.js";
import type { RuntimeMetrics } from "./metrics.js";
import { errorMessage, isNotFound } from "./kube.js";

export interface Reconciler<T extends KubernetesObject> {
  readonly name: string;
  readonly finalizer: string;
  /** Converges the world toward obj; may ask to be called again later. */
  reconcile(obj: T): Promise<{ requeueAfterMs?: number } | void>;
  /** Removes what reconcile created; the finalizer is dropped once it returns. */
  finalize(obj: T): Promise<void>;
}

export const keyOf = (o: KubernetesObject) =>
  o.metadata?.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : (o.metadata?.name ?? "");

function splitKey(key: string): [string, string | undefined] {
  const i = key.indexOf("/");
  return i < 0 ? [key, undefined] : [key.slice(i + 1), key.slice(0, i)];
}

/** Enqueue on create and delete, and on updates that change the spec or start deletion: not on status writes. */
function worthReconciling(type: string, obj: KubernetesObject, cache: Map<string, string>): boolean {
  const key = keyOf(obj);
  const fingerprint = `${obj.metadata?.generation ?? ""}|${obj.metadata?.deletionTimestamp ?? ""}`;
  const before = cache.get(key);
  if (type === "delete") cache.delete(key);
  else cache.set(key, fingerprint);
  return type !== "update" || before !== fingerprint;
}

export class Controller<T extends KubernetesObject> {
  private readonly queue: WorkQueue;
  private running?: Promise<void>;
  private resyncTimer?: NodeJS.Timeout;
  private readonly seen = new Map<string, string>();

  constructor(
    private readonly primary: Informer<T>,
    private readonly reconciler: Reconciler<T>,
    private readonly applier: Applier,
    private readonly metrics: RuntimeMetrics,
    private readonly log: Logger,
    private readonly resyncMs: number,
  ) {
    const controller = reconciler.name;
    this.queue = new WorkQueue(
      { baseMs: 100, maxMs: 60_000 },
      {
        onDepth: (d) => metrics.queueDepth.set({ controller }, d),
        onError: (key, err, retryInMs) => {
          metrics.reconcileErrors.inc({ controller });
          log.warn({ key, err: errorMessage(err), retryInMs }, "reconcile failed; requeued");
        },
      },
    );
    primary.on((type, obj) => {
      if (worthReconciling(type, obj, this.seen)) this.queue.add(keyOf(obj));
    });
  }

  /** Maps events of a secondary informer (owned objects, reports) to primary keys. */
  watches<S extends KubernetesObject>(informer: Informer<S>, toKeys: (obj: S) => string[]): void {
    informer.on((type, obj) =>
      toKeys(obj).forEach((key) => {
        // What woke a reconcile, for `--log-level debug`: a mesh that reconciles "at rest" says why.
        if (this.log.isLevelEnabled("debug")) {
          const m = obj.metadata;
          this.log.debug(
            { key, trigger: `${type} ${obj.kind ?? ""} ${m?.namespace ?? ""}/${m?.name ?? ""}` },
            "enqueued",
          );
        }
        this.queue.add(key);
      }),
    );
  }

  /** Starts the workers; call once the informers have synced and this process leads. */
  start(workers = 1): void {
    this.enqueueAll();
    this.resyncTimer = setInterval(() => this.enqueueAll(), this.resyncMs);
    this.resyncTimer.unref();
    this.running = this.queue.run((key) => this.handle(key), workers);
  }

  private enqueueAll(): void {
    for (const o of this.primary.list()) this.queue.add(keyOf(o));
  }

  private async handle(key: string): Promise<{ requeueAfterMs?: number } | void> {
    const controller = this.reconciler.name;
    const [name, namespace] = splitKey(key);
    const obj = this.primary.get(name, namespace);
    if (!obj) return; // deleted, and finalized before that
    const end = this.metrics.reconcileDuration.startTimer({ controller });
    let result = "success";
    try {
      return await this.reconcileOne(obj);
    } catch (err) {
      result = "error";
      throw err;
    } finally {
      end();
      this.metrics.reconciles.inc({ controller, result });
    }
  }

  private async reconcileOne(obj: T): Promise<{ requeueAfterMs?: number } | void> {
    const { finalizer } = this.reconciler;
    const finalizers = obj.metadata?.finalizers ?? [];
    const ref = {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      metadata: {
        name: obj.metadata?.name,
        namespace: obj.metadata?.namespace,
        resourceVersion: obj.metadata?.resourceVersion,
      },
    };
    if (obj.metadata?.deletionTimestamp) {
      if (!finalizers.includes(finalizer)) return;
      this.log.info({ key: keyOf(obj) }, "finalizing");
      await this.reconciler.finalize(obj);
      try {
        await this.applier.mergePatch({
          ...ref,
          metadata: { ...ref.metadata, finalizers: finalizers.filter((f) => f !== finalizer) },
        });
      } catch (err) {
        if (!isNotFound(err)) throw err; // a stale cache entry: it is already gone
      }
      return;
    }
    if (!finalizers.includes(finalizer)) {
      // resourceVersion makes this a conditional write: a concurrent change means a retry.
      await this.applier.mergePatch({ ...ref, metadata: { ...ref.metadata, finalizers: [...finalizers, finalizer] } });
    }
    return this.reconciler.reconcile(obj);
  }

  async stop(): Promise<void> {
    clearInterval(this.resyncTimer);
    this.queue.shutDown();
    await this.running;
  }
}
