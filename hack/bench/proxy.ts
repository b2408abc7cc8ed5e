// npm run bench:proxy — Weft's engine against nginx (1 worker) as an HTTP/1.1 reverse proxy, both in front of the
// same tiny backend, each driven by `wrk -t1 -c32 -d10s` several times, alternately. Prints req/s and p50/p99 per
// run and the median ratio Weft/nginx. A benchmark prints figures; it asserts nothing.
//   env: BENCH_ROUNDS (default 3), BENCH_DURATION (default 10s), BENCH_CONNECTIONS (default 32)
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DURATION = process.env.BENCH_DURATION ?? "10s";
const CONNS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), "../../operator/cli/main.js");

function has(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}

function ensureTools(): void {
  if (has("wrk") && has("nginx")) return;
  process.stderr.write("installing wrk and nginx (apt-get)…\n");
  execFileSync("apt-get", ["update"], { stdio: "inherit" });
  execFileSync("apt-get", ["install", "-y", "wrk", "nginx"], { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
}

function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => res(typeof a === "object" && a ? a.port : 0));
    });
  });
}

const children: ChildProcess[] = [];
function start(cmd: string, args: string[]): ChildProcess {
  const c = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
  children.push(c);
  return c;
}
function cleanup(): void {
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
}
process.on("exit", cleanup);
process.on("SIGINT", () => process.exit(130));

async function waitPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((res) => {
      const s = createServer();
      s.once("error", () => res(true)); // in use: the server is up
      s.listen(port, "127.0.0.1", () => s.close(() => res(false)));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

function nginxConf(dir: string, body: string): string {
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `${t}_temp_path ${dir}/${t};`).join(" ");
  return `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http { access_log off; ${temp} keepalive_requests 1000000;
${body}
}
`;
}

function startNginx(name: string, dir: string, body: string): void {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, "nginx.conf"), nginxConf(d, body));
  start("nginx", ["-p", d, "-c", join(d, "nginx.conf")]);
}

interface Result {
  rps: number;
  p50: number;
  p99: number;
}

function toMs(v: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v);
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === "us" ? n / 1000 : m[2] === "s" ? n * 1000 : n;
}

function wrk(port: number): Result {
  const out = execFileSync("wrk", ["-t1", `-c${CONNS}`, `-d${DURATION}`, "--latency", `http://127.0.0.1:${port}/`], { encoding: "utf8" });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const p50 = toMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? "");
  const p99 = toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? "");
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(out);
  if (errors) process.stdout.write(`  (wrk: ${errors[0]})\n`);
  return { rps, p50, p99 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  ensureTools();
  const dir = mkdtempSync(join(tmpdir(), "weft-bench-"));
  const [backendPort, nginxPort, weftPort] = [await freePort(), await freePort(), await freePort()];
  startNginx("backend", dir, `server { listen 127.0.0.1:${backendPort}; location / { return 200 "hello world\\n"; } }`);
  startNginx(
    "proxy",
    dir,
    `upstream backend { server 127.0.0.1:${backendPort}; keepalive 64; }
server { listen 127.0.0.1:${nginxPort}; location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; } }`,
  );
  const T = "type.googleapis.com/envoy.extensions.filters";
  const bootstrap = {
    static_resources: {
      listeners: [{
        name: "bench",
        address: { socket_address: { address: "127.0.0.1", port_value: weftPort } },
        filter_chains: [{ filters: [{ name: "envoy.filters.network.http_connection_manager", typed_config: {
          "@type": `${T}.network.http_connection_manager.v3.HttpConnectionManager`,
          stat_prefix: "bench",
          route_config: { name: "bench", virtual_hosts: [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "backend" } }] }] },
          http_filters: [{ name: "envoy.filters.http.router", typed_config: { "@type": `${T}.http.router.v3.Router` } }],
        } }] }],
      }],
      clusters: [{
        name: "backend", type: "STATIC", connect_timeout: "1s",
        load_assignment: { cluster_name: "backend", endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: backendPort } } } }] }] },
      }],
    },
  };
  const file = join(dir, "weft.json");
  writeFileSync(file, JSON.stringify(bootstrap));
  const nodeArgs = process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(" ") : [];
  start(process.execPath, [...nodeArgs, MAIN, "proxy", "--bootstrap", file, "--admin-port", "0", "--stats-port", "0", "--ready-port", "0"]);
  await Promise.all([waitPort(backendPort), waitPort(nginxPort), waitPort(weftPort)]);
  // Warm up both (JIT, pools), then alternate.
  process.stdout.write(`warming up (wrk -t1 -c${CONNS} -d2s on each)…\n`);
  execFileSync("wrk", ["-t1", `-c${CONNS}`, "-d2s", `http://127.0.0.1:${nginxPort}/`]);
  execFileSync("wrk", ["-t1", `-c${CONNS}`, "-d2s", `http://127.0.0.1:${weftPort}/`]);
  const results: Record<"nginx" | "weft", Result[]> = { nginx: [], weft: [] };
  for (let r = 1; r <= ROUNDS; r++) {
    for (const [name, port] of [["nginx", nginxPort], ["weft", weftPort]] as const) {
      const res = wrk(port);
      results[name].push(res);
      process.stdout.write(`round ${r} ${name.padEnd(5)} ${res.rps.toFixed(0).padStart(7)} req/s  p50 ${res.p50.toFixed(2)} ms  p99 ${res.p99.toFixed(2)} ms\n`);
    }
  }
  const ratios = results.weft.map((w, i) => w.rps / (results.nginx[i] as Result).rps);
  process.stdout.write(`\nmedians over ${ROUNDS} rounds (wrk -t1 -c${CONNS} -d${DURATION}, one worker each):\n`);
  for (const name of ["nginx", "weft"] as const) {
    const rs = results[name];
    process.stdout.write(`  ${name.padEnd(5)} ${median(rs.map((x) => x.rps)).toFixed(0).padStart(7)} req/s  p50 ${median(rs.map((x) => x.p50)).toFixed(2)} ms  p99 ${median(rs.map((x) => x.p99)).toFixed(2)} ms\n`);
  }
  process.stdout.write(`  weft/nginx throughput ratio (median of per-round ratios): ${median(ratios).toFixed(2)}\n`);
  cleanup();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
