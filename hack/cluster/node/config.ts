// The real node's configuration files, rendered from the layout. Pure.
// Settings this kind of VM needs (measured): containerd restrict_oom_score_adj (a negative
// oom_score_adj is denied), runc (crun refuses the hybrid cgroup v1 layout), and a kubelet on
// cgroupfs without QoS cgroups, node allocatable enforcement, swap check or iptables chains.
import { stringify } from "yaml";
import { KUBECONFIG, NODE, PORTS, path } from "../layout.js";

export const PAUSE_IMAGE = "localhost/weft/pause:1";

export const nodePaths = {
  containerdConfig: path("node", "containerd.toml"),
  containerdSocket: path("node", "containerd.sock"),
  containerdRoot: path("node", "containerd", "root"),
  containerdState: path("node", "containerd", "state"),
  runcRoot: path("node", "runc"),
  cniConf: path("node", "cni", "net.d"),
  cniIpam: path("node", "cni", "ipam"),
  kubeletConfig: path("node", "kubelet.yaml"),
  kubeletRoot: path("node", "kubelet"),
  corefile: path("node", "Corefile"),
  registryHosts: path("node", "containerd", "certs.d"),
};

/**
 * The registries whose pulls the node sends to loopback instead: every image here comes from `npm run image`, and
 * a missing one (a test's deliberate "missing tag") must fail at once, without a packet leaving the machine.
 * Port 9 (discard) has no listener, so the pull is refused. containerd 1.6 has no catch-all host, hence the list.
 */
export const NO_PULL_REGISTRIES = [
  "ghcr.io",
  "docker.io",
  "registry.k8s.io",
  "quay.io",
  "gcr.io",
  "registry.example.com",
];

/** hosts.toml for one of NO_PULL_REGISTRIES: its only server is loopback (no fallback to the real registry). */
export function noPullHostsToml(): string {
  return `server = "http://127.0.0.1:9"\n`;
}

const q = (s: string) => JSON.stringify(s);

export function containerdToml(): string {
  const cri = `plugins."io.containerd.grpc.v1.cri"`;
  return `version = 2
root = ${q(nodePaths.containerdRoot)}
state = ${q(nodePaths.containerdState)}
oom_score = 0
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]

[grpc]
  address = ${q(nodePaths.containerdSocket)}

[ttrpc]
  address = ${q(`${nodePaths.containerdSocket}.ttrpc`)}

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = ${q(path("node", "containerd", "opt"))}

[${cri}]
  sandbox_image = ${q(PAUSE_IMAGE)}
  restrict_oom_score_adj = true
  # Pods' network namespaces live under the node's state dir, so \`down\` finds exactly ours.
  netns_mounts_under_state_dir = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

[${cri}.registry]
  config_path = ${q(nodePaths.registryHosts)}

[${cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[${cri}.containerd.runtimes.runc.options]
  BinaryName = "/usr/sbin/runc"
  Root = ${q(nodePaths.runcRoot)}
  SystemdCgroup = false

[${cri}.cni]
  bin_dir = "/usr/lib/cni"
  conf_dir = ${q(nodePaths.cniConf)}
  max_conf_num = 1
`;
}

/** The bridge network: pods get an address of the node's /24 on the cluster's bridge; no masquerade, no port maps. */
export function cniConflist(): string {
  return JSON.stringify(
    {
      cniVersion: "0.4.0",
      name: "weft",
      plugins: [
        {
          type: "bridge",
          bridge: NODE.bridge,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: "host-local",
            dataDir: nodePaths.cniIpam,
            ranges: [[{ subnet: NODE.podCidr, gateway: NODE.ip }]],
            routes: [{ dst: "0.0.0.0/0" }],
          },
        },
        { type: "loopback" },
      ],
    },
    null,
    2,
  );
}

export function kubeletYaml(tls: { caFile: string; certFile: string; keyFile: string }): string {
  return stringify({
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    address: NODE.ip,
    port: PORTS.kubelet,
    readOnlyPort: 0,
    healthzBindAddress: "127.0.0.1",
    healthzPort: PORTS.kubeletHealthz,
    tlsCertFile: tls.certFile,
    tlsPrivateKeyFile: tls.keyFile,
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: tls.caFile } },
    authorization: { mode: "Webhook" },
    clusterDNS: [NODE.ip],
    clusterDomain: "cluster.local",
    cgroupDriver: "cgroupfs",
    failCgroupV1: false,
    cgroupsPerQOS: false,
    enforceNodeAllocatable: [],
    failSwapOn: false,
    makeIPTablesUtilChains: false,
    containerRuntimeEndpoint: `unix://${nodePaths.containerdSocket}`,
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: { "memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%" },
    serializeImagePulls: false,
    resolvConf: path("node", "resolv.conf"),
    registerNode: true,
    registerWithTaints: [],
    nodeStatusReportFrequency: "10s",
    syncFrequency: "10s",
    fileCheckFrequency: "5s",
    volumeStatsAggPeriod: "0s",
  });
}

export function kubeletArgs(): string[] {
  return [
    `--config=${nodePaths.kubeletConfig}`,
    `--kubeconfig=${KUBECONFIG}`,
    `--root-dir=${nodePaths.kubeletRoot}`,
    `--hostname-override=${NODE.name}`,
    `--node-ip=${NODE.ip}`,
    `--node-labels=type=real,weft.dev/node=real`,
    "--v=1",
  ];
}

export function kubeProxyArgs(): string[] {
  return [
    `--kubeconfig=${KUBECONFIG}`,
    `--hostname-override=${NODE.name}`,
    "--proxy-mode=iptables",
    `--cluster-cidr=${NODE.podCidr}`,
    // Replies from a pod on the bridge would skip the host's reverse NAT; masquerading makes them come back through it.
    "--masquerade-all=true",
    `--nodeport-addresses=${NODE.ip}/32`,
    `--healthz-bind-address=127.0.0.1:${PORTS.kubeProxyHealthz}`,
    `--metrics-bind-address=127.0.0.1:${PORTS.kubeProxyMetrics}`,
    "--conntrack-max-per-core=0",
    // A port it can't bind is fatal, so `cluster up` says so instead of waiting for a health check.
    "--bind-address-hard-fail=true",
    "--v=1",
  ];
}

/** Cluster names only: nothing is forwarded off the machine, so any other name is NXDOMAIN. */
export function corefile(): string {
  return `.:53 {
    bind ${NODE.ip}
    errors
    health 127.0.0.1:${PORTS.corednsHealth}
    ready 127.0.0.1:${PORTS.corednsReady}
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig ${KUBECONFIG} weft
        pods insecure
    }
    cache 30
}
`;
}
