// The real node, weft-node-0: containerd (runc, the CNI bridge), kubelet, kube-proxy and CoreDNS
// as the cluster's daemons, with the images of `npm run image` imported so that nothing is pulled.
// A namespace annotated scheduler.alpha.kubernetes.io/node-selector=type=real runs its pods here.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { REPO_ROOT, STATE_DIR, PORTS, path } from "../layout.js";
import { files } from "../secrets.js";
import { images } from "../../image/main.js";
import { okAt, type Component } from "../components.js";
import {
  containerdToml,
  cniConflist,
  corefile,
  kubeProxyArgs,
  kubeletArgs,
  kubeletYaml,
  nodePaths,
  NO_PULL_REGISTRIES,
  noPullHostsToml,
} from "./config.js";
import { setUp, tearDown } from "./net.js";

/** What the node needs from the machine, with the command that installs it. */
const TOOLS: Array<[string, string]> = [
  ["/usr/bin/containerd", "containerd"],
  ["/usr/bin/ctr", "containerd"],
  ["/usr/sbin/runc", "runc"],
  ["/usr/lib/cni/bridge", "containernetworking-plugins"],
  ["/usr/sbin/iptables", "iptables"],
  ["/usr/sbin/ip", "iproute2"],
];

export function checkMachine(): void {
  if (process.getuid?.() !== 0) throw new Error("the real node needs root (or WEFT_REAL_NODE=0 for KWOK nodes only)");
  const missing = TOOLS.filter(([f]) => !existsSync(f)).map(([, pkg]) => pkg);
  if (missing.length) throw new Error(`the real node needs: apt-get install -y ${[...new Set(missing)].join(" ")}`);
}

/** kubelet, kube-proxy and CoreDNS, built by hack/kube/build.sh node (cached by version). */
export function nodeBinaries(): string {
  return execFileSync(`${REPO_ROOT}/hack/kube/build.sh`, ["node"], {
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
  }).trim();
}

const ctr = (...args: string[]) =>
  execFileSync("/usr/bin/ctr", ["--address", nodePaths.containerdSocket, ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });

export function nodeComponents(bin: string): Component[] {
  return [
    {
      name: "containerd",
      bin: "/usr/bin/containerd",
      args: ["--config", nodePaths.containerdConfig],
      // Images come from `npm run image` only: a pull would dial this proxy, which refuses it.
      env: { HTTPS_PROXY: "http://127.0.0.1:9", HTTP_PROXY: "http://127.0.0.1:9", NO_PROXY: "" },
      ready: async () => {
        try {
          ctr("version");
          return true;
        } catch {
          return false;
        }
      },
    },
    {
      name: "kubelet",
      bin: `${bin}/kubelet`,
      args: kubeletArgs(),
      ready: () => okAt(`http://127.0.0.1:${PORTS.kubeletHealthz}/healthz`),
    },
    {
      name: "kube-proxy",
      bin: `${bin}/kube-proxy`,
      args: kubeProxyArgs(),
      ready: () => okAt(`http://127.0.0.1:${PORTS.kubeProxyHealthz}/healthz`),
    },
    {
      name: "coredns",
      bin: `${bin}/coredns`,
      args: ["-conf", nodePaths.corefile],
      ready: () => okAt(`http://127.0.0.1:${PORTS.corednsReady}/ready`),
    },
  ];
}

/** Files and host networking the daemons need; idempotent. */
export function prepare(): void {
  for (const d of [
    nodePaths.containerdRoot,
    nodePaths.containerdState,
    nodePaths.runcRoot,
    nodePaths.cniConf,
    nodePaths.cniIpam,
    nodePaths.kubeletRoot,
  ]) {
    mkdirSync(d, { recursive: true });
  }
  writeFileSync(nodePaths.containerdConfig, containerdToml());
  for (const registry of NO_PULL_REGISTRIES) {
    mkdirSync(`${nodePaths.registryHosts}/${registry}`, { recursive: true });
    writeFileSync(`${nodePaths.registryHosts}/${registry}/hosts.toml`, noPullHostsToml());
  }
  writeFileSync(`${nodePaths.cniConf}/10-weft.conflist`, cniConflist());
  writeFileSync(
    nodePaths.kubeletConfig,
    kubeletYaml({ caFile: files.caCert, certFile: files.kubeletCert, keyFile: files.kubeletKey }),
  );
  writeFileSync(path("node", "resolv.conf"), "# The cluster's DNS answers cluster names only; there is no upstream.\n");
  writeFileSync(nodePaths.corefile, corefile());
  setUp();
}

