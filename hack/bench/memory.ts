// npm run bench:memory — the sidecar's memory as a node pays for it: the agent and its engine child together, idle
// and after wrk -c128, in front of a tiny backend. "Together" is both processes' private pages plus their shared
// pages once (the Node binary and libraries, mapped by both): what a pod's cgroup is charged, unlike the sum of
// RSS, which counts the binary twice. Prints RSS, private (USS) and shared per process. Asserts nothing.
//   env: BENCH_AGENT_NODE_ARGS (node flags for the agent), WEFT_ENGINE_NODE_ARGS (for the engine),
//        BENCH_DURATION (default 10s)
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanup, ensureTools, freePort, runBench, startBackend, startWeft, waitPort } from "./common.js";

interface Mem {
  rss: number;
  private: number;
  shared: number;
}

function memory(pid: number): Mem {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? NaN) / 1024;
  return {
    rss: kb("Rss"),
    private: kb("Private_Clean") + kb("Private_Dirty"),
    shared: kb("Shared_Clean") + kb("Shared_Dirty"),
  };
}

function children(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
}

const mb = (n: number) => `${n.toFixed(1)} MB`;

function report(label: string, agentPid: number): void {
  const enginePid = children(agentPid)[0];
  if (enginePid === undefined) throw new Error("the agent has no engine child");
  const [a, e] = [memory(agentPid), memory(enginePid)];
  const together = a.private + e.private + Math.max(a.shared, e.shared);
  process.stdout.write(
    `${label.padEnd(12)} agent rss ${mb(a.rss)} private ${mb(a.private)} | engine rss ${mb(e.rss)} private ${mb(e.private)} | shared ${mb(e.shared)} | together ${mb(together)} (sum of RSS ${mb(a.rss + e.rss)})\n`,
  );
}

async function main(): Promise<void> {
  ensureTools();
  const dir = mkdtempSync(join(tmpdir(), "weft-memory-"));
  const [backendPort, port] = [await freePort(), await freePort()];
  startBackend(dir, backendPort);
  const args = (process.env.BENCH_AGENT_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const agent = startWeft(dir, port, backendPort, args, true);
  await Promise.all([waitPort(backendPort), waitPort(port)]);
  if (agent.pid === undefined) throw new Error("the agent did not start");
  execFileSync("wrk", ["-t1", "-c1", "-d1s", `http://127.0.0.1:${port}/`]); // one request path warmed up
  await new Promise((r) => setTimeout(r, 2000));
  report("idle", agent.pid);
  const duration = process.env.BENCH_DURATION ?? "10s";
  execFileSync("wrk", ["-t1", "-c128", `-d${duration}`, `http://127.0.0.1:${port}/`]);
  report("after c=128", agent.pid);
  cleanup();
}

runBench(main);
