// Watching objects as a user would with `kubectl get -w`: every version the API server
// publishes is seen, in order, so a test waits for a transition instead of polling.
import { KubeConfig, Watch, type KubernetesObject } from "@kubernetes/client-node";
import type { MeshInstallation } from "../../../operator/api/types.js";

export class ObjectWatch<T extends KubernetesObject> {
  readonly seen: { phase: string; obj: T }[] = [];
  private readonly waiters: { test: (o: T, phase: string) => boolean; resolve: (o: T) => void }[] = [];
  private request?: { abort(): void };

  private stopped = false;

  /**
   * path: a collection, e.g. /api/v1/namespaces/x/configmaps; the watch is narrowed to one name. A watch the
   * server closes (its timeout, a restart, a dropped connection) is resumed from the last resourceVersion seen,
   * or from a fresh list after 410 Gone, so a long test never silently stops seeing events.
   */
  static async start<T extends KubernetesObject>(path: string, name: string): Promise<ObjectWatch<T>> {
    const w = new ObjectWatch<T>();
    const kc = new KubeConfig();
    kc.loadFromDefault();
    const watch = new Watch(kc);
    let resourceVersion: string | undefined;
    const begin = async (): Promise<void> => {
      const query = { fieldSelector: `metadata.name=${name}`, ...(resourceVersion ? { resourceVersion } : {}) };
      const onEvent = (phase: string, obj: T) => {
        if (phase === "ERROR") {
          resourceVersion = undefined; // 410 Gone: start over from a list
          return;
        }
        resourceVersion = obj.metadata?.resourceVersion;
        w.push(phase, obj);
      };
      const onDone = () => {
        if (!w.stopped) setTimeout(() => void begin().catch(onDone), 200);
      };
      w.request = await watch.watch(path, query, onEvent, onDone);
    };
    await begin();
    return w;
  }

  private push(phase: string, obj: T): void {
    this.seen.push({ phase, obj });
    for (const w of [...this.waiters]) {
      if (w.test(obj, phase)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(obj);
      }
    }
  }

  /** The first version (already seen, or still to come) that passes test. */
  until(test: (o: T, phase: string) => boolean, timeoutMs: number, what = "the expected state"): Promise<T> {
    const seen = this.seen.find((s) => test(s.obj, s.phase));
    if (seen) return Promise.resolve(seen.obj);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `never saw ${what} in ${timeoutMs} ms; last: ${String(JSON.stringify(this.seen.at(-1)?.obj) ?? "nothing").slice(0, 2000)}`,
            ),
          ),
        timeoutMs,
      );
      this.waiters.push({
        test,
        resolve: (o) => {
          clearTimeout(timer);
          resolve(o);
        },
      });
    });
  }

  /** Forget what was seen so far: until() then looks only at what comes next. */
  reset(): void {
    this.seen.length = 0;
  }

  stop(): void {
    this.stopped = true;
    this.request?.abort();
  }
}

export const watchMesh = (name: string) =>
  ObjectWatch.start<MeshInstallation>("/apis/weft.dev/v1alpha1/meshinstallations", name);
export const condition = (m: MeshInstallation | undefined, type: string) =>
  m?.status?.conditions?.find((c) => c.type === type);
/** Ready=True for the current generation. */
export const isReady = (m: MeshInstallation) =>
  condition(m, "Ready")?.status === "True" && m.status?.observedGeneration === m.metadata?.generation;
