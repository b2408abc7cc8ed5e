// The built engine (`weft proxy --bootstrap`) as a child process, for tests that measure it from outside: its RSS,
// and its latency without the test's own clients on the same event loop.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../../../hack/paths.js";
import type { Resources } from "../../config/types.js";
import { ENGINE_NODE_ARGS, MALLOC_ENV } from "../../reclaim.js";

const MAIN = join(process.cwd(), "dist/operator/cli/main.js");

export interface ChildEngine {
  pid: number;
  port: number;
  adminPort: number;
  statsPort: number;
  /** Resident set size in bytes, from /proc. */
  rss(): number;
  stop(): Promise<void>;
}

export async function startChildEngine(res: Resources): Promise<ChildEngine> {
  if (!existsSync(MAIN))
    throw new Error(`${MAIN} is missing: this suite runs the built engine; run \`npm run build\` first`);
  const [port, statsPort] = [await freePort(), await freePort()];
  type Hcm = { rds?: { route_config_name: string }; route_config?: unknown };
  type L = {
    address: { socket_address: { port_value: number } };
    filter_chains: { filters: { typed_config: Hcm }[] }[];
  };
  // A bootstrap has no RDS: each listener carries its route configuration inline.
  const listeners = (res.listeners as L[]).map((l) => {
    const copy = structuredClone(l);
    copy.address.socket_address.port_value = port;
    for (const f of copy.filter_chains[0]?.filters ?? []) {
      const rds = f.typed_config.rds;
      if (!rds) continue;
      delete f.typed_config.rds;
      f.typed_config.route_config = (res.routes ?? []).find(
        (r) => (r as { name: string }).name === rds.route_config_name,
      );
    }
    return copy;
  });
  const dir = mkdtempSync(join(tmpdir(), "weft-hardening-"));
  const file = join(dir, "bootstrap.json");
  writeFileSync(file, JSON.stringify({ static_resources: { listeners, clusters: res.clusters } }));
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...ENGINE_NODE_ARGS,
      MAIN,
      "proxy",
      "--bootstrap",
      file,
      "--admin-port",
      "0",
      "--stats-port",
      String(statsPort),
      "--ready-port",
      "0",
    ],
    {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...MALLOC_ENV, ...process.env }, // as the agent starts its engine, with its flags
    },
  );
  let stderr = "";
  const adminPort = await new Promise<number>((resolve, reject) => {
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
      const m = /admin 127\.0\.0\.1:(\d+)/.exec(stderr);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`the engine exited ${code}: ${stderr}`)));
  });
  const pid = child.pid as number;
  return {
    pid,
    port,
    adminPort,
    statsPort,
    rss: () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
