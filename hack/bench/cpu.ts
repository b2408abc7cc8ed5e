// npm run bench:cpu — where the CPU goes, per request, when Weft proxies keep-alive HTTP/1.1 (wrk -t1 -c32) to the
// nginx backend on this machine: the engine (user and kernel time), wrk and the backend, read from /proc around each
// run, and nginx as the proxy in Weft's place for comparison. On two cores the load generator and the backend share
// the proxy's cores, so their share bounds what a second worker can add (README, #13's figures). Prints figures only.
//   env: BENCH_ROUNDS (default 3), BENCH_DURATION (default 5s)
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { benchBackend, childPids, freePort, runBench, startNginx, startWeft, waitPort } from "./common.js";
import { cpuTimes } from "./sim-proxy.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DURATION = process.env.BENCH_DURATION ?? "5s";
/** A process's user and system CPU so far, in µs. */
function cpu(pid: number): { user: number; sys: number } {
  const t = cpuTimes(readFileSync(`/proc/${pid}/stat`, "utf8"));
  return { user: t.user * 1e6, sys: t.sys * 1e6 };
}

/** The nginx worker under the master whose pid file is in dir. */
const nginxWorker = (dir: string): number =>
  childPids(Number(readFileSync(join(dir, "nginx.pid"), "utf8").trim()))[0] ?? NaN;

/** One wrk run: requests, and the CPU µs per request of `proxy`, of the backend and of wrk itself. */
function run(port: number, proxy: number, backend: number): string {
  const [p0, b0] = [cpu(proxy), cpu(backend)];
  const out = execFileSync(
    "bash",
    ["-c", `exec 3>&1; TIMEFORMAT='%U %S' ; { time wrk -t1 -c32 -d${DURATION} http://127.0.0.1:${port}/ 1>&3 ; } 2>&1`],
    { encoding: "utf8" },
  );
  const [p1, b1] = [cpu(proxy), cpu(backend)];
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const [wu, ws] = (/^([\d.]+) ([\d.]+)$/m.exec(out) ?? []).slice(1).map(Number) as [number, number];
  const per = (us: number) => (us / requests).toFixed(1);
  return (
    `${requests} requests; per request: proxy user ${per(p1.user - p0.user)} µs + kernel ${per(p1.sys - p0.sys)} µs, ` +
    `backend ${per(b1.user + b1.sys - b0.user - b0.sys)} µs, wrk ${per((wu + ws) * 1e6)} µs`
  );
}

async function main(): Promise<void> {
  const { dir, backendPort } = await benchBackend("bench-cpu");
  const backend = nginxWorker(join(dir, "backend"));
  const weftPort = await freePort();
  const weft = startWeft(dir, weftPort, backendPort);
  const nginxPort = await freePort();
  const upstream = `upstream b { server 127.0.0.1:${backendPort}; keepalive 64; }`;
  const location = `location / { proxy_pass http://b; proxy_http_version 1.1; proxy_set_header Connection ""; }`;
  startNginx("proxy", dir, `${upstream} server { listen 127.0.0.1:${nginxPort}; ${location} }`);
  await Promise.all([waitPort(weftPort), waitPort(nginxPort)]);
  const proxies = [
    { name: "weft-engine", port: weftPort, pid: weft.pid ?? NaN },
    { name: "nginx", port: nginxPort, pid: nginxWorker(join(dir, "proxy")) },
  ];
  process.stdout.write(`keep-alive, wrk -t1 -c32, ${DURATION} per run, ${ROUNDS} rounds, warm-up 2 s each\n`);
  for (const p of proxies) execFileSync("wrk", ["-t1", "-c32", "-d2s", `http://127.0.0.1:${p.port}/`]);
  for (let i = 1; i <= ROUNDS; i++)
    for (const p of proxies) process.stdout.write(`  round ${i} ${p.name.padEnd(12)} ${run(p.port, p.pid, backend)}\n`);
}

runBench(main);
