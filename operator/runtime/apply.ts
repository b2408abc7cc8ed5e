// Server-side apply and deletion of arbitrary objects, by one field manager.
import { KubernetesObjectApi, PatchStrategy } from "@kubernetes/client-node";
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import { isNotFound } from "./kube.js";

export class Applier {
  private readonly api: KubernetesObjectApi;

  constructor(
    kc: KubeConfig,
    readonly fieldManager: string,
  ) {
    this.api = KubernetesObjectApi.makeApiClient(kc);
  }

  /** Server-side apply with force: fields this manager sets are restored if someone else changed them. */
  apply<T extends KubernetesObject>(obj: T): Promise<T> {
    return this.api.patch<T>(obj, undefined, undefined, this.fieldManager, true, PatchStrategy.ServerSideApply);
  }

  async create<T extends KubernetesObject>(obj: T): Promise<T> {
    return this.api.create<T>(obj, undefined, undefined, this.fieldManager);
  }

  /** Deletes obj (background propagation); returns false when it was already gone. */
  async delete(obj: KubernetesObject): Promise<boolean> {
    try {
      await this.api.delete(obj, undefined, undefined, undefined, undefined, "Background");
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async exists(obj: KubernetesObject): Promise<boolean> {
    try {
      await this.api.read(obj as KubernetesObject & { metadata: { name: string } });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** A JSON merge patch of the main resource (not a subresource). */
  mergePatch<T extends KubernetesObject>(obj: T): Promise<T> {
    return this.api.patch<T>(obj, undefined, undefined, this.fieldManager, undefined, PatchStrategy.MergePatch);
  }
}
