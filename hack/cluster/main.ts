// npm run cluster -- up [--kwok-nodes N]|down|status: a local Kubernetes of real components (etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler) plus KWOK for fake nodes,
// built from the Go module proxy by hack/kube/build.sh and cached by version.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { parseArgs } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import { KUBECONFIG, fakeNodes, NODE, REAL_NODE, REPO_ROOT, STATE_DIR, path } from "./layout.js";
import { components, type Component } from "./components.js";
import { ensureSecrets } from "./secrets.js";
import { clearPidFile, exitOf, logFile, pidsNamed, runningPid, start, stop, strayPids } from "./proc.js";
import { ensureNodes, hasDefaultServiceAccount, readyNodes } from "./nodes.js";
import {
  checkMachine,
  cleanUp,
  hasNodeState,
  importImages,
  killContainers,
  killPodCgroups,
  mountsUnder,
  nodeBinaries,
  nodeComponents,
  prepare,
} from "./node/node.js";
import { bridgeExists, tearDown } from "./node/net.js";

const say = (msg: string) => process.stderr.write(`cluster: ${msg}\n`);

async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  logName?: string,
  process?: string,
): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (process && !runningPid(process)) {
      await new Promise((r) => setTimeout(r, 200)); // for the exit event, which follows SIGCHLD
      throw new Error(
        `${what} exited (${exitOf(process) ?? "status unknown"}); see ${logFile(process)}:\n${tail(logFile(process)) || "(empty)"}`,
      );
    }
    if (Date.now() - started > timeoutMs) {
      throw new Error(`${what} not ready after ${timeoutMs / 1000}s` + (logName ? `; see ${logFile(logName)}` : ""));
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  say(`${what} ready (${((Date.now() - started) / 1000).toFixed(1)}s)`);
}

const tail = (file: string) =>
  existsSync(file) ? readFileSync(file, "utf8").trimEnd().split("\n").slice(-5).join("\n") : "(no log)";

function binaries(): string {
  // build.sh prints progress on stderr and the cache directory on stdout.
  return execFileSync(`${REPO_ROOT}/hack/kube/build.sh`, {
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
  }).trim();
}

export async function up(kwokNodes?: number): Promise<void> {
  const started = Date.now();
  const nodes = fakeNodes(kwokNodes);
  const names = nodes.map((n) => n.name);
  const bin = binaries();
  await ensureSecrets();
  await startAll(components(bin));
  const kc = new KubeConfig();
  kc.loadFromFile(KUBECONFIG);
  await ensureNodes(kc, nodes);
  await waitFor(
    `${names.length} KWOK nodes`,
    async () => (await readyNodes(kc)).filter((n) => names.includes(n)).length >= names.length,
    60_000,
    "kwok",
  );
  await waitFor("service accounts", () => hasDefaultServiceAccount(kc), 60_000, "kube-controller-manager");
  if (REAL_NODE) {
    try {
      await nodeUp(kc);
    } catch (err) {
      say(`the real node failed; taking the cluster down (its logs stay in ${path("logs")})`);
      await down({ keepLogs: true });
      throw err;
    }
  }
  say(`up in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  process.stdout.write(`export KUBECONFIG=${KUBECONFIG}\n`);
}

async function startAll(list: Component[], after?: (c: Component) => void): Promise<void> {
  for (const c of list) {
    if (!(runningPid(c.name) && (await c.ready()))) {
      start(c);
      say(`${c.name} started`);
      try {
        await waitFor(c.name, () => c.ready(), 60_000, c.name, c.name);
      } catch (err) {
        if (runningPid(c.name)) throw err; // not ready in time: a second start would not help
        // It died before it was ready: say how, and give it one more start (a second death is fatal).
        say(`${err instanceof Error ? err.message : String(err)}\nstarting ${c.name} once more`);
        start(c);
        await waitFor(c.name, () => c.ready(), 60_000, c.name, c.name);
      }
    } else say(`${c.name} already running`);
    after?.(c);
  }
}

/** weft-node-0: its files and network, then containerd (and the images), kubelet, kube-proxy, CoreDNS. */
async function nodeUp(kc: KubeConfig): Promise<void> {
  checkMachine();
  if (!hasNodeState() && bridgeExists()) {
    const daemons = pidsNamed(["kubelet", "containerd"]);
    if (daemons.length)
      throw new Error(
        `bridge ${NODE.bridge} exists and kubelet or containerd runs (pid ${daemons.join(", ")}): another real node runs on this machine (its cluster's \`down\` removes it)`,
      );
    // A node that died without `down` (a killed run, a machine image taken while one ran): nothing owns it.
    say(`bridge ${NODE.bridge} is left from a node that no longer runs; removing it and its rules`);
    killPodCgroups();
    tearDown();
  }
  mkdirSync(path("node"), { recursive: true });
  const bin = nodeBinaries();
  prepare();
  await startAll(nodeComponents(bin), (c) => c.name === "containerd" && importImages(say));
  await waitFor(`node ${NODE.name}`, async () => (await readyNodes(kc)).includes(NODE.name), 120_000, "kubelet");
}

