// Shared by the bench scripts: tools from apt, free ports, nginx instances, child processes, wrk output.
import { commandLine } from "../../operator/api/contract.js";
import { proxyRole } from "../../operator/api/roles.js";
import { launcherNodeFlags, PROXY_PROCESS_ENV } from "../../operator/api/process-env.js";
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** A proxy's admin, stats and readiness ports, each picked by the OS. */
export const EPHEMERAL_PORTS = { "admin-port": 0, "stats-port": 0, "ready-port": 0 } as const;
export const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), "../../operator/cli/main.js");

function has(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}

export function ensureTools(): void {
  if (has("wrk") && has("nginx") && has("haproxy") && has("h2load")) return;
  process.stderr.write("installing wrk, nginx, haproxy and h2load (apt-get)…\n");
  execFileSync("apt-get", ["update"], { stdio: "inherit" });
  execFileSync("apt-get", ["install", "-y", "wrk", "nginx-light", "haproxy", "nghttp2-client"], {
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
}

import { freePort } from "../paths.js";
export { freePort };

const children: ChildProcess[] = [];
export function start(cmd: string, args: string[], env: Readonly<Record<string, string>> = {}): ChildProcess {
  const c = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...env } });
  children.push(c);
  return c;
}
export function cleanup(): void {
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
}
process.on("exit", cleanup);
process.on("SIGINT", () => process.exit(130));

/** A process's children (an agent's engines), from /proc. */
export function childPids(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
}

export async function waitPort(port: number, host = "127.0.0.1"): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    const ok = await new Promise<boolean>((res) => {
      const s = createServer();
      s.once("error", () => res(true)); // in use: the server is up
      s.listen(port, host, () => s.close(() => res(false)));
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

export function startNginx(name: string, dir: string, body: string): void {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, "nginx.conf"), nginxConf(d, body));
  start("nginx", ["-p", d, "-c", join(d, "nginx.conf")]);
}

export interface Result {
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

export function wrk(port: number, conns: number, duration: string, extra: string[] = []): Result {
  const args = ["-t1", `-c${conns}`, `-d${duration}`, "--latency", ...extra, `http://127.0.0.1:${port}/`];
  const out = execFileSync("wrk", args, { encoding: "utf8" });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const p50 = toMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? "");
  const p99 = toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? "");
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(out);
  if (errors) process.stdout.write(`  (wrk: ${errors[0]})\n`);
  return { rps, p50, p99 };
}

/** h2load over h2c (prior knowledge): `conns` connections with `streams` concurrent streams each, for `duration`. */
export function h2load(port: number, conns: number, streams: number, duration: string): Result {
  const args = ["-t1", `-c${conns}`, `-m${streams}`, `-D${duration.replace(/s$/, "")}`, `http://127.0.0.1:${port}/`];
  const out = execFileSync("h2load", args, { encoding: "utf8" });
  const rps = Number(/finished in [^,]+, ([\d.]+) req\/s/.exec(out)?.[1] ?? NaN);
  const failed = Number(/(\d+) failed/.exec(out)?.[1] ?? 0);
  if (failed > 0) process.stdout.write(`  (h2load: ${failed} failed)\n`);
  // h2load prints mean and sd of request times, not percentiles: p50 ≈ mean, p99 ≈ mean + 2.33 sd (reported as such).
  const t = /time for request:\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)/.exec(out);
  const mean = toMs(t?.[3] ?? "");
  const sd = toMs(t?.[4] ?? "");
  return { rps, p50: mean, p99: mean + 2.33 * sd };
}

