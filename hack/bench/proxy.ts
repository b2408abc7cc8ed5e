// npm run bench:proxy — Weft against nginx and HAProxy (one worker each) as a reverse proxy in front of the same tiny
// backend: keep-alive at c=1, 32 and 128, a new connection per request, and h2c (h2load); and h2c through to the backend
// over h2c (Weft only: nginx and HAProxy don't proxy HTTP/2 to a backend but gRPC). Each case runs every proxy
// in turn, several rounds, alternately; it prints req/s and p50/p99 per run, then the medians and each proxy's median
// ratio to nginx. Weft runs as sidecars run it (the agent with its engine child), as the bare engine, and as the agent
// with two engine workers (weft-2, --concurrency 2: the scaling from 1 to 2 workers, with how the kernel spread the
// connections over them). The load generator shares the machine's cores, so each case also prints the 1-minute load
// average. A benchmark prints figures; it asserts nothing.
//   env: BENCH_ROUNDS (default 3), BENCH_DURATION (default 5s), BENCH_CASES (comma list of case names, default all),
//        BENCH_PROXIES (comma list, default all), BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof")
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { availableParallelism as availableCores, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import {
  cleanup,
  runBench,
  ensureTools,
  freePort,
  h2load,
  median,
  startBackend,
  startHaproxy,
  startNginx,
  startWeft,
  bootstrap,
  waitPort,
  wrk,
  type Result,
} from "./common.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DURATION = process.env.BENCH_DURATION ?? "5s";

interface Case {
  name: string;
  what: string;
  /** The proxy's port the case loads, or undefined when the proxy can't run it. */
  port(p: Proxy): number | undefined;
  run(port: number): Result;
}

const CASES: Case[] = [
  ...[1, 32, 128].map((c) => ({
    name: `keepalive-c${c}`,
    what: `HTTP/1.1 keep-alive, wrk -t1 -c${c}`,
    port: (p: Proxy) => p.h1,
    run: (port: number) => wrk(port, c, DURATION),
  })),
  {
    name: "newconn-c32",
    what: "HTTP/1.1, a new connection per request (Connection: close), wrk -t1 -c32",
    port: (p) => p.h1,
    run: (port) => wrk(port, 32, DURATION, ["-H", "Connection: close"]),
  },
  {
    name: "h2c-c32",
    what: "h2c prior knowledge, h2load -t1 -c32 -m10",
    port: (p) => p.h2,
    run: (port) => h2load(port, 32, 10, DURATION),
  },
  {
    name: "h2c-h2c-c32",
    what: "h2c prior knowledge, the backend over h2c too (http2_protocol_options), h2load -t1 -c32 -m10",
    port: (p) => p.h2h2,
    run: (port) => h2load(port, 32, 10, DURATION),
  },
];

interface Proxy {
  name: string;
  h1: number;
  h2: number;
  /** h2c in front of an h2c backend (Weft only). */
  h2h2?: number;
  /** The agent's admin port, for its per-worker stats. */
  admin?: number;
}

/**
 * How many connections each engine worker accepted over all listeners (Envoy's
 * listener.<l>.worker_<i>.downstream_cx_total, summed by worker).
 */
async function workerShares(admin: number): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${admin}/stats`)).text();
  const byWorker = new Map<string, number>();
  for (const m of text.matchAll(/^listener\.[^\n]*\.worker_(\d+)\.downstream_cx_total: (\d+)$/gm))
    byWorker.set(m[1] as string, (byWorker.get(m[1] as string) ?? 0) + Number(m[2]));
  const total = [...byWorker.values()].reduce((n, c) => n + c, 0);
  return [...byWorker]
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([w, c]) => `worker ${w}: ${c} (${((c * 100) / total).toFixed(0)}%)`)
    .join(", ");
}

async function main(): Promise<void> {
  ensureTools();
  const only = (env: string | undefined) => (env ? new Set(env.split(",")) : undefined);
  const cases = CASES.filter((c) => only(process.env.BENCH_CASES)?.has(c.name) ?? true);
  const dir = mkdtempSync(join(tmpdir(), "weft-bench-"));
  const [backendPort, backendH2] = [await freePort(), await freePort()];
  startBackend(dir, backendPort, backendH2);
  const nodeArgs = process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(" ") : [];
  const all: Proxy[] = [];
  const wanted = only(process.env.BENCH_PROXIES);
  const want = (name: string) => wanted?.has(name) ?? true;
  if (want("nginx")) {
    const [h1, h2] = [await freePort(), await freePort()];
    startNginx(
      "proxy",
      dir,
      `upstream backend { server 127.0.0.1:${backendPort}; keepalive 64; }
server { listen 127.0.0.1:${h1}; listen 127.0.0.1:${h2} http2;
  location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; } }`,
    );
    all.push({ name: "nginx", h1, h2 });
  }
  if (want("haproxy")) {
    const [h1, h2] = [await freePort(), await freePort()];
    startHaproxy(dir, h1, h2, backendPort);
    all.push({ name: "haproxy", h1, h2 });
  }
  for (const [name, agent, workers] of [
    ["weft", true, 1],
    ["weft-engine", false, 1],
    ["weft-2", true, 2],
  ] as const) {
    if (!want(name)) continue;
    const port = await freePort(); // the engine serves h2c with prior knowledge on the HTTP/1.1 port
    const h2h2 = await freePort();
    const admin = await freePort();
    const flags = workers > 1 ? ["--concurrency", String(workers), "--admin-port", String(admin)] : [];
    startWeft(dir, port, backendPort, nodeArgs, agent, withH2Backend(port, backendPort, h2h2, backendH2), flags);
    all.push({ name, h1: port, h2: port, h2h2, ...(workers > 1 ? { admin } : {}) });
  }
  await Promise.all([
    waitPort(backendPort),
    ...all.flatMap((p) => [p.h1, p.h2, p.h2h2 ?? p.h1].map((x) => waitPort(x))),
  ]);
  process.stdout.write(`warming up (2 s each)…\n`);
  for (const p of all) execFileSync("wrk", ["-t1", "-c32", "-d2s", `http://127.0.0.1:${p.h1}/`]);

  const summary: string[] = [];
  for (const c of cases) {
    process.stdout.write(`\n${c.name}: ${c.what}, ${DURATION} per run, ${ROUNDS} rounds\n`);
    const able = all.filter((p) => c.port(p) !== undefined);
    const results = new Map<string, Result[]>(able.map((p) => [p.name, []]));
    for (let r = 1; r <= ROUNDS; r++) {
      for (const p of able) {
        const res = c.run(c.port(p) as number);
        results.get(p.name)?.push(res);
        process.stdout.write(
          `  round ${r} ${p.name.padEnd(11)} ${res.rps.toFixed(0).padStart(7)} req/s  p50 ${res.p50.toFixed(2)} ms  p99 ${res.p99.toFixed(2)} ms\n`,
        );
      }
    }
    const load = loadavg()[0] ?? 0;
    process.stdout.write(`  load average (1 min) after the case: ${load.toFixed(2)} on ${availableCores()} cores\n`);
    const nginx = results.get("nginx");
    for (const p of able) {
      const rs = results.get(p.name) ?? [];
      const ratio = nginx ? median(rs.map((x, i) => x.rps / (nginx[i]?.rps ?? NaN))) : NaN;
      summary.push(
        `${c.name.padEnd(14)} ${p.name.padEnd(11)} ${median(rs.map((x) => x.rps))
          .toFixed(0)
          .padStart(
            7,
          )} req/s  p50 ${median(rs.map((x) => x.p50)).toFixed(2)} ms  p99 ${median(rs.map((x) => x.p99)).toFixed(2)} ms` +
          (nginx ? `  ×nginx ${ratio.toFixed(2)}` : ""),
      );
    }
    const one = results.get("weft");
    const two = results.get("weft-2");
    if (one && two)
      summary.push(
        `${c.name.padEnd(14)} weft-2 ÷ weft (2 workers ÷ 1) ${median(two.map((x, i) => x.rps / (one[i]?.rps ?? NaN))).toFixed(2)}  (load average ${load.toFixed(2)})`,
      );
  }
  for (const p of all) if (p.admin) summary.push(`${p.name} connections per worker: ${await workerShares(p.admin)}`);
  process.stdout.write(`\nmedians (one worker each but weft-2; the load generator shares the machine's cores):\n`);
  for (const line of summary) process.stdout.write(`  ${line}\n`);
  cleanup();
}

/** The bootstrap with a second listener, on `h2Port`, routing to the backend's h2c port over HTTP/2. */
function withH2Backend(port: number, backendPort: number, h2Port: number, backendH2: number): unknown {
  const config = bootstrap(port, backendPort) as { static_resources: { listeners: unknown[]; clusters: unknown[] } };
  const other = bootstrap(h2Port, backendH2) as typeof config;
  const json = JSON.stringify(other.static_resources)
    .replace(/"backend"/g, '"backend-h2"')
    .replace(/"bench"/g, '"bench-h2"');
  const { listeners, clusters } = JSON.parse(json) as typeof config.static_resources;
  config.static_resources.listeners.push(...listeners);
  config.static_resources.clusters.push(...clusters.map((c) => ({ ...(c as object), http2_protocol_options: {} })));
  return config;
}

runBench(main);
