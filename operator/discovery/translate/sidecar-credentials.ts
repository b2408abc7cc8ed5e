// Which sidecars get a DestinationRule's `tls.credentialName` Secret, as istiod serves it (pilot/pkg/xds/sds.go
// filterAuthorizedResources, pilot/pkg/networking/core/cluster_tls.go): only from a rule with a workloadSelector (a
// rule without one would hand the Secret to every sidecar it reaches: istiod gives those no TLS), which is of the
// sidecar's own namespace and selects it, and only when its ServiceAccount may list Secrets there (the
// SubjectAccessReview discovery makes in Kubernetes mode: ads/secret-access.ts). Every other sidecar keeps the SDS
// names and gets no Secret, so its connections are refused, never sent in plaintext. Pure.
import type { ConfigModel } from "../model/config.js";
import { labelsMatch } from "../model/config.js";
import type { DestinationRule, TrafficPolicy } from "../model/istio.js";
import { credentialRefusal } from "./gateway-credentials.js";
import { findWorkload, type ProxyIdentity } from "./proxy.js";
import { hasSelector } from "./rule-select.js";

type Rule = ConfigModel["destinationRules"][number];

const policyNames = (p: TrafficPolicy | undefined): boolean =>
  !!p?.tls?.credentialName || (p?.portLevelSettings ?? []).some((s) => !!s.tls?.credentialName);

/** Does the rule name a credentialName anywhere: its traffic policy, a port's, a subset's? */
const namesCredential = (r: DestinationRule): boolean =>
  policyNames(r.trafficPolicy) || (r.subsets ?? []).some((s) => policyNames(s.trafficPolicy));

const labelsOf = (model: ConfigModel, proxy: ProxyIdentity): Record<string, string> =>
  findWorkload(model, proxy)?.labels ?? {};

const selects = (r: Rule, proxy: ProxyIdentity, labels: Record<string, string>): boolean =>
  hasSelector(r.spec) && r.namespace === proxy.namespace && labelsMatch(r.spec.workloadSelector?.matchLabels, labels);

/** Per model, the namespaces where a rule names a credentialName. */
const credentialNamespaces = new WeakMap<ConfigModel, Set<string>>();

/**
 * Does this sidecar need its ServiceAccount reviewed: is it selected by a rule of its namespace, while a rule there
 * names a credentialName (the selector rule, or one without a selector merged into it: rule-select)? Every other
 * sidecar is served without asking the API server anything.
 */
export function needsSecretReview(model: ConfigModel, proxy: ProxyIdentity): boolean {
  let namespaces = credentialNamespaces.get(model);
  if (!namespaces) {
    namespaces = new Set(model.destinationRules.filter((r) => namesCredential(r.spec)).map((r) => r.namespace));
    credentialNamespaces.set(model, namespaces);
  }
  if (proxy.kind !== "sidecar" || !namespaces.has(proxy.namespace)) return false;
  const labels = labelsOf(model, proxy);
  return model.destinationRules.some((r) => selects(r, proxy, labels));
}

/** `DestinationRule/<ns>/<name>` → the rule. */
function ruleNamed(model: ConfigModel, key: string): Rule | undefined {
  return model.destinationRules.find((r) => `DestinationRule/${r.namespace}/${r.name}` === key);
}

/**
 * Why the sidecar may not have Secret `secret` (of its namespace) that clusters of `rules` name, or undefined when it
 * may: one of the rules has a selector, is of its namespace and selects it, and its ServiceAccount was allowed.
 */
export function sidecarRefusal(
  model: ConfigModel,
  proxy: ProxyIdentity,
  rules: Iterable<string>,
  secret: string,
): string | undefined {
  const labels = labelsOf(model, proxy);
  const found = [...rules].map((key) => ruleNamed(model, key));
  if (!found.some((r) => r && selects(r, proxy, labels))) {
    return found.some((r) => r && hasSelector(r.spec))
      ? `secret ${secret} is not served to this sidecar (the rule's workloadSelector must select it, in its own namespace)`
      : `secret ${secret} is not served to sidecars (istiod gives them no TLS here; only a rule with a workloadSelector serves its Secret, to the sidecars it selects)`;
  }
  // Denied, or on plaintext xDS (its namespace unverified): as a gateway.
  const refusal = credentialRefusal(proxy, false);
  if (refusal) return `secret ${secret}: ${refusal}`;
  if (proxy.credentialsAllowed === true) return undefined;
  return `secret ${secret}: its ServiceAccount was not reviewed (a sidecar gets Secrets only after a SubjectAccessReview allows its ServiceAccount to list them: Kubernetes mode)`;
}
