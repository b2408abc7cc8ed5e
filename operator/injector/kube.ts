// The /inject handler against the API server: reads the injection ConfigMap (in discovery's namespace) and the
// pod's namespace labels fresh for each review, so an edit by the operator counts at once, then answers (admit.ts).
import { CoreV1Api } from "@kubernetes/client-node";
import type { KubeConfig } from "@kubernetes/client-node";
import { INJECTOR_CONFIGMAP } from "../install/labels.js";
import { errorMessage, isNotFound } from "../runtime/kube.js";
import { allowUnpatched, injectAdmission, podNamespace } from "./admit.js";
import type { InjectResponse, InjectReview } from "./admit.js";

export interface InjectHandlerOptions {
  kc: KubeConfig;
  /** Discovery's namespace: the ConfigMap is there, and the proxies' discovery address names it. */
  namespace: string;
  log: { warn(obj: object, msg?: string): void };
}

export function injectHandler(o: InjectHandlerOptions): (review: InjectReview) => Promise<InjectResponse> {
  const core = o.kc.makeApiClient(CoreV1Api);
  return async (review) => {
    const podNs = podNamespace(review);
    let configMapData: Record<string, string> | undefined;
    let namespaceLabels: Record<string, string>;
    try {
      const [cm, ns] = await Promise.all([
        core.readNamespacedConfigMap({ name: INJECTOR_CONFIGMAP, namespace: o.namespace }).catch((err: unknown) => {
          if (isNotFound(err)) return undefined;
          throw err;
        }),
        podNs ? core.readNamespace({ name: podNs }) : undefined,
      ]);
      configMapData = cm?.data;
      namespaceLabels = ns?.metadata?.labels ?? {};
    } catch (err) {
      const error = `cannot read the injection inputs: ${errorMessage(err)}`;
      o.log.warn({ namespace: podNs, error }, "sidecar not injected");
      return allowUnpatched(review.request?.uid ?? "", error);
    }
    const outcome = injectAdmission(review, {
      namespaceLabels,
      configMapData,
      configMapName: INJECTOR_CONFIGMAP,
      discoveryNamespace: o.namespace,
    });
    if (outcome.problem) {
      o.log.warn(
        {
          configMap: `${o.namespace}/${INJECTOR_CONFIGMAP}`,
          key: outcome.problem.configMapKey,
          error: outcome.problem.error,
          namespace: podNs,
        },
        "sidecar not injected",
      );
    }
    return outcome.review;
  };
}
