// Locality load balancing as istiod writes it (pilot/pkg/networking/core/loadbalancer): per proxy, from its locality
// and labels, each ClusterLoadAssignment's LocalityLbEndpoints get priorities (failover: same region/zone/subzone 0,
// then the same region/zone, the same region, the `failover` region, the rest; or by `failoverPriority` labels) or
// weights (`distribute`), and the cluster gets common_lb_config (the panic threshold from minHealthPercent, locality
// weighting). Failover only with outlierDetection, as Istio: without ejections Envoy would never leave priority 0.
import type { Cluster, ClusterLoadAssignment, LocalityLbEndpoints } from "../../../proxy/xds/resources.js";
import type { ConfigModel, Endpoint } from "../model/config.js";
import type { DestinationRule, LocalityLbSetting, TrafficPolicy } from "../model/istio.js";
import { findWorkload, type ProxyIdentity } from "./proxy.js";

/** Istio's default mesh config turns locality load balancing on (failover once a rule sets outlierDetection). */
const MESH_DEFAULT: LocalityLbSetting = { enabled: true };

/** The topology labels Istio adds to proxies' and endpoints' labels from their locality (labelutil.AugmentLabels). */
const REGION = "topology.kubernetes.io/region";
const ZONE = "topology.kubernetes.io/zone";
const SUBZONE = "topology.istio.io/subzone";

/** What a proxy's clusters depend on here: its locality (`region/zone/subzone`) and its labels with the topology ones. */
export interface ProxyPlace {
  locality: string;
  labels: Record<string, string>;
}

/** The proxy's locality: its workload's in the registry, else what its node says (Istio's initializeProxy). */
export function proxyLocality(model: ConfigModel, proxy: ProxyIdentity): string {
  return findWorkload(model, proxy)?.locality || proxy.locality || "";
}

export function proxyPlace(model: ConfigModel, proxy: ProxyIdentity): ProxyPlace {
  const locality = proxyLocality(model, proxy);
  return { locality, labels: withTopology(findWorkload(model, proxy)?.labels ?? {}, locality) };
}

function withTopology(labels: Record<string, string>, locality: string): Record<string, string> {
  const [region, zone, subZone] = split(locality);
  return {
    ...labels,
    ...(region ? { [REGION]: region } : {}),
    ...(zone ? { [ZONE]: zone } : {}),
    ...(subZone ? { [SUBZONE]: subZone } : {}),
  };
}

/** `region/zone/subzone` as Istio's SplitLocalityLabel (anything past a third part is not looked at). */
function split(locality: string): [string, string, string] {
  const [region = "", zone = "", subZone = ""] = locality.split("/");
  return [region, zone, subZone];
}

/** GetLocalityLbSetting: the rule's (none if it says enabled: false), else the mesh's unless that is off. */
export function localitySetting(
  model: ConfigModel,
  rule: LocalityLbSetting | undefined,
): LocalityLbSetting | undefined {
  if (rule) return rule.enabled === false ? undefined : rule;
  const mesh = model.mesh ? model.mesh.localityLbSetting : MESH_DEFAULT;
  return mesh?.enabled === false ? undefined : mesh;
}

/** Does any policy of the rule, or the mesh, order endpoints by labels (so a proxy's labels change its EDS)? */
export function usesFailoverPriority(model: ConfigModel, rule: DestinationRule | undefined): boolean {
  const policies = [
    rule?.trafficPolicy,
    ...(rule?.trafficPolicy?.portLevelSettings ?? []),
    ...(rule?.subsets ?? []).flatMap((s) => [s.trafficPolicy, ...(s.trafficPolicy?.portLevelSettings ?? [])]),
  ];
  return (
    (model.mesh?.localityLbSetting?.failoverPriority?.length ?? 0) > 0 ||
    policies.some((p) => (p?.loadBalancer?.localityLbSetting?.failoverPriority?.length ?? 0) > 0)
  );
}

/**
 * common_lb_config as istiod writes it: healthy_panic_threshold from outlierDetection.minHealthPercent (0 unless
 * set: Istio turns panic off whenever outlier detection is on), and locality_weighted_lb_config with `distribute`,
 * or with failover settings when failover applies.
 */
export function commonLbConfig(
  policy: TrafficPolicy,
  setting: LocalityLbSetting | undefined,
): Cluster["common_lb_config"] {
  const od = policy.outlierDetection;
  const failover = od !== undefined && (!!setting?.failover?.length || !!setting?.failoverPriority?.length);
  const weighted = failover || !!setting?.distribute?.length;
  if (!od && !weighted) return undefined;
  return {
    ...(od ? { healthy_panic_threshold: { value: od.minHealthPercent ?? 0 } } : {}),
    ...(weighted ? { locality_weighted_lb_config: {} } : {}),
  };
}

/**
 * ApplyLocalityLoadBalancer on an assignment built for `place`: `groups[i]` are the endpoints behind
 * `cla.endpoints[i]` (for failoverPriority's labels; undefined for DNS clusters, which Istio doesn't split either).
 */
export function applyLocality(
  cla: Pick<ClusterLoadAssignment, "endpoints">,
  groups: Endpoint[][] | undefined,
  place: ProxyPlace,
  setting: LocalityLbSetting,
  failover: boolean,
): void {
  if (setting.distribute?.length) return distribute(cla, place.locality, setting.distribute);
  if (!failover) return;
  if (setting.failoverPriority?.length) {
    byLabels(cla, groups, place.labels, setting.failoverPriority);
    if (setting.failover?.length) byLocality(cla, place.locality, setting.failover);
  } else byLocality(cla, place.locality, setting.failover ?? []);
}

