// npm run cluster -- up|down|status: a local Kubernetes of real components (etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler) plus KWOK for fake nodes,
// built from the Go module proxy by hack/kube/build.sh and cached by version.
import { execFileSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { KubeConfig } from "@kubernetes/client-node";
import { FAKE_NODES, KUBECONFIG, REPO_ROOT, STATE_DIR } from "./layout.js";
import { components } from "./components.js";
import { ensureSecrets } from "./secrets.js";
import { clearPidFile, logFile, runningPid, start, stop, strayPids } from "./proc.js";
import { ensureNodes, hasDefaultServiceAccount, readyNodes } from "./nodes.js";

const say = (msg: string) => process.stderr.write(`cluster: ${msg}\n`);

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, logName?: string): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) {
      throw new Error(`${what} not ready after ${timeoutMs / 1000}s` + (logName ? `; see ${logFile(logName)}` : ""));
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  say(`${what} ready (${((Date.now() - started) / 1000).toFixed(1)}s)`);
}

function binaries(): string {
  // build.sh prints progress on stderr and the cache directory on stdout.
  return execFileSync(`${REPO_ROOT}/hack/kube/build.sh`, { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" }).trim();
}

export async function up(): Promise<void> {
  const started = Date.now();
  const bin = binaries();
  await ensureSecrets();
  for (const c of components(bin)) {
    if (runningPid(c.name) && (await c.ready())) {
      say(`${c.name} already running`);
      continue;
    }
    start(c);
    say(`${c.name} started`);
    await waitFor(c.name, () => c.ready(), 60_000, c.name);
  }
  const kc = new KubeConfig();
  kc.loadFromFile(KUBECONFIG);
  await ensureNodes(kc, FAKE_NODES);
  await waitFor(`${FAKE_NODES.length} KWOK nodes`, async () => (await readyNodes(kc)).length >= FAKE_NODES.length, 60_000, "kwok");
  await waitFor("service accounts", () => hasDefaultServiceAccount(kc), 60_000, "kube-controller-manager");
  say(`up in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  process.stdout.write(`export KUBECONFIG=${KUBECONFIG}\n`);
}

export async function down(): Promise<void> {
  const bin = "/nonexistent"; // names only: nothing is started
  const pids = components(bin)
    .reverse()
    .map((c) => runningPid(c.name))
    .filter((p): p is number => p !== undefined);
  const all = [...new Set([...pids, ...strayPids()])];
  await stop(all);
  for (const c of components(bin)) clearPidFile(c.name);
  rmSync(STATE_DIR, { recursive: true, force: true });
  say(all.length ? `stopped ${all.length} processes and removed ${STATE_DIR}` : "nothing was running");
}

export async function status(): Promise<boolean> {
  if (!existsSync(KUBECONFIG)) {
    say("down");
    return false;
  }
  let healthy = true;
  for (const c of components("/nonexistent")) {
    const pid = runningPid(c.name);
    const ready = pid !== undefined && (await c.ready());
    healthy &&= ready;
    process.stdout.write(`${c.name.padEnd(24)} ${pid ? `pid ${pid}`.padEnd(12) : "stopped".padEnd(12)} ${ready ? "ready" : "not ready"}\n`);
  }
  if (healthy) process.stdout.write(`export KUBECONFIG=${KUBECONFIG}\n`);
  return healthy;
}

async function main(cmd: string | undefined): Promise<number> {
  switch (cmd) {
    case "up":
      await up();
      return 0;
    case "down":
      await down();
      return 0;
    case "status":
      return (await status()) ? 0 : 1;
    default:
      process.stderr.write("usage: npm run cluster -- up|down|status\n");
      return 2;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv[2]).then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      say(`error: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    },
  );
}
