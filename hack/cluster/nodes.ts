// Fake nodes for KWOK: kwok marks them Ready and runs their pods' lifecycle.
import { CoreV1Api } from "@kubernetes/client-node";
import type { KubeConfig, V1Node } from "@kubernetes/client-node";
import { isConflict } from "../../operator/runtime/kube.js";
import { KWOK_NODE_PODS } from "./layout.js";

/** A KWOK node; with a pod range, KWOK hands out its pods' IPs from it. */
export function fakeNode(name: string, podCidr?: string): V1Node {
  const resources = { cpu: "32", memory: "256Gi", pods: String(KWOK_NODE_PODS) };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
      labels: {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        type: "kwok",
      },
    },
    ...(podCidr ? { spec: { podCIDR: podCidr, podCIDRs: [podCidr] } } : {}),
    status: { allocatable: resources, capacity: resources },
  };
}

export async function ensureNodes(kc: KubeConfig, nodes: { name: string; podCidr?: string }[]): Promise<void> {
  const api = kc.makeApiClient(CoreV1Api);
  for (const { name, podCidr } of nodes) {
    try {
      await api.createNode({ body: fakeNode(name, podCidr) });
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }
}

export async function readyNodes(kc: KubeConfig): Promise<string[]> {
  const api = kc.makeApiClient(CoreV1Api);
  const list = await api.listNode();
  return list.items
    .filter((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"))
    .map((n) => n.metadata?.name ?? "");
}

/** kube-controller-manager's service-account controller has created `default` in `default`. */
export async function hasDefaultServiceAccount(kc: KubeConfig): Promise<boolean> {
  try {
    await kc.makeApiClient(CoreV1Api).readNamespacedServiceAccount({ name: "default", namespace: "default" });
    return true;
  } catch {
    return false;
  }
}