const localityOf = (l: LocalityLbEndpoints): string =>
  [l.locality?.region ?? "", l.locality?.zone ?? "", l.locality?.sub_zone ?? ""].join("/");

/** util.LocalityMatch: the rule's region (or `*`), and its zone and subzone when it names them (or `*`). */
function localityMatch(locality: string, rule: string): boolean {
  const [region, zone, subZone] = split(locality);
  const [rRegion, rZone, rSubZone] = split(rule);
  return (
    (rRegion === "*" || rRegion === region) &&
    (rZone === "*" || rZone === "" || rZone === zone) &&
    (rSubZone === "*" || rSubZone === "" || rSubZone === subZone)
  );
}

/**
 * applyLocalityWeights: the first `distribute` entry whose `from` matches the proxy's locality weighs each group by
 * the first `to` locality it matches (a wildcard's weight shared by the groups it matches, rounded up); the groups no
 * `to` names are emptied.
 */
function distribute(
  cla: Pick<ClusterLoadAssignment, "endpoints">,
  locality: string,
  rules: NonNullable<LocalityLbSetting["distribute"]>,
): void {
  const eps = cla.endpoints ?? [];
  const rule = rules.find((d) => localityMatch(locality, d.from ?? ""));
  if (!rule) return;
  const unmatched = new Set(eps.keys());
  for (const [to, weight] of Object.entries(rule.to ?? {})) {
    const matched = [...unmatched].filter((i) => localityMatch(localityOf(eps[i] as LocalityLbEndpoints), to));
    const original = (i: number) => (eps[i] as LocalityLbEndpoints).load_balancing_weight ?? 1;
    const total = matched.reduce((s, i) => s + original(i), 0);
    for (const i of matched) {
      unmatched.delete(i);
      const w = (original(i) * weight) / total;
      if (w > 0) (eps[i] as LocalityLbEndpoints).load_balancing_weight = Math.ceil(w);
    }
  }
  for (const i of unmatched) (eps[i] as LocalityLbEndpoints).lb_endpoints = [];
}

/** util.LbPriority: 0 same region/zone/subzone, 1 same region/zone, 2 same region, 3 else. */
function lbPriority(proxy: string, endpoint: string): number {
  const [r, z, s] = split(proxy);
  const [er, ez, es] = split(endpoint);
  if (r !== er) return 3;
  if (z !== ez) return 2;
  return s === es ? 0 : 1;
}

/** applyLocalityFailover: priorities by locality, the `failover` region before other regions, then compacted. */
function byLocality(
  cla: Pick<ClusterLoadAssignment, "endpoints">,
  locality: string,
  failover: NonNullable<LocalityLbSetting["failover"]>,
): void {
  const [region] = split(locality);
  for (const l of cla.endpoints ?? []) {
    let p = lbPriority(locality, localityOf(l));
    if (p === 3) {
      const f = failover.find((x) => x.from === region);
      if (f && (l.locality?.region ?? "") !== f.to) p = 4;
    }
    // Priorities already set (by failoverPriority) stay the major order.
    l.priority = (l.priority ?? 0) * 5 + p;
  }
  compact(cla.endpoints ?? []);
}

/** Priorities 0..N without gaps, in the same order (Envoy expects no skipped levels). */
function compact(eps: LocalityLbEndpoints[]): void {
  const levels = [...new Set(eps.map((l) => l.priority ?? 0))].sort((a, b) => a - b);
  for (const l of eps) l.priority = levels.indexOf(l.priority ?? 0);
}

/**
 * applyFailoverPriorities: each group split by how many of the labels (in order) an endpoint shares with the proxy
 * (`label=value` compares with that value instead of the proxy's), the split groups weighted by their endpoints.
 */
function byLabels(
  cla: Pick<ClusterLoadAssignment, "endpoints">,
  groups: Endpoint[][] | undefined,
  proxyLabels: Record<string, string>,
  priorities: string[],
): void {
  if (!groups?.length || !Object.keys(proxyLabels).length) return;
  const wanted = priorities.map((p) => {
    const [label = "", value] = p.split("=");
    return { label, value: p.includes("=") ? value : proxyLabels[label] };
  });
  const out: LocalityLbEndpoints[] = [];
  (cla.endpoints ?? []).forEach((l, i) => {
    const group = groups[i] ?? [];
    const byPriority = new Map<number, number[]>();
    group.forEach((ep, j) => {
      const labels = withTopology(ep.labels, ep.locality ?? "");
      const miss = wanted.findIndex((w) => w.value !== labels[w.label]);
      const p = miss < 0 ? 0 : wanted.length - miss;
      byPriority.set(p, [...(byPriority.get(p) ?? []), j]);
    });
    for (const p of [...byPriority.keys()].sort((a, b) => a - b)) {
      const lbEndpoints = (byPriority.get(p) ?? []).flatMap((j) => l.lb_endpoints?.[j] ?? []);
      const weight = lbEndpoints.reduce((s, e) => s + (e.load_balancing_weight ?? 0), 0);
      out.push({ ...l, lb_endpoints: lbEndpoints, priority: p, load_balancing_weight: weight });
    }
  });
  compact(out);
  cla.endpoints = out;
}
