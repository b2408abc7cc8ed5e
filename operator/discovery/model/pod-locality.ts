// A Pod's locality as istiod's Kubernetes registry finds it (getPodLocality): its `istio-locality` label (dots for
// slashes: label values can't hold `/`), else its node's topology labels as `region/zone/subzone`. Pure, but for
// NodeLocalities, which the incremental model keeps as Nodes and Pods come and go.
import type { KubeObject } from "./kube.js";

const LOCALITY_LABEL = "istio-locality";
const REGION = "topology.kubernetes.io/region";
const ZONE = "topology.kubernetes.io/zone";
const SUBZONE = "topology.istio.io/subzone";

/** A Node's locality, `region/zone/subzone` (Istio's format, empty parts kept), or "" when it has none. */
export function nodeLocality(node: KubeObject): string {
  const labels = node.metadata?.labels ?? {};
  const [region = "", zone = "", subZone = ""] = [labels[REGION], labels[ZONE], labels[SUBZONE]];
  return region || zone || subZone ? `${region}/${zone}/${subZone}` : "";
}

export function podNode(pod: KubeObject): string | undefined {
  return (pod.spec as { nodeName?: string } | undefined)?.nodeName || undefined;
}

/** The pod's locality; `ofNode` gives a node's by name. Undefined: none known. */
export function podLocality(pod: KubeObject, ofNode: (name: string) => string | undefined): string | undefined {
  const label = pod.metadata?.labels?.[LOCALITY_LABEL];
  if (label) return label.includes("/") ? label : label.replaceAll(".", "/");
  const node = podNode(pod);
  return (node && ofNode(node)) || undefined;
}

/** Nodes' localities, and the pods on each node, so that a node's change reaches its pods. */
export class NodeLocalities {
  private readonly localities = new Map<string, string>();
  private readonly podsOn = new Map<string, Map<string, KubeObject>>();
  readonly of = (name: string): string | undefined => this.localities.get(name);

  /** A pod placed (or gone: undefined) under `key`. */
  pod(key: string, pod: KubeObject | undefined, before: KubeObject | undefined): void {
    const was = before && podNode(before);
    if (was) this.podsOn.get(was)?.delete(key);
    const now = pod && podNode(pod);
    if (now && pod) this.podsOn.set(now, (this.podsOn.get(now) ?? new Map<string, KubeObject>()).set(key, pod));
  }

  /** A node changed or went: the pods on it when its locality changed (their workloads must be made again). */
  node(name: string, node: KubeObject | undefined): KubeObject[] {
    const locality = node ? nodeLocality(node) : "";
    if ((this.localities.get(name) ?? "") === locality) return [];
    if (locality) this.localities.set(name, locality);
    else this.localities.delete(name);
    return [...(this.podsOn.get(name)?.values() ?? [])];
  }
}
