// The flags and env of every `weft` role, declared once (see contract.ts). The CLI parses with these; the operator's
// manifests, the injector's template and its patch build their command lines from them. Pure data.
import type { Role } from "./contract.js";

/** Istio's ports and the proxy's UID, as istio-iptables uses them. */
export const PROXY_PORTS = {
  outbound: 15001,
  inbound: 15006,
  admin: 15000,
  agent: 15020,
  ready: 15021,
  stats: 15090,
} as const;
export const PROXY_UID = 1337;
/** Istio's paths in the sidecar: the projected token (audience istio-ca) and the mesh root, ConfigMap
 * istio-ca-root-cert's key root-cert.pem, which every namespace has. */
export const DEFAULT_TOKEN_FILE = "/var/run/secrets/tokens/istio-token";
export const DEFAULT_ROOT_CERT = "/var/run/secrets/istio/root-cert.pem";
export const ROOT_CERT_CONFIGMAP = "istio-ca-root-cert";
export const ROOT_CERT_KEY = "root-cert.pem";

export const operatorRole = {
  name: "operator",
  summary: "run the operator that installs MeshInstallations",
  example: "weft operator --kubeconfig ~/.kube/config --no-leader-elect",
  flags: {
    kubeconfig: {
      type: "string",
      description: "kubeconfig file (default $KUBECONFIG, then the in-cluster service account, then ~/.kube/config)",
    },
    "metrics-addr": { type: "string", default: ":8080", description: "address of Prometheus /metrics" },
    "health-addr": { type: "string", default: ":8081", description: "address of /healthz and /readyz" },
    "leader-elect": {
      type: "boolean",
      default: true,
      description: "elect a leader through the coordination.k8s.io Lease weft-operator",
    },
    "leader-election-namespace": {
      type: "string",
      env: "POD_NAMESPACE",
      default: "weft-system",
      description: "namespace of the leader Lease",
    },
    "lease-duration": {
      type: "duration",
      default: "15s",
      description: "how long a standby waits after the last renewal it saw",
    },
    "renew-deadline": {
      type: "duration",
      default: "10s",
      description: "how long the leader keeps trying to renew before it gives up",
    },
    "retry-period": { type: "duration", default: "2s", description: "interval between attempts to acquire or renew" },
    resync: { type: "duration", default: "10m", description: "periodic re-reconcile of every mesh" },
    identity: { type: "string", description: "leader-election identity (default <hostname>_<pid>)" },
    "log-level": {
      type: "string",
      env: "WEFT_LOG_LEVEL",
      default: "info",
      choices: ["trace", "debug", "info", "warn", "error"],
      description: "log level",
    },
  },
} as const satisfies Role;

export const discoveryRole = {
  name: "discovery",
  summary: "run the control plane: Istio config in, Envoy xDS out; --config-dir DIR for local mode, else Kubernetes",
  example: "weft discovery --config-dir ./config --address 127.0.0.1",
  flags: {
    "config-dir": {
      type: "string",
      description: "local mode: read Istio and Kubernetes YAML from this folder (watched) instead of an API server",
    },
    "mesh-config": {
      type: "string",
      description: "local mode: the mesh config file (the weft-mesh ConfigMap's `mesh` key, watched)",
    },
    "xds-port": { type: "port", default: 15010, description: "ADS over plaintext gRPC" },
    "monitoring-port": { type: "port", default: 15014, description: "/metrics, /ready and /debug/*" },
    address: { type: "string", default: "0.0.0.0", description: "address every port binds" },
    "webhook-port": {
      type: "int",
      min: -1,
      default: 15017,
      description: "HTTPS /inject and /validate (Kubernetes mode); -1 turns them off",
    },
    kubeconfig: {
      type: "string",
      description: "kubeconfig file (default $KUBECONFIG, then the in-cluster service account, then ~/.kube/config)",
    },
    namespace: {
      type: "string",
      env: "POD_NAMESPACE",
      default: "weft-system",
      description: "discovery's own namespace: its report ConfigMap, the CA Secret, the mesh and injector ConfigMaps",
    },
    "pod-name": {
      type: "string",
      env: "POD_NAME",
      description: "this replica's name, the key of its proxy report (default the hostname)",
    },
    mesh: {
      type: "string",
      default: "default",
      description: "the MeshInstallation served (the report's weft.dev/mesh label)",
    },
    "watch-namespace": { type: "string", description: "watch only this namespace (default all)" },
    "secure-port": {
      type: "int",
      min: -1,
      default: 15012,
      description: "the mesh CA and ADS over mTLS (TLS with the mesh CA); -1 turns it off",
    },
    "ca-dir": {
      type: "string",
      description:
        "local mode: the mesh CA's folder (ca-cert.pem, ca-key.pem and token.key, created when missing, mode 0600); without it, local mode has no CA",
    },
    "workload-cert-ttl": {
      type: "duration",
      env: "DEFAULT_WORKLOAD_CERT_TTL",
      default: "24h",
      description: "the lifetime of workload certificates (Istio's default 24h)",
    },
    "secret-review-ttl": {
      type: "duration",
      default: "1m",
      description:
        "Kubernetes mode: how long a gateway ServiceAccount's denied SubjectAccessReview (list secrets) is cached, an allowed one 5 times as long (istiod's)",
    },
  },
} as const satisfies Role;

