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
// A /16 either way: room for tens of thousands of Services (bench:scale makes thousands at once).
export const SERVICE_CIDR = REAL_NODE ? "10.96.0.0/16" : "127.16.0.0/16";
export const KUBERNETES_SERVICE_IP = REAL_NODE ? "10.96.0.1" : "127.16.0.1";
/** KWOK's fallback pool; each KWOK node has its own range (fakeNodes()), which KWOK uses first. */
export const POD_CIDR = "10.244.0.1/24";
/** Pods per KWOK node: its range is a /22 (1,022 addresses). */
export const KWOK_NODE_PODS = 1000;
export const DEFAULT_KWOK_NODES = 2;

/**
 * The KWOK nodes, each with its own /22 of 10.244.0.0/16 (so up to 63 of them), skipping the /22 that holds the
 * real node's /24. Pure.
 */
export function fakeNodes(count = DEFAULT_KWOK_NODES): { name: string; podCidr: string }[] {
  const realBlock = Number(NODE.podCidr.split(".")[2]) >> 2;
  const blocks = Array.from({ length: 64 }, (_, b) => b).filter((b) => b !== realBlock);
  if (!Number.isInteger(count) || count < 1 || count > blocks.length)
    throw new Error(`--kwok-nodes ${count}: between 1 and ${blocks.length}`);
  return blocks.slice(0, count).map((b, i) => ({ name: `kwok-node-${i}`, podCidr: `10.244.${b * 4}.0/22` }));
}
export const FAKE_NODES = fakeNodes().map((n) => n.name);

export const path = (...parts: string[]) => join(STATE_DIR, ...parts);
