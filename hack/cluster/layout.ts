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
} as const;

export const SERVER = `https://127.0.0.1:${PORTS.apiserver}`;
// Service ClusterIPs are loopback, so the API server calling a webhook Service can never
// dial off this machine. Pod IPs cannot be loopback (EndpointSlice validation rejects
// 127.0.0.0/8), so KWOK hands out the usual pod range: those addresses are only data here,
// and nothing may send traffic to them.
export const SERVICE_CIDR = "127.16.0.0/24";
export const KUBERNETES_SERVICE_IP = "127.16.0.1";
export const POD_CIDR = "10.244.0.1/24";
export const FAKE_NODES = ["kwok-node-0", "kwok-node-1"];

export const path = (...parts: string[]) => join(STATE_DIR, ...parts);