/** HAProxy, one thread, HTTP/1.1 on h1Port and h2c on h2Port, to the backend with keep-alive. */
export function startHaproxy(dir: string, h1Port: number, h2Port: number, backendPort: number): void {
  const d = join(dir, "haproxy");
  mkdirSync(d, { recursive: true });
  const file = join(d, "haproxy.cfg");
  writeFileSync(
    file,
    `global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  http-reuse always
frontend h1
  bind 127.0.0.1:${h1Port}
  default_backend be
frontend h2
  bind 127.0.0.1:${h2Port} proto h2
  default_backend be
backend be
  server s1 127.0.0.1:${backendPort}
`,
  );
  start("haproxy", ["-db", "-f", file]);
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

/** A static Envoy bootstrap: one HTTP listener routing everything to one cluster of one endpoint. */
export function bootstrap(listenPort: number, backendPort: number): unknown {
  const T = "type.googleapis.com/envoy.extensions.filters";
  return {
    static_resources: {
      listeners: [
        {
          name: "bench",
          address: { socket_address: { address: "127.0.0.1", port_value: listenPort } },
          filter_chains: [
            {
              filters: [
                {
                  name: "envoy.filters.network.http_connection_manager",
                  typed_config: {
                    "@type": `${T}.network.http_connection_manager.v3.HttpConnectionManager`,
                    stat_prefix: "bench",
                    route_config: {
                      name: "bench",
                      virtual_hosts: [
                        {
                          name: "all",
                          domains: ["*"],
                          routes: [{ match: { prefix: "/" }, route: { cluster: "backend" } }],
                        },
                      ],
                    },
                    http_filters: [
                      { name: "envoy.filters.http.router", typed_config: { "@type": `${T}.http.router.v3.Router` } },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: [
        {
          name: "backend",
          type: "STATIC",
          connect_timeout: "1s",
          load_assignment: {
            cluster_name: "backend",
            endpoints: [
              {
                lb_endpoints: [
                  { endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: backendPort } } } },
                ],
              },
            ],
          },
        },
      ],
    },
  };
}

/**
 * The tiny backend both benches use: nginx answering "hello world" (fast enough not to be the bottleneck), on `port`
 * over HTTP/1.1 and, when given, on `h2Port` over h2c (prior knowledge).
 */
export function startBackend(dir: string, port: number, h2Port?: number): void {
  const h2 = h2Port === undefined ? "" : ` listen 127.0.0.1:${h2Port} http2;`;
  startNginx("backend", dir, `server { listen 127.0.0.1:${port};${h2} location / { return 200 "hello world\\n"; } }`);
}

/** A bench's start: its tools, a temporary directory (`weft-<name>-`), and the nginx backend there, listening. */
export async function benchBackend(name: string): Promise<{ dir: string; backendPort: number }> {
  ensureTools();
  const dir = mkdtempSync(join(tmpdir(), `weft-${name}-`));
  const backendPort = await freePort();
  startBackend(dir, backendPort);
  await waitPort(backendPort);
  return { dir, backendPort };
}

/**
 * Runs `weft proxy` on a bootstrap file written to dir (with `agent`, as sidecars run: agent + engine child, the agent
 * with a sidecar's process environment).
 */
export function startWeft(
  dir: string,
  listenPort: number,
  backendPort: number,
  nodeArgs: string[] = [],
  agent = false,
  config: unknown = bootstrap(listenPort, backendPort),
  /** More `weft proxy` flags (e.g. --concurrency 2); they win over the ones above. */
  flags: string[] = [],
): ChildProcess {
  const file = join(dir, `weft-${listenPort}.json`);
  writeFileSync(file, JSON.stringify(config));
  return start(
    process.execPath,
    [
      ...(agent ? launcherNodeFlags(PROXY_PROCESS_ENV) : []),
      ...nodeArgs,
      MAIN,
      ...commandLine(proxyRole, { bootstrap: file, ...EPHEMERAL_PORTS, ...(agent ? { agent } : {}) }),
      ...flags,
    ],
    agent ? PROXY_PROCESS_ENV : {},
  );
}

/** Runs a bench's main: exit 0 when it is done, 1 with the reason when it fails; its children are always stopped. */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => {
      cleanup();
      process.exit(0);
    },
    (err: unknown) => {
      cleanup();
      process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
