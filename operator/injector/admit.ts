// POST /inject: an AdmissionReview v1 for a pod CREATE → the review's answer, with the sidecar patch (base64 JSON
// Patch). Pure. A problem of the mesh's (a bad ConfigMap, a failed read) never blocks a pod: it goes through
// unpatched, with a warning. A pod that asks for what Weft can't honour (a proxy.istio.io/config it can't read, or a
// ProxyConfig field it doesn't implement) is refused, naming the field, as Istio's injector refuses it.
import { parseInjectorConfigMap } from "./config.js";
import { injectionPatch } from "./patch.js";
import { ProxyConfigError } from "./proxy-config.js";
import type { Pod } from "./patch.js";

export interface InjectReview {
  request?: { uid?: string; namespace?: string; object?: unknown };
}

export interface InjectResponse {
  apiVersion: "admission.k8s.io/v1";
  kind: "AdmissionReview";
  response: {
    uid: string;
    allowed: boolean;
    patchType?: "JSONPatch";
    patch?: string;
    warnings?: string[];
    /** Why a pod is refused (allowed false). */
    status?: { code: number; reason: string; message: string };
  };
}

export interface InjectInputs {
  namespaceLabels: Record<string, string>;
  /** The injection ConfigMap's data; undefined when it doesn't exist. */
  configMapData: Record<string, string> | undefined;
  /** Its name, for the warning. */
  configMapName: string;
  discoveryNamespace: string;
}

export interface InjectOutcome {
  review: InjectResponse;
  /** Set when the pod went through unpatched because of a problem someone should fix. */
  problem?: { configMapKey?: string; error: string };
}

/** The namespace the pod is created in: the request's, since a generated pod's metadata often has none. */
export function podNamespace(review: InjectReview): string | undefined {
  const pod = review.request?.object as Pod | undefined;
  return review.request?.namespace ?? pod?.metadata?.namespace;
}

/** The pod goes through as it is, with a warning kubectl shows: one printable line (the API server drops others). */
export function allowUnpatched(uid: string, why: string): InjectResponse {
  const warning = `weft sidecar not injected: ${why}`.replace(/\s+/g, " ").slice(0, 250);
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    response: { uid, allowed: true, warnings: [warning] },
  };
}

export function injectAdmission(review: InjectReview, inputs: InjectInputs): InjectOutcome {
  const uid = review.request?.uid ?? "";
  const answer = (extra: { patchType?: "JSONPatch"; patch?: string } = {}): InjectResponse => ({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    response: { uid, allowed: true, ...extra },
  });
  const pod = review.request?.object;
  if (typeof pod !== "object" || pod === null || Array.isArray(pod)) return { review: answer() };
  const parsed = parseInjectorConfigMap(inputs.configMapData);
  if (!parsed.ok) {
    const error = `ConfigMap ${inputs.discoveryNamespace}/${inputs.configMapName} key "${parsed.key}": ${parsed.error}`;
    return { review: allowUnpatched(uid, error), problem: { configMapKey: parsed.key, error } };
  }
  const ctx = {
    namespace: podNamespace(review) ?? "default",
    namespaceLabels: inputs.namespaceLabels,
    discoveryNamespace: inputs.discoveryNamespace,
  };
  try {
    const ops = injectionPatch(pod as Pod, ctx, parsed.config, parsed.values);
    if (!ops) return { review: answer() };
    return { review: answer({ patchType: "JSONPatch", patch: Buffer.from(JSON.stringify(ops)).toString("base64") }) };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    if (err instanceof ProxyConfigError)
      return {
        review: {
          apiVersion: "admission.k8s.io/v1",
          kind: "AdmissionReview",
          response: { uid, allowed: false, status: { code: 400, reason: "BadRequest", message: error } },
        },
      };
    return { review: allowUnpatched(uid, error), problem: { error } };
  }
}
