// Where the process cluster keeps its state, and the loopback ports it uses.
import { join } from "node:path";
import { REPO_ROOT } from "../paths.js";

export { REPO_ROOT };
export const STATE_DIR = process.env.WEFT_CLUSTER_DIR ?? join(REPO_ROOT, ".weft", "cluster");
export const KUBECONFIG = join(STATE_DIR, "kubeconfig");

// WEFT_CLUSTER_PORT_OFFSET lets a second cluster run beside the first (the cluster's own test).
const offset = Number(process.env.WEFT_CLUSTER_PORT_OFFSET ?? 0);
export const PORTS = {
  etcdClient: 23790 + offset,
  etcdPeer: 23800 + offset,
  apiserver: 26443 + offset,
  controllerManager: 20257 + offset,
  scheduler: 20259 + offset,
  kwok: 20247 + offset,
  kubelet: 20250 + offset,
  kubeletHealthz: 20248 + offset,
  kubeProxyHealthz: 20256 + offset,
  kubeProxyMetrics: 20249 + offset,
  corednsHealth: 20280 + offset,
  corednsReady: 20281 + offset,
} as const;

/**
 * The real node (containerd, runc, the CNI bridge, kubelet, kube-proxy, CoreDNS) runs when
 * WEFT_REAL_NODE=1, or by default when running as root; WEFT_REAL_NODE=0 keeps KWOK alone.
 * Only one real node can run on a machine: it owns the bridge and its address range.
 */
export const REAL_NODE = process.env.WEFT_REAL_NODE ? process.env.WEFT_REAL_NODE === "1" : process.getuid?.() === 0;
export const NODE = {
  name: "weft-node-0",
  bridge: "weft0",
  /** Pod IPs on the real node: a /24 of the pod range that KWOK never hands out. */
  podCidr: "10.244.100.0/24",
  /** The bridge's address: the pods' gateway, the node's InternalIP, and the cluster DNS. */
  ip: "10.244.100.1",
} as const;

export const SERVER = `https://127.0.0.1:${PORTS.apiserver}`;
// Without the real node, Service ClusterIPs are loopback, so the API server calling a webhook
// Service can never dial off this machine. With it, pods must reach Services, and a loopback
// ClusterIP inside a pod is the pod's own; so ClusterIPs come from 10.96.0.0/16, which the
// cluster routes onto its own bridge (hack/cluster/node/net.ts): an address that kube-proxy
// doesn't translate still never leaves the machine. Pod IPs cannot be loopback (EndpointSlice
// validation rejects 127.0.0.0/8), so KWOK hands out the usual pod range: those addresses are
// only data, and the real node routes 10.244.0.0/16 nowhere but to its own /24.
export const SERVICE_CIDR = REAL_NODE ? "10.96.0.0/16" : "127.16.0.0/24";
export const KUBERNETES_SERVICE_IP = REAL_NODE ? "10.96.0.1" : "127.16.0.1";
export const POD_CIDR = "10.244.0.1/24";
export const FAKE_NODES = ["kwok-node-0", "kwok-node-1"];

export const path = (...parts: string[]) => join(STATE_DIR, ...parts);