const pidsOf = (list: Component[]) => list.map((c) => runningPid(c.name)).filter((p): p is number => p !== undefined);

export async function down(opts: { keepLogs?: boolean } = {}): Promise<void> {
  const bin = "/nonexistent"; // names only: nothing is started
  const [containerd, ...nodeDaemons] = nodeComponents(bin);
  let stopped = 0;
  if (hasNodeState()) {
    // The kubelet first, so that it restarts nothing; then the containers; then containerd and its shims.
    const first = pidsOf(nodeDaemons);
    await stop(first);
    killContainers();
    const rest = [...pidsOf(containerd ? [containerd] : []), ...strayPids()];
    await stop(rest);
    stopped += first.length + rest.length;
  }
  if (REAL_NODE) stopped += killPodCgroups();
  const all = [...new Set([...pidsOf(components(bin).reverse()), ...strayPids()])];
  await stop(all);
  stopped += all.length;
  for (const c of [...components(bin), ...nodeComponents(bin)]) clearPidFile(c.name);
  const left = hasNodeState() ? cleanUp() : [];
  left.push(...mountsUnder(STATE_DIR).map((m) => `mount ${m}`));
  // Never delete through a mount point.
  if (left.length) throw new Error(`could not remove ${left.join(", ")}; ${STATE_DIR} is kept`);
  if (opts.keepLogs && existsSync(STATE_DIR)) {
    for (const f of readdirSync(STATE_DIR)) if (f !== "logs") rmSync(path(f), { recursive: true, force: true });
  } else rmSync(STATE_DIR, { recursive: true, force: true });
  say(stopped ? `stopped ${stopped} processes and removed ${STATE_DIR}` : "nothing was running");
}

export async function status(): Promise<boolean> {
  if (!existsSync(KUBECONFIG)) {
    say("down");
    return false;
  }
  let healthy = true;
  const nodeDaemons = hasNodeState() ? nodeComponents("/nonexistent") : [];
  for (const c of [...components("/nonexistent"), ...nodeDaemons]) {
    const pid = runningPid(c.name);
    const ready = pid !== undefined && (await c.ready());
    healthy &&= ready;
    process.stdout.write(
      `${c.name.padEnd(24)} ${pid ? `pid ${pid}`.padEnd(12) : "stopped".padEnd(12)} ${ready ? "ready" : "not ready"}\n`,
    );
  }
  if (healthy) process.stdout.write(`export KUBECONFIG=${KUBECONFIG}\n`);
  return healthy;
}

async function main(cmd: string | undefined, args: string[]): Promise<number> {
  switch (cmd) {
    case "up": {
      const { values } = parseArgs({ args, options: { "kwok-nodes": { type: "string" } } });
      await up(values["kwok-nodes"] === undefined ? undefined : Number(values["kwok-nodes"]));
      return 0;
    }
    case "down":
      await down();
      return 0;
    case "status":
      return (await status()) ? 0 : 1;
    default:
      process.stderr.write("usage: npm run cluster -- up [--kwok-nodes N] | down | status\n");
      return 2;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv[2], process.argv.slice(3)).then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      say(`error: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    },
  );
}
