// Small facts about where things are, shared by the cluster, local mode, benches and tests.
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package root: the nearest folder up with a package.json, whether running from source or from dist/. */
function packageRoot(from: string): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) if (existsSync(join(dir, "package.json"))) return dir;
  throw new Error(`no package.json above ${from}`);
}

export const REPO_ROOT = packageRoot(dirname(fileURLToPath(import.meta.url)));

/** A port free on `host` right now (the OS picks it). */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  return (await freePorts(1, host))[0] as number;
}

/** `count` different ports free on `host` right now: all held open until each is picked, so none comes twice. */
export async function freePorts(count: number, host = "127.0.0.1"): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  try {
    await Promise.all(
      servers.map(
        (server) =>
          new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(0, host, resolve);
          }),
      ),
    );
    return servers.map((server) => (server.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}
