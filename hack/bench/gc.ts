// npm run bench:gc — what V8's collector costs the engine per request, from the engine's own account
// (--trace-gc-nvp): a bare engine for each set of node flags, in front of hack/bench's nginx backend, under wrk -c32
// (keep-alive HTTP/1.1) and h2load -c32 -m10 (h2c, 320 streams in flight). Prints, per flags and load: requests,
// scavenges and their main-thread time per request, what survived or was promoted per scavenge (the live state a
// scavenge copies), bytes allocated per request, and mark-compacts. Main-thread GC time holds up on a loaded machine
// where req/s doesn't. Prints figures; asserts nothing.
//   env: BENCH_ENGINE_ARGS (sets of engine node flags, ";"-separated; default: the flags the agent gives its engines,
//        then V8's defaults), BENCH_DURATION (seconds, default 5)
import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { commandLine } from "../../operator/api/contract.js";
import { proxyRole } from "../../operator/api/roles.js";
import { ENGINE_NODE_ARGS } from "../../proxy/engine/reclaim.js";
import { benchBackend, bootstrap, EPHEMERAL_PORTS, freePort, h2load, MAIN, runBench, waitPort, wrk } from "./common.js";

const SECONDS = Number(process.env.BENCH_DURATION ?? 5);
const SETS = (process.env.BENCH_ENGINE_ARGS ?? `${ENGINE_NODE_ARGS.join(" ")};`)
  .split(";")
  .map((s) => s.split(" ").filter(Boolean));

const LOADS = {
  "keep-alive c=32": (port: number, s: number) => wrk(port, 32, `${s}s`).rps * s,
  "h2c c=32 m=10": (port: number, s: number) => h2load(port, 32, 10, `${s}s`).rps * s,
};

interface Gc {
  scavenges: number;
  scavengeMs: number;
  survived: number;
  promoted: number;
  allocated: number;
  majors: number;
  majorMs: number;
}

/** Sums --trace-gc-nvp lines (`pause=… gc=s … allocated=… promoted=… new_space_survived=…`). */
function summarise(log: string): Gc {
  const gc: Gc = { scavenges: 0, scavengeMs: 0, survived: 0, promoted: 0, allocated: 0, majors: 0, majorMs: 0 };
  for (const line of log.split("\n")) {
    const field = (name: string) => Number(new RegExp(`(?:^| )${name}=([\\d.]+)`).exec(line)?.[1] ?? 0);
    const kind = / gc=(\w+)/.exec(line)?.[1];
    if (!kind) continue;
    gc.allocated += field("allocated");
    if (kind === "s") {
      gc.scavenges++;
      gc.scavengeMs += field("pause");
      gc.survived += field("new_space_survived");
      gc.promoted += field("promoted");
    } else {
      gc.majors++;
      gc.majorMs += field("pause");
    }
  }
  return gc;
}

/** One engine with `args`, one load: its GC over the measured run (after a 2 s warm-up). */
async function measure(dir: string, backendPort: number, args: string[], load: keyof typeof LOADS): Promise<string> {
  const port = await freePort();
  const file = join(dir, `bootstrap-${port}.json`);
  writeFileSync(file, JSON.stringify(bootstrap(port, backendPort)));
  const logFile = join(dir, `gc-${port}.log`);
  const fd = openSync(logFile, "w");
  const engine = spawn(
    process.execPath,
    [...args, "--trace-gc-nvp", MAIN, ...commandLine(proxyRole, { bootstrap: file, ...EPHEMERAL_PORTS })],
    { stdio: ["ignore", fd, "ignore"] },
  );
  closeSync(fd);
  try {
    await waitPort(port);
    LOADS[load](port, 2);
    const from = statSync(logFile).size;
    const requests = LOADS[load](port, SECONDS);
    engine.kill("SIGTERM"); // its stdout is flushed as it exits
    await new Promise((r) => engine.once("exit", r));
    const gc = summarise(readFileSync(logFile, "utf8").slice(from));
    const perReq = (x: number) => x / requests;
    const kb = (x: number) => `${(x / 1024).toFixed(0)} KB`;
    return (
      `  ${load.padEnd(16)} ${Math.round(requests / SECONDS)} req/s; ${gc.scavenges} scavenges, ` +
      `${(perReq(gc.scavengeMs) * 1000).toFixed(2)} µs of them per request; per scavenge survived ` +
      `${kb(gc.survived / (gc.scavenges || 1))}, promoted ${kb(gc.promoted / (gc.scavenges || 1))}; ` +
      `allocated ${perReq(gc.allocated).toFixed(0)} B per request; mark-compacts ${gc.majors} (${gc.majorMs.toFixed(0)} ms)\n`
    );
  } finally {
    if (engine.exitCode === null) engine.kill("SIGKILL");
  }
}

async function main(): Promise<void> {
  const { dir, backendPort } = await benchBackend("bench-gc");
  for (const args of SETS) {
    process.stdout.write(`engine flags: ${args.join(" ") || "(V8's defaults)"}\n`);
    for (const load of Object.keys(LOADS) as (keyof typeof LOADS)[])
      process.stdout.write(await measure(dir, backendPort, args, load));
  }
}

runBench(main);