export const proxyRole = {
  name: "proxy",
  summary:
    "run the proxy: over xDS with --discovery-address (the sidecar and the gateway), or from a static --bootstrap file",
  example: "weft proxy --discovery-address weftd.weft-system.svc:15010 --interception-mode REDIRECT",
  flags: {
    "discovery-address": {
      type: "string",
      env: "DISCOVERY_ADDRESS",
      description: "host:port of discovery's xDS; the agent is configured over ADS (over mTLS when it is --ca-address)",
    },
    "delta-xds": {
      type: "boolean",
      env: "ISTIO_DELTA_XDS",
      default: true,
      description:
        "incremental xDS (DeltaAggregatedResources): pushes carry only what changed; state of the world with --no-delta-xds, or when discovery has no delta",
    },
    "ca-address": {
      type: "string",
      env: "CA_ADDR",
      description: "host:port of the mesh CA (discovery's :15012): the workload certificate, rotated at half life",
    },
    "token-file": {
      type: "string",
      default: DEFAULT_TOKEN_FILE,
      description: "the ServiceAccount token (audience istio-ca) presented to the mesh CA",
    },
    "root-cert": {
      type: "string",
      default: DEFAULT_ROOT_CERT,
      description: "the mesh root certificate (ConfigMap istio-ca-root-cert)",
    },
    "ca-server-name": {
      type: "string",
      description: "the name the CA's certificate is checked against (default the host of --ca-address)",
    },
    "cert-ttl": {
      type: "duration",
      env: "SECRET_TTL",
      description: "the workload certificate lifetime to ask for, as Istio's agent (default the CA's: 24h)",
    },
    "service-account": {
      type: "string",
      env: "SERVICE_ACCOUNT",
      description:
        "the pod's ServiceAccount: the CSR asks for spiffe://<trust-domain>/ns/<pod-namespace>/sa/<it>, and the CA refuses it unless the token is that identity's",
    },
    "trust-domain": {
      type: "string",
      env: "TRUST_DOMAIN",
      default: "cluster.local",
      description: "the mesh's trust domain (meshConfig.trustDomain), for the identity the CSR asks for",
    },
    type: {
      type: "string",
      choices: ["sidecar", "router"],
      default: "sidecar",
      description: "the proxy's kind in its node id: sidecar, or router for a gateway",
    },
    "node-id": {
      type: "string",
      description:
        "xDS node id (default sidecar~<instance-ip>~<pod-name>.<pod-namespace>~<pod-namespace>.svc.cluster.local)",
    },
    "pod-name": {
      type: "string",
      env: "POD_NAME",
      description: "the pod's name, for the node id (default the hostname)",
    },
    "pod-namespace": {
      type: "string",
      env: "POD_NAMESPACE",
      description: "the pod's namespace, for the node id (default default)",
    },
    "instance-ip": {
      type: "string",
      env: "INSTANCE_IP",
      description: "the pod's IP, for the node id; when set, readiness and Prometheus bind 0.0.0.0",
    },
    "interception-mode": {
      type: "string",
      choices: ["NONE", "REDIRECT"],
      default: "NONE",
      description:
        "REDIRECT: iptables (weft init) sends the pod's traffic to 15001/15006; NONE: bind each listener on the node's IP",
    },
    bootstrap: { type: "string", description: "a static bootstrap file (YAML or JSON) instead of xDS" },
    agent: {
      type: "boolean",
      default: false,
      description: "with --bootstrap: run the engine as a hot-restartable child",
    },
    "binary-path": { type: "string", description: "the engine the agent runs (default this package's engine)" },
    "engines-dir": {
      type: "string",
      env: "WEFT_ENGINES_DIR",
      default: "/var/lib/weft/engines",
      description:
        "the only directory POST /hot_restart?binary_path= may take another engine from; engine bundles are <dir>/<version>/<binaryPath>",
    },
    "engine-version": {
      type: "string",
      description: "the bundle version of the engine it starts with (default this build's version)",
    },
    "engine-wait": {
      type: "duration",
      default: "60s",
      description: "how long a desired engine that is not there yet is waited for before it is reported Failed",
    },
    "engine-ready-timeout": {
      type: "duration",
      default: "30s",
      description: "how long a new engine may take to serve the config before its hot restart is refused",
    },
    "app-address": {
      type: "string",
      description: "interception NONE: where the app listens (inbound clusters to 127.0.0.1 go here)",
    },
    "outbound-port": { type: "port", description: "interception NONE: the outbound listener's port (default 15001)" },
    "admin-address": {
      type: "string",
      description:
        "address of the admin port: loopback only (default 127.0.0.1; when the node's IP is loopback, as in local mode, that IP)",
    },
    "admin-port": {
      type: "port",
      description: "admin: /config_dump, /stats, /ready (default 15000, or the bootstrap's)",
    },
    "stats-port": { type: "port", description: "Prometheus /stats/prometheus (default 15090)" },
    "ready-port": { type: "port", description: "readiness /healthz/ready (default 15021)" },
    "access-log": {
      type: "boolean",
      default: false,
      description: "log every request (JSON lines on stdout), whatever the mesh config says",
    },
    "drain-seconds": {
      type: "int",
      min: 0,
      default: 5,
      description: "how long an old engine drains on hot restart or shutdown",
    },
    concurrency: {
      type: "int",
      min: 0,
      default: 1,
      description:
        "engine worker processes sharing the listeners, circuit breakers and local rate limits, as ProxyConfig concurrency (0: one per core)",
    },
  },
} as const satisfies Role;

