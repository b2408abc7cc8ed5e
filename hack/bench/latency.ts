// npm run bench:latency — the latency Weft adds at a fixed rate (default 1000 req/s over keep-alive connections):
// p50, p99 and p99.9 direct to the backend and through Weft as sidecars run it (the agent and its engine), alternately,
// and the engine's RSS under that load. A benchmark prints figures; it asserts nothing.
//   env: BENCH_RATE (default 1000), BENCH_SECONDS (default 10), BENCH_ROUNDS (default 2),
//        BENCH_BARE=1: the bare engine (weft proxy without --agent), BENCH_NODE_ARGS its node flags;
//        WEFT_ENGINE_NODE_ARGS: the engine's node flags under the agent (proxy/engine/reclaim.ts),
//        BENCH_MTLS=1: two sidecars (client → server → backend), plaintext between them and then mTLS as discovery
//        renders it (hack/bench/mtls.ts): what mTLS on the hop between the sidecars adds, and both engines' RSS
import { readFileSync, mkdtempSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  childPids,
  cleanup,
  runBench,
  ensureTools,
  freePort,
  median,
  startBackend,
  startWeft,
  waitPort,
} from "./common.js";
import { twoSidecars } from "./mtls.js";

const RATE = Number(process.env.BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

interface Run {
  p50: number;
  p99: number;
  p999: number;
  errors: number;
}

/** Sends RATE requests a second for SECONDS, on time whatever the responses do, and measures each one. */
async function fixedRate(port: number): Promise<Run> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const latencies: number[] = [];
  let errors = 0;
  let sent = 0;
  const total = RATE * SECONDS;
  const t0 = process.hrtime.bigint();
  const inflight: Promise<void>[] = [];
  const one = () =>
    new Promise<void>((resolve) => {
      const start = process.hrtime.bigint();
      const req = request({ host: "127.0.0.1", port, path: "/", agent }, (res) => {
        res.resume();
        res.on("end", () => {
          latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
          if (res.statusCode !== 200) errors++;
          resolve();
        });
      });
      req.on("error", () => {
        errors++;
        resolve();
      });
      req.end();
    });
  await new Promise<void>((done) => {
    const tick = setInterval(() => {
      const due = Math.min(total, Math.floor((Number(process.hrtime.bigint() - t0) / 1e9) * RATE));
      while (sent < due) {
        inflight.push(one());
        sent++;
      }
      if (sent >= total) {
        clearInterval(tick);
        done();
      }
    }, 1);
  });
  await Promise.all(inflight);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] as number;
  return { p50: q(0.5), p99: q(0.99), p999: q(0.999), errors };
}

function rssMb(pid: number | undefined): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

const fmt = (r: Run) =>
  `p50 ${r.p50.toFixed(3)} ms  p99 ${r.p99.toFixed(3)} ms  p99.9 ${r.p999.toFixed(3)} ms  errors ${r.errors}`;
const m = (rs: Run[], k: keyof Run) => median(rs.map((r) => r[k]));

