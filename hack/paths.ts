// Small facts about where things are, shared by the cluster, local mode, benches and tests.
import { existsSync, readFileSync } from "node:fs";
import { createServer, type AddressInfo, type Server } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package root: the nearest folder up with a package.json, whether running from source or from dist/. */
function packageRoot(from: string): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) if (existsSync(join(dir, "package.json"))) return dir;
  throw new Error(`no package.json above ${from}`);
}

export const REPO_ROOT = packageRoot(dirname(fileURLToPath(import.meta.url)));

/** A port free on `host` right now. */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  return (await freePorts(1, host))[0] as number;
}

/**
 * `count` different ports free on `host` right now, all held open until each is picked. They come from below the
 * kernel's ephemeral range: a port the OS picked (listen on 0) is in that range, and between this check and the
 * process that listens on it, any outgoing connection on the machine could take it as its source port (CI saw
 * EADDRINUSE twice in one day). The process cluster's own ports are 20xxx.
 */
export async function freePorts(count: number, host = "127.0.0.1"): Promise<number[]> {
  const [low, high] = [21_000, Math.min(32_768, ephemeralLow())];
  const servers: Server[] = [];
  try {
    for (let tries = 0; servers.length < count; tries++) {
      const port = high - low > 1000 && tries < 1000 ? low + Math.floor(Math.random() * (high - low)) : 0;
      const server = createServer();
      const ok = await new Promise<boolean>((resolve) => {
        server.once("error", () => resolve(false));
        server.listen(port, host, () => resolve(true));
      });
      if (ok) servers.push(server);
    }
    return servers.map((server) => (server.address() as AddressInfo).port);
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

/** The first port of the kernel's ephemeral range (Linux's default 32768). */
function ephemeralLow(): number {
  try {
    return Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || 32_768;
  } catch {
    return 32_768;
  }
}
