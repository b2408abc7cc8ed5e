// Watching objects as a user would with `kubectl get -w`: every version the API server
// publishes is seen, in order, so a test waits for a transition instead of polling.
import { KubeConfig, Watch, type KubernetesObject } from "@kubernetes/client-node";
import type { MeshInstallation } from "../../../operator/api/types.js";

export class ObjectWatch<T extends KubernetesObject> {
  readonly seen: { phase: string; obj: T }[] = [];
  private readonly waiters: { test: (o: T, phase: string) => boolean; resolve: (o: T) => void }[] = [];
  private request?: { abort(): void };

  /** path: a collection, e.g. /api/v1/namespaces/x/configmaps; the watch is narrowed to one name. */
  static async start<T extends KubernetesObject>(path: string, name: string): Promise<ObjectWatch<T>> {
    const w = new ObjectWatch<T>();
    const kc = new KubeConfig();
    kc.loadFromDefault();
    w.request = await new Watch(kc).watch(path, { fieldSelector: `metadata.name=${name}` }, (phase: string, obj: T) => w.push(phase, obj), () => undefined);
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
      const timer = setTimeout(() => reject(new Error(`never saw ${what} in ${timeoutMs} ms; last: ${JSON.stringify(this.seen.at(-1)?.obj).slice(0, 2000)}`)), timeoutMs);
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
    this.request?.abort();
  }
}

export const watchMesh = (name: string) => ObjectWatch.start<MeshInstallation>("/apis/weft.dev/v1alpha1/meshinstallations", name);
export const condition = (m: MeshInstallation | undefined, type: string) => m?.status?.conditions?.find((c) => c.type === type);
/** Ready=True for the current generation. */
export const isReady = (m: MeshInstallation) => condition(m, "Ready")?.status === "True" && m.status?.observedGeneration === m.metadata?.generation;