export const initRole = {
  name: "init",
  summary:
    "set up the pod's traffic capture (iptables REDIRECT, as istio-iptables): outbound TCP to 15001, inbound to 15006",
  example: "weft init --proxy-uid 1337 --exclude-inbound-ports 15090,15021,15020 --dry-run",
  flags: {
    "outbound-port": {
      type: "port",
      min: 1,
      default: PROXY_PORTS.outbound,
      description: "where outbound TCP is redirected (virtualOutbound)",
    },
    "inbound-port": {
      type: "port",
      min: 1,
      default: PROXY_PORTS.inbound,
      description: "where inbound TCP is redirected (virtualInbound)",
    },
    "proxy-uid": {
      type: "int",
      min: 0,
      default: PROXY_UID,
      description: "the proxy's UID: its own traffic is never redirected",
    },
    "proxy-gid": {
      type: "int",
      min: 0,
      default: PROXY_UID,
      description: "the proxy's GID: its own traffic is never redirected",
    },
    "inbound-ports": {
      type: "string",
      default: "*",
      description: "inbound ports to capture: * for all, or a comma-separated list",
    },
    "exclude-inbound-ports": {
      type: "string",
      default: "15090,15021,15020",
      description: "inbound ports never captured (comma-separated)",
    },
    "exclude-outbound-ports": {
      type: "string",
      default: "",
      description: "outbound destination ports never captured (comma-separated)",
    },
    "outbound-cidrs": {
      type: "string",
      default: "*",
      description: "outbound destinations to capture: * for all, or comma-separated CIDRs",
    },
    "exclude-outbound-cidrs": {
      type: "string",
      default: "",
      description: "outbound destinations never captured (comma-separated CIDRs)",
    },
    "dry-run": {
      type: "boolean",
      default: false,
      description: "print the iptables-restore input instead of applying it",
    },
  },
} as const satisfies Role;

export const carrierRole = {
  name: "carrier",
  summary: "the engine carrier container: copy this image's engine to <engines-dir>/<version>/, then wait for SIGTERM",
  example:
    "weft carrier --engines-dir /var/lib/weft/engines --path /usr/local/bin/weft-engine --path /usr/local/lib/weft",
  flags: {
    "engines-dir": {
      type: "string",
      env: "WEFT_ENGINES_DIR",
      default: "/var/lib/weft/engines",
      description: "the directory shared with weft-proxy (an emptyDir)",
    },
    "engine-version": {
      type: "string",
      description: "the bundle's name: this image's version (default this build's version)",
    },
    path: {
      type: "string",
      default: "/usr/local/bin/weft-engine,/usr/local/lib/weft",
      description: "comma-separated absolute paths in this image to carry",
    },
  },
} as const satisfies Role;

export const versionRole = {
  name: "version",
  summary: "print the version",
  example: "weft version",
  flags: {},
} as const satisfies Role;
