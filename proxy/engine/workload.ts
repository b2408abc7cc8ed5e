// Who this proxy is, from its node id (`sidecar~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local`), for its
// metrics' source/destination labels and its spans. Pure. The pod's labels don't reach the proxy, so Istio's
// fallbacks stand in: the workload is the pod name without the suffixes a Deployment adds (`-<replicaset hash>-<5>`),
// the canonical service is the workload without a trailing `-v<N>`, which is the canonical revision (else "latest").
import type { Workload } from "./stats.js";

export interface ProxyIdentity {
  nodeId: string;
  ip: string;
  workload: Workload;
}

const DEPLOYMENT_POD = /^(.+)-[0-9a-z]{6,10}-[0-9a-z]{5}$/;
const VERSION = /^(.+)-(v\d+)$/;

/** A pod's workload name: the pod name without a Deployment's suffixes. */
export const workloadOfPod = (pod: string): string => DEPLOYMENT_POD.exec(pod)?.[1] ?? pod;

/** Istio's endpoint metadata `istio.workload`: `<workload>;<namespace>;<canonical service>;<revision>;<cluster>`. */
export function endpointWorkload(name: string, namespace: string): string {
  const v = VERSION.exec(name);
  return [name, namespace, v?.[1] ?? name, v?.[2] ?? "latest", "Kubernetes"].join(";");
}

export function identityOf(nodeId: string): ProxyIdentity | undefined {
  const parts = nodeId.split("~");
  if (parts.length !== 4) return undefined;
  const [, ip, podDotNs] = parts as [string, string, string, string];
  const dot = podDotNs.lastIndexOf(".");
  if (dot <= 0) return undefined;
  const pod = podDotNs.slice(0, dot);
  const namespace = podDotNs.slice(dot + 1);
  const name = workloadOfPod(pod);
  const v = VERSION.exec(name);
  return {
    nodeId,
    ip,
    workload: {
      name,
      namespace,
      app: v?.[1] ?? name,
      version: v?.[2] ?? "latest",
      cluster: "Kubernetes",
      principal: "unknown",
    },
  };
}