/** The manifest digest an archive holds (its index.json). */
const archiveDigest = (archive: string) =>
  (
    JSON.parse(execFileSync("tar", ["-xOf", archive, "index.json"], { encoding: "utf8" })) as {
      manifests: Array<{ digest: string }>;
    }
  ).manifests[0]?.digest;

/** Imports the archives of `npm run image` into the node's k8s.io namespace, unless already there; builds them first if
 * missing. With a version: only the weft image of that version (`npm run image -- --version V`). */
export function importImages(say: (m: string) => void, version?: string): void {
  const all = version ? [images(version).weft] : Object.values(images());
  if (all.some((i) => !existsSync(i.archive))) {
    say(`images missing: running npm run image${version ? ` -- --version ${version}` : ""}`);
    execFileSync(
      process.execPath,
      [`${REPO_ROOT}/dist/hack/image/main.js`, ...(version ? ["--version", version] : [])],
      {
        stdio: ["ignore", "inherit", "inherit"],
      },
    );
  }
  const present = ctr("-n", "k8s.io", "images", "ls");
  for (const i of all) {
    const digest = archiveDigest(i.archive);
    if (digest && present.split("\n").some((l) => l.startsWith(`${i.ref} `) && l.includes(digest))) continue;
    ctr("-n", "k8s.io", "images", "import", "--all-platforms", i.archive);
    say(`imported ${i.ref}`);
  }
}

/** Mount points under the cluster's folder, deepest first. */
export function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4]?.replace(/\\040/g, " ") ?? "")
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** Kills every container runc runs for this node, whatever state containerd is in. */
export function killContainers(): void {
  if (!existsSync(nodePaths.runcRoot)) return;
  let ids: string[] = [];
  try {
    ids = execFileSync("/usr/sbin/runc", ["--root", nodePaths.runcRoot, "list", "-q"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    })
      .split("\n")
      .filter(Boolean);
  } catch {
    return;
  }
  for (const id of ids) {
    try {
      execFileSync("/usr/sbin/runc", ["--root", nodePaths.runcRoot, "delete", "--force", id], { stdio: "ignore" });
    } catch {
      // already gone
    }
  }
}

/**
 * Every process left in a container cgroup of containerd's CRI namespace (k8s.io), killed. runc's state can be gone
 * (a state directory removed by hand, an `up` that failed half way) while its containers run on, orphaned, holding
 * pod IPs and ports; the machine has one real node, so what runs under k8s.io is this node's. Returns the count.
 */
export function killPodCgroups(): number {
  let killed = 0;
  for (const root of ["/sys/fs/cgroup/pids/k8s.io", "/sys/fs/cgroup/unified/k8s.io", "/sys/fs/cgroup/k8s.io"]) {
    if (!existsSync(root)) continue;
    for (const id of readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory())) {
      const procs = `${root}/${id.name}/cgroup.procs`;
      const pids = existsSync(procs) ? readFileSync(procs, "utf8").split("\n").filter(Boolean).map(Number) : [];
      for (const pid of pids) {
        try {
          process.kill(pid, "SIGKILL");
          killed++;
        } catch {
          // already gone
        }
      }
    }
  }
  return killed;
}

/** After the node's processes are stopped: network namespaces, mounts, iptables, the bridge. */
export function cleanUp(): string[] {
  const left: string[] = [];
  // Pods' network namespaces are mounts under the state dir too; the last unmount ends each, and its veth with it.
  for (const m of mountsUnder(STATE_DIR)) {
    try {
      execFileSync("umount", [m], { stdio: "ignore" });
    } catch {
      try {
        execFileSync("umount", ["-l", m], { stdio: "ignore" });
      } catch {
        left.push(`mount ${m}`);
      }
    }
  }
  tearDown();
  return left;
}

export const hasNodeState = () => existsSync(path("node"));
export const removeNodeState = () => rmSync(path("node"), { recursive: true, force: true });
