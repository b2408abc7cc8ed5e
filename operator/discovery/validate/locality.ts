// localityLbSetting (a DestinationRule's loadBalancer, or the mesh config's) as Istio's webhook checks it
// (ValidateLocalityLbSetting): distribute and failover exclusive, weights 1 to 100 summing to 100, localities
// well-formed and not overlapping, failover between two different regions. Pure. Each problem names its field,
// relative to the setting: `distribute[0].to: total locality weight 90 != 100`.
import type { LocalityLbSetting } from "../model/istio.js";

/** The topology labels failoverPriority may not name together with failover (Istio's rule). */
const TOPOLOGY = ["topology.kubernetes.io/region", "topology.kubernetes.io/zone", "topology.istio.io/subzone"];

export interface Problem {
  /** Relative to the setting ("" for the setting itself). */
  path: string;
  message: string;
}

export function localityLbProblems(lb: LocalityLbSetting | undefined): Problem[] {
  if (!lb) return [];
  const out: Problem[] = [];
  const distribute = lb.distribute ?? [];
  const failover = lb.failover ?? [];
  if (distribute.length && failover.length)
    return [{ path: "", message: "can not simultaneously specify 'distribute' and 'failover'" }];
  if (failover.length)
    for (const [i, label] of (lb.failoverPriority ?? []).entries())
      if (TOPOLOGY.includes(label))
        return [
          {
            path: `failoverPriority[${i}]`,
            message: `can not simultaneously set 'failover' and topology label '${label}' in 'failover_priority'`,
          },
        ];
  for (const [i, d] of distribute.entries()) {
    const to = Object.entries(d.to ?? {});
    const bad = to.find(([, w]) => !(w >= 1 && w <= 100));
    if (bad)
      return [{ path: `distribute[${i}].to["${bad[0]}"]`, message: "locality weight must be in range [1, 100]" }];
    const total = to.reduce((s, [, w]) => s + w, 0);
    if (total !== 100) return [{ path: `distribute[${i}].to`, message: `total locality weight ${total} != 100` }];
    const dest = localitiesProblem(to.map(([loc]) => loc));
    if (dest) out.push({ path: `distribute[${i}].to`, message: dest });
  }
  const src = localitiesProblem(distribute.map((d) => d.from ?? ""));
  if (src) out.push({ path: "distribute", message: src });
  for (const [i, f] of failover.entries()) {
    const from = f.from ?? "";
    const to = f.to ?? "";
    const at = `failover[${i}]`;
    if (from === to) out.push({ path: at, message: "locality lb failover settings must specify different regions" });
    if (from.includes("/") || to.includes("/"))
      out.push({ path: at, message: "locality lb failover only specify region" });
    if (from.includes("*") || to.includes("*"))
      out.push({ path: at, message: "locality lb failover region should not contain '*' wildcard" });
  }
  return out;
}

/** Go's strings.SplitN(s, "/", 3): the third part keeps any further slashes. */
function splitLocality(locality: string): string[] {
  const [region = "", zone, ...rest] = locality.split("/");
  return zone === undefined ? [region] : rest.length ? [region, zone, rest.join("/")] : [region, zone];
}

/**
 * Istio's validateLocalities, step for step: one `*` at most, at the end; no empty part; a locality under one listed
 * before it (or a region listed after one of its zones) overlaps.
 */
function localitiesProblem(localities: string[]): string | undefined {
  const regions = new Map<string, Map<string, Set<string>>>();
  for (const locality of localities) {
    const stars = locality.split("*").length - 1;
    if (stars > 1 || (stars === 1 && !locality.endsWith("*")))
      return `locality ${locality} wildcard '*' number can not exceed 1 and must be in the end`;
    const overlap = `locality ${locality} overlap with previous specified ones`;
    if (regions.has("*")) return overlap;
    const parts = splitLocality(locality);
    if (parts.some((p) => p === "")) return `locality ${locality} must not contain empty region/zone/subzone info`;
    const [region = "", zone = "", subZone = ""] = parts;
    const zones = regions.get(region);
    if (parts.length === 1) {
      if (zones) return overlap;
      regions.set(region, new Map([["*", new Set(["*"])]]));
    } else if (parts.length === 2) {
      if (zones?.has("*") || zones?.has(zone)) return overlap;
      if (zones) zones.set(zone, new Set(["*"]));
      else regions.set(region, new Map([[zone, new Set(["*"])]]));
    } else {
      if (zones?.has("*")) return overlap;
      const subZones = zones?.get(zone);
      if (subZones?.has("*") || subZones?.has(subZone)) return overlap;
      if (subZones) subZones.add(subZone);
      else if (zones) zones.set(zone, new Set([subZone]));
      else regions.set(region, new Map([[zone, new Set([subZone])]]));
    }
  }
  return undefined;
}
