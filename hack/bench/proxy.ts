// npm run bench:proxy — Weft's engine against nginx (1 worker) as an HTTP/1.1 reverse proxy, both in front of the
// same tiny backend, each driven by `wrk -t1 -c32 -d10s` several times, alternately. Prints req/s and p50/p99 per
// run and the median ratio Weft/nginx. A benchmark prints figures; it asserts nothing.
//   env: BENCH_ROUNDS (default 3), BENCH_DURATION (default 10s), BENCH_CONNECTIONS (default 32),
//        BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" for the engine)
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  cleanup,
  runBench,
  ensureTools,
  freePort,
  median,
  startBackend,
  startNginx,
  startWeft,
  waitPort,
  wrk,
  type Result,
} from "./common.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DURATION = process.env.BENCH_DURATION ?? "10s";
const CONNS = Number(process.env.BENCH_CONNECTIONS ?? 32);

async function main(): Promise<void> {
  ensureTools();
  const dir = mkdtempSync(join(tmpdir(), "weft-bench-"));
  const [backendPort, nginxPort, weftPort] = [await freePort(), await freePort(), await freePort()];
  startBackend(dir, backendPort);
  startNginx(
    "proxy",
    dir,
    `upstream backend { server 127.0.0.1:${backendPort}; keepalive 64; }
server { listen 127.0.0.1:${nginxPort}; location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; } }`,
  );
  const nodeArgs = process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(" ") : [];
  startWeft(dir, weftPort, backendPort, nodeArgs);
  await Promise.all([waitPort(backendPort), waitPort(nginxPort), waitPort(weftPort)]);
  // Warm up both (JIT, pools), then alternate.
  process.stdout.write(`warming up (wrk -t1 -c${CONNS} -d2s on each)…\n`);
  execFileSync("wrk", ["-t1", `-c${CONNS}`, "-d2s", `http://127.0.0.1:${nginxPort}/`]);
  execFileSync("wrk", ["-t1", `-c${CONNS}`, "-d2s", `http://127.0.0.1:${weftPort}/`]);
  const results: Record<"nginx" | "weft", Result[]> = { nginx: [], weft: [] };
  for (let r = 1; r <= ROUNDS; r++) {
    for (const [name, port] of [
      ["nginx", nginxPort],
      ["weft", weftPort],
    ] as const) {
      const res = wrk(port, CONNS, DURATION);
      results[name].push(res);
      process.stdout.write(
        `round ${r} ${name.padEnd(5)} ${res.rps.toFixed(0).padStart(7)} req/s  p50 ${res.p50.toFixed(2)} ms  p99 ${res.p99.toFixed(2)} ms\n`,
      );
    }
  }
  const ratios = results.weft.map((w, i) => w.rps / (results.nginx[i] as Result).rps);
  process.stdout.write(`\nmedians over ${ROUNDS} rounds (wrk -t1 -c${CONNS} -d${DURATION}, one worker each):\n`);
  for (const name of ["nginx", "weft"] as const) {
    const rs = results[name];
    process.stdout.write(
      `  ${name.padEnd(5)} ${median(rs.map((x) => x.rps))
        .toFixed(0)
        .padStart(
          7,
        )} req/s  p50 ${median(rs.map((x) => x.p50)).toFixed(2)} ms  p99 ${median(rs.map((x) => x.p99)).toFixed(2)} ms\n`,
    );
  }
  process.stdout.write(`  weft/nginx throughput ratio (median of per-round ratios): ${median(ratios).toFixed(2)}\n`);
  cleanup();
}

runBench(main);