/** BENCH_MTLS=1: direct, two sidecars in plaintext, two sidecars with mTLS between them, alternately. */
async function mtlsMain(dir: string, backendPort: number): Promise<void> {
  const nodeArgs = process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(" ") : [];
  const chains: Record<"plain" | "mtls", { port: number; pids: (number | undefined)[] }> = {
    plain: { port: 0, pids: [] },
    mtls: { port: 0, pids: [] },
  };
  for (const kind of ["plain", "mtls"] as const) {
    const [clientPort, serverPort] = [await freePort(), await freePort()];
    const cfg = await twoSidecars(clientPort, serverPort, backendPort, kind === "mtls");
    const server = startWeft(dir, serverPort, backendPort, nodeArgs, false, cfg.server);
    const client = startWeft(dir, clientPort, serverPort, nodeArgs, false, cfg.client);
    await Promise.all([waitPort(clientPort), waitPort(serverPort)]);
    chains[kind] = { port: clientPort, pids: [client.pid, server.pid] };
    await fixedRate(clientPort); // warm-up: JIT, pools, TLS sessions
  }
  const runs: Record<"direct" | "plain" | "mtls", Run[]> = { direct: [], plain: [], mtls: [] };
  const rss: Record<"plain" | "mtls", number[]> = { plain: [], mtls: [] };
  for (let i = 1; i <= ROUNDS; i++) {
    runs.direct.push(await fixedRate(backendPort));
    process.stdout.write(`round ${i} direct           ${fmt(runs.direct.at(-1) as Run)}
`);
    for (const kind of ["plain", "mtls"] as const) {
      const sampler = setInterval(
        () => rss[kind].push(chains[kind].pids.reduce((sum: number, pid) => sum + rssMb(pid), 0)),
        500,
      );
      runs[kind].push(await fixedRate(chains[kind].port));
      clearInterval(sampler);
      process.stdout.write(`round ${i} 2 sidecars ${kind.padEnd(5)} ${fmt(runs[kind].at(-1) as Run)}
`);
    }
  }
  process.stdout.write(
    `\nmedians over ${ROUNDS} rounds at ${RATE} req/s for ${SECONDS} s (keep-alive, node http client):\n`,
  );
  for (const k of ["p50", "p99", "p999"] as const) {
    const [d, p, t] = [m(runs.direct, k), m(runs.plain, k), m(runs.mtls, k)];
    process.stdout.write(
      `  ${k.padEnd(5)} direct ${d.toFixed(3)} ms  2 sidecars plaintext ${p.toFixed(3)} ms  mTLS ${t.toFixed(3)} ms  added by the sidecars ${(t - d).toFixed(3)} ms, by mTLS ${(t - p).toFixed(3)} ms\n`,
    );
  }
  process.stdout.write(
    `  RSS of both engines under load: plaintext max ${Math.max(...rss.plain).toFixed(1)} MB, mTLS max ${Math.max(...rss.mtls).toFixed(1)} MB\n`,
  );
}

async function main(): Promise<void> {
  ensureTools();
  const dir = mkdtempSync(join(tmpdir(), "weft-latency-"));
  const [backendPort, weftPort] = [await freePort(), await freePort()];
  startBackend(dir, backendPort);
  if (process.env.BENCH_MTLS === "1") {
    await waitPort(backendPort);
    return mtlsMain(dir, backendPort);
  }
  const bare = process.env.BENCH_BARE === "1";
  const weft = startWeft(
    dir,
    weftPort,
    backendPort,
    bare && process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(" ") : [],
    !bare,
  );
  await Promise.all([waitPort(backendPort), waitPort(weftPort)]);
  await fixedRate(weftPort); // warm-up: JIT, pools
  const direct: Run[] = [];
  const through: Run[] = [];
  const rss: number[] = [];
  for (let i = 1; i <= ROUNDS; i++) {
    direct.push(await fixedRate(backendPort));
    process.stdout.write(`round ${i} direct  ${fmt(direct.at(-1) as Run)}\n`);
    const engine = bare ? weft.pid : childPids(weft.pid as number)[0];
    const sampler = setInterval(() => rss.push(rssMb(engine)), 500);
    through.push(await fixedRate(weftPort));
    clearInterval(sampler);
    process.stdout.write(`round ${i} weft    ${fmt(through.at(-1) as Run)}\n`);
  }
  process.stdout.write(
    `\nmedians over ${ROUNDS} rounds at ${RATE} req/s for ${SECONDS} s (keep-alive, node http client), through ${bare ? "the bare engine" : "the agent and its engine"}:\n`,
  );
  for (const k of ["p50", "p99", "p999"] as const) {
    process.stdout.write(
      `  ${k.padEnd(5)} direct ${m(direct, k).toFixed(3)} ms  weft ${m(through, k).toFixed(3)} ms  added ${(m(through, k) - m(direct, k)).toFixed(3)} ms\n`,
    );
  }
  process.stdout.write(`  engine RSS under load: max ${Math.max(...rss).toFixed(1)} MB\n`);
  cleanup();
}

runBench(main);
