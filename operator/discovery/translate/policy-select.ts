// Which security.istio.io policies apply to a workload (AuthorizationPolicy, RequestAuthentication), as istiod selects
// them: its namespace's and the root namespace's (mesh-wide), whose selector's labels the workload has. Pure.
import type { Named } from "../model/config.js";

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The policies that apply to a workload: its namespace's, and the root namespace's (mesh-wide), selector matching. */
export function policiesFor<T extends { selector?: { matchLabels?: Record<string, string> } }>(
  policies: readonly Named<T>[],
  namespace: string,
  labels: Record<string, string>,
  rootNamespace: string,
): Named<T>[] {
  return policies
    .filter((p) => p.namespace === namespace || p.namespace === rootNamespace)
    .filter((p) => Object.entries(p.spec.selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v))
    .sort((a, b) => (a.namespace === b.namespace ? cmp(a.name, b.name) : cmp(a.namespace, b.namespace)));
}
