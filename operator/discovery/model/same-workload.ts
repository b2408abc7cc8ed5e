// Whether two workloads are the same: what the incremental model compares a Pod's update with (a status change
// alone changes nothing derived).
import type { Workload } from "./config.js";

export function sameWorkload(a: Workload | undefined, b: Workload | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (
    a.address === b.address &&
    a.name === b.name &&
    a.namespace === b.namespace &&
    a.serviceAccount === b.serviceAccount &&
    a.pod === b.pod &&
    a.locality === b.locality &&
    sameRecord(a.labels, b.labels) &&
    sameRecord(a.ports ?? {}, b.ports ?? {})
  );
}

function sameRecord<T>(a: Record<string, T>, b: Record<string, T>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k, i) => Object.keys(b)[i] === k && a[k] === b[k]);
}
