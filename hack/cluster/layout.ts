// Where the process cluster keeps its state, and the loopback ports it uses.
import { fileURLToPath } from "node:url";
import { join } from "node:path";

export const REPO_ROOT = fileURLToPath(new URL("../../..", import.meta.url)).replace(/\/$/, "");
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
// Services and pods get loopback addresses, so anything that dials them (the API server
// calling a webhook Service, a test reaching a pod IP) can never leave this machine.
export const SERVICE_CIDR = "127.16.0.0/24";
export const KUBERNETES_SERVICE_IP = "127.16.0.1";
export const POD_CIDR = "127.17.0.1/24";
export const FAKE_NODES = ["kwok-node-0", "kwok-node-1"];

export const path = (...parts: string[]) => join(STATE_DIR, ...parts);
