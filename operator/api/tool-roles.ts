// The flags of the day-two commands (`weft check`, `proxy-status`, `proxy-config`, `apply`, `delete`), declared once
// as roles.ts declares the long-running ones, and shared between them so that a flag means one thing. Pure data.
import type { Flag, Role } from "./contract.js";

const kubeconfig = {
  type: "string",
  description: "kubeconfig file (default $KUBECONFIG, then the in-cluster service account, then ~/.kube/config)",
} as const satisfies Flag;

/** Where weftd runs: its namespace in a cluster, or its :15014 address (local mode, or any reachable weftd). */
const reach = {
  kubeconfig,
  namespace: {
    type: "string",
    short: "n",
    default: "weft-system",
    description: "weftd's namespace (the MeshInstallation's spec.namespace)",
  },
  "discovery-address": {
    type: "string",
    description:
      "host:port of discovery's monitoring port (15014), e.g. local mode's; without it, every weftd pod is reached through the API server's pod proxy",
  },
} as const satisfies Record<string, Flag>;

export const checkRole = {
  name: "check",
  summary: "check the installation (or, with --pre, the cluster before installing); exit 1 if a check fails",
  example: "weft check --pre && kubectl apply -f operator/deploy/ && weft check",
  flags: {
    pre: {
      type: "boolean",
      default: false,
      description: "before installing: API server version, RBAC, that the CRDs can be installed",
    },
    kubeconfig,
    mesh: { type: "string", description: "check this MeshInstallation only (default every one)" },
    "operator-namespace": {
      type: "string",
      default: "weft-system",
      description: "the namespace of the operator's leader Lease (its --leader-election-namespace)",
    },
    "webhook-address": {
      type: "string",
      description:
        "host:port where weftd's webhooks answer, to verify the served certificate against each caBundle (default: the webhook's URL when it has one; a Service-backed one is checked against the mesh CA)",
    },
  },
} as const satisfies Role;

export const proxyStatusRole = {
  name: "proxy-status",
  summary: "every connected proxy's CDS/LDS/EDS/RDS sync state, engine version and discovery replica",
  example: "weft proxy-status -n weft-system    # local mode: weft proxy-status --discovery-address 127.0.10.1:15014",
  flags: { ...reach },
} as const satisfies Role;

export const dashboardRole = {
  name: "dashboard",
  summary:
    "the live service graph (workloads, calls with rate, success and p50/p99 latency): prints its URL, opens a browser",
  example: "weft dashboard -n weft-system    # local mode: weft dashboard --discovery-address 127.0.10.1:15014",
  flags: {
    ...reach,
    port: {
      type: "port",
      default: 0,
      description: "in a cluster: the local port that forwards to weftd (default: one the OS picks)",
    },
    browser: { type: "boolean", default: true, description: "open the URL in a browser when there is a display" },
  },
} as const satisfies Role;

export const CONFIG_TYPES = ["all", "clusters", "listeners", "routes", "endpoints", "secrets"] as const;
export type ConfigType = (typeof CONFIG_TYPES)[number];

export const proxyConfigRole = {
  name: "proxy-config",
  summary: "a proxy's clusters, listeners, routes, endpoints or secrets, from its own /config_dump",
  example: "weft proxy-config productpage-v1-7d8f.bookinfo routes -o json",
  flags: {
    ...reach,
    output: {
      type: "string",
      short: "o",
      choices: ["short", "json", "yaml"],
      default: "short",
      description: "short: a table; json or yaml: the resources themselves",
    },
    "admin-port": { type: "port", default: 15000, description: "the proxy's admin port" },
    "admin-address": {
      type: "string",
      description:
        "host:port of the proxy's admin (default: <the proxy's IP>:<admin-port> when that IP is loopback, as in local mode; else a port-forward to the pod)",
    },
  },
  args: [
    {
      name: "pod",
      required: true,
      description: "the proxy: <pod>.<namespace>, <pod> (namespace default) or its node id",
    },
    { name: "type", choices: CONFIG_TYPES, description: "what to show (default all)" },
  ],
} as const satisfies Role;

const file = {
  file: { type: "string", short: "f", description: "the YAML file (one or more documents)" },
  "config-dir": {
    type: "string",
    env: "WEFT_CONFIG_DIR",
    description: "local mode's config folder (what `weft discovery --config-dir` watches; npm start prints it)",
  },
} as const satisfies Record<string, Flag>;

export const applyRole = {
  name: "apply",
  summary:
    "local mode's `kubectl apply -f`: validate the objects as the webhook does, then write them to the config folder",
  example: "weft apply -f samples/bookinfo/networking/virtual-service-all-v1.yaml --config-dir /tmp/weft-local/config",
  flags: { ...file },
} as const satisfies Role;

export const deleteRole = {
  name: "delete",
  summary: "local mode's `kubectl delete -f`: remove the file's objects from the config folder",
  example: "weft delete -f samples/bookinfo/networking/virtual-service-all-v1.yaml --config-dir /tmp/weft-local/config",
  flags: { ...file },
} as const satisfies Role;
