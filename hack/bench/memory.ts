// npm run bench:memory — the sidecar's memory as a node pays for it: the agent and its engine child together, idle
// and after wrk -c128, in front of a tiny backend. "Together" is both processes' private pages plus their shared
// pages once (the Node binary and libraries, mapped by both): what a pod's cgroup is charged, unlike the sum of
// RSS, which counts the binary twice. Prints RSS, private (USS) and shared per process. Asserts nothing.
// By default the agent is configured over xDS, as sidecars run: `weft discovery` in local mode serves it a
// ServiceEntry for the backend, and wrk goes through its outbound listener. BENCH_BOOTSTRAP=1: a static bootstrap
// file instead (no xDS client, no Envoy protos in the agent).
//   env: BENCH_AGENT_NODE_ARGS (node flags for the agent), WEFT_ENGINE_NODE_ARGS (for the engine),
//        BENCH_ENGINE (the engine the agent runs, e.g. the image's bundle; default dist/'s), BENCH_DURATION (default 10s)
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { commandLine } from "../../operator/api/contract.js";
import { discoveryRole, proxyRole } from "../../operator/api/roles.js";
import { launcherNodeFlags, PROXY_PROCESS_ENV } from "../../operator/api/process-env.js";
import {
  benchBackend,
  childPids,
  cleanup,
  EPHEMERAL_PORTS,
  freePort,
  MAIN,
  runBench,
  start,
  startWeft,
  waitPort,
} from "./common.js";

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

const mb = (n: number) => `${n.toFixed(1)} MB`;

function report(label: string, agentPid: number): void {
  const enginePid = childPids(agentPid)[0];
  if (enginePid === undefined) throw new Error("the agent has no engine child");
  const [a, e] = [memory(agentPid), memory(enginePid)];
  const together = a.private + e.private + Math.max(a.shared, e.shared);
  process.stdout.write(
    `${label.padEnd(12)} agent rss ${mb(a.rss)} private ${mb(a.private)} | engine rss ${mb(e.rss)} private ${mb(e.private)} | shared ${mb(e.shared)} | together ${mb(together)} (sum of RSS ${mb(a.rss + e.rss)})\n`,
  );
}

const HOST = "backend.bench.local";
/** The sidecar's own address (its outbound listener binds there); not the backend's, or it would be the backend's own sidecar. */
const SIDECAR_IP = "127.0.0.2";

/** Discovery (local mode) with a ServiceEntry for the backend, and an agent configured by it; wrk's target. */
async function xdsSidecar(
  dir: string,
  backendPort: number,
  agentArgs: string[],
): Promise<{ pid: number; host: string; port: number }> {
  const [xds, monitoring, outbound] = [await freePort(), await freePort(), await freePort()];
  writeFileSync(
    join(dir, "backend.yaml"),
    `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: backend, namespace: default }
spec:
  hosts: [${HOST}]
  ports: [{ number: 80, name: http, protocol: HTTP, targetPort: ${backendPort} }]
  resolution: STATIC
  location: MESH_INTERNAL
  endpoints: [{ address: 127.0.0.1 }]
`,
  );
  const discovery = { "config-dir": dir, address: "127.0.0.1", "xds-port": xds, "monitoring-port": monitoring };
  start(process.execPath, [MAIN, ...commandLine(discoveryRole, discovery)]);
  await waitPort(xds);
  const sidecar = {
    "discovery-address": `127.0.0.1:${xds}`,
    "node-id": `sidecar~${SIDECAR_IP}~bench.default~default.svc.cluster.local`,
    "outbound-port": outbound,
    ...EPHEMERAL_PORTS,
    ...(process.env.BENCH_ENGINE ? { "binary-path": process.env.BENCH_ENGINE } : {}),
  };
  const agent = start(
    process.execPath,
    [...launcherNodeFlags(PROXY_PROCESS_ENV), ...agentArgs, MAIN, ...commandLine(proxyRole, sidecar)],
    PROXY_PROCESS_ENV,
  );
  await waitPort(outbound, SIDECAR_IP);
  if (agent.pid === undefined) throw new Error("the agent did not start");
  return { pid: agent.pid, host: SIDECAR_IP, port: outbound };
}

async function main(): Promise<void> {
  const { dir, backendPort } = await benchBackend("memory");
  const args = (process.env.BENCH_AGENT_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const bootstrap = process.env.BENCH_BOOTSTRAP === "1";
  let agentPid: number;
  let host = "127.0.0.1";
  let port: number;
  if (bootstrap) {
    port = await freePort();
    const agent = startWeft(dir, port, backendPort, args, true);
    await waitPort(port);
    if (agent.pid === undefined) throw new Error("the agent did not start");
    agentPid = agent.pid;
  } else ({ pid: agentPid, host, port } = await xdsSidecar(dir, backendPort, args));
  const wrk = (conns: number, duration: string) =>
    execFileSync("wrk", ["-t1", `-c${conns}`, `-d${duration}`, "-H", `Host: ${HOST}`, `http://${host}:${port}/`], {
      encoding: "utf8",
    });
  const warm = wrk(1, "1s"); // one request path warmed up
  if (/Non-2xx/.test(warm) || !/Requests\/sec/.test(warm)) throw new Error(`the sidecar did not serve:\n${warm}`);
  await new Promise((r) => setTimeout(r, 2000));
  process.stdout.write(
    `the agent configured by ${bootstrap ? "a bootstrap file" : "xDS (weft discovery, local mode)"}\n`,
  );
  report("idle", agentPid);
  wrk(128, process.env.BENCH_DURATION ?? "10s");
  report("after c=128", agentPid);
  cleanup();
}

runBench(main);
