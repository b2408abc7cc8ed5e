// A bare `weft proxy --bootstrap FILE` binds Prometheus and readiness where the bootstrap's admin binds (it bound
// 0.0.0.0 before): admin on 127.0.0.7 means /stats/prometheus and /healthz/ready answer on 127.0.0.7 only.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { REPO_ROOT, freePort } from "../../hack/paths.js";

const MAIN = `${REPO_ROOT}/dist/operator/cli/main.js`;
const reachable = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect({ host, port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });

describe("weft proxy --bootstrap: Prometheus and readiness bind with the admin", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "weft-bind-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("on the bootstrap admin's loopback address, not 0.0.0.0", async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
    const [admin, stats, ready] = [await freePort(), await freePort(), await freePort()];
    const file = path.join(dir, "bootstrap.yaml");
    writeFileSync(
      file,
      `admin: { address: { socket_address: { address: 127.0.0.7, port_value: ${admin} } } }\nstatic_resources: { listeners: [], clusters: [] }\n`,
    );
    const child = spawn(
      process.execPath,
      [MAIN, "proxy", "--bootstrap", file, "--stats-port", String(stats), "--ready-port", String(ready)],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let err = "";
        child.stderr!.on("data", (d: Buffer) => {
          err += d.toString();
          if (err.includes("listening")) resolve(err);
        });
        child.once("exit", (code) => reject(new Error(`weft proxy exited (${code}): ${err}`)));
      });
      expect(line).toContain(`admin 127.0.0.7:${admin}`);
      for (const port of [stats, ready, admin]) {
        expect(await reachable("127.0.0.7", port)).toBe(true);
        expect(await reachable("127.0.0.1", port)).toBe(false);
      }
    } finally {
      child.kill("SIGTERM");
    }
  }, 30_000);
});
