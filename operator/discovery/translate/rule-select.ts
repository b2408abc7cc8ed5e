// Which DestinationRule a client's outbound traffic to a service takes, as istiod selects it
// (PushContext.setDestinationRules, mergeDestinationRule, SidecarScope.DestinationRule). A rule with a
// `workloadSelector` is its namespace's alone (never exported, whatever its exportTo) and applies only to the proxies
// of that namespace whose workload labels it matches, sidecars and gateways alike (istiod gives a gateway its
// namespace's default scope, and selects the same way); for them it comes before any rule without a selector, the
// oldest first. Rules with the same selector are one (subsets added in turn, the first's traffic policy), and a rule
// without a selector of the same namespace whose exportTo lists "." is merged in too (its subsets the selector rule
// doesn't define; its traffic policy if the selector rule has none): istiod's merge with
// ENABLE_ENHANCED_DESTINATIONRULE_MERGE, its default, which merges only rules whose exportTo holds the other's.
// Two istiod bugs are not repeated: a rule without a selector whose exportTo is exactly "." is not swallowed by the
// selector rule (istio/istio#58322: the namespace's other workloads would have no rule), and a workload no selector
// rule matches falls back to the rules it would take without them, the service namespace's included
// (istio/istio#57719: a client namespace's selector rule hid them). Pure.
import type { ConfigModel, Named, Service } from "../model/config.js";
import { labelsMatch } from "../model/config.js";
import type { DestinationRule } from "../model/istio.js";
import { indexByService } from "./hosts.js";
import { byAge, visibleIn } from "./scope.js";

type Rule = ConfigModel["destinationRules"][number];

/** The client: a proxy's namespace and its workload's labels. */
export interface Client {
  namespace: string;
  labels: Readonly<Record<string, string>>;
}

export const hasSelector = (r: DestinationRule): boolean => r.workloadSelector !== undefined;

const rulesByService = new WeakMap<ConfigModel, Map<string, Rule[]>>();

/**
 * The DestinationRule for the client's traffic to a service: its namespace's oldest selector rule that matches its
 * labels (merged as above); else, of the rules without a selector exported to its namespace, its namespace's, then
 * the service's namespace's, then any other.
 */
export function ruleFor(model: ConfigModel, service: Service, client: Client): Named<DestinationRule> | undefined {
  const index = indexByService(rulesByService, model, model.destinationRules, (r) => [r.spec.host]);
  const all = index.get(service.hostname) ?? [];
  const plain = all.filter((r) => !hasSelector(r.spec) && visibleIn(r.spec.exportTo, r.namespace, client.namespace));
  const selected = byAge(
    all.filter(
      (r) =>
        hasSelector(r.spec) &&
        r.namespace === client.namespace &&
        labelsMatch(r.spec.workloadSelector?.matchLabels, client.labels),
    ),
  );
  const first = selected[0];
  if (!first)
    return (
      plain.find((r) => r.namespace === client.namespace) ??
      plain.find((r) => r.namespace === service.namespace) ??
      plain[0]
    );
  const sameSelector = selected.slice(1).filter((r) => sameLabels(r.spec, first.spec));
  const local = byAge(plain.filter((r) => r.namespace === first.namespace && r.spec.exportTo?.includes(".")));
  return merged(first, [...sameSelector, ...local]);
}

function sameLabels(a: DestinationRule, b: DestinationRule): boolean {
  const x = Object.entries(a.workloadSelector?.matchLabels ?? {}).sort();
  const y = Object.entries(b.workloadSelector?.matchLabels ?? {}).sort();
  return JSON.stringify(x) === JSON.stringify(y);
}

// The merged rule is the same object while its parts are: translation is memoised by the rule's identity.
const merges = new WeakMap<Rule, { parts: Rule[]; rule: Named<DestinationRule> }>();

/** istiod's mergeDestinationRule: the others' subsets of names not yet defined, their traffic policy if none yet. */
function merged(first: Rule, others: Rule[]): Named<DestinationRule> {
  if (!others.length) return first;
  const known = merges.get(first);
  if (known && known.parts.length === others.length && known.parts.every((p, i) => p === others[i])) return known.rule;
  const spec: DestinationRule = { ...first.spec, subsets: [...(first.spec.subsets ?? [])] };
  for (const o of others) {
    const names = new Set(spec.subsets?.map((s) => s.name));
    spec.subsets?.push(...(o.spec.subsets ?? []).filter((s) => !names.has(s.name)));
    spec.trafficPolicy ??= o.spec.trafficPolicy;
  }
  if (!spec.subsets?.length) delete spec.subsets;
  if (!spec.trafficPolicy) delete spec.trafficPolicy;
  const rule = { ...first, spec };
  merges.set(first, { parts: others, rule });
  return rule;
}
