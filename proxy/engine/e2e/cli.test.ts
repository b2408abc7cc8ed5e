// `weft proxy --bootstrap FILE` as a child process: serves, then drains on SIGTERM without failing the request
// in flight. Runs the built CLI (dist/), which `npm run build` produces before `npm run test:unit`.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { backend, cluster, get, listener, routeConfig } from "../../../test/support/engine/helpers.js";

const MAIN = join(process.cwd(), "dist/operator/cli/main.js");

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });
}

describe("weft proxy (CLI, child process)", () => {
  beforeAll(() => {
    if (!existsSync(MAIN))
      throw new Error(`${MAIN} is missing: this suite runs the built engine; run \`npm run build\` first`);
  });

  it("serves from a YAML bootstrap and drains on SIGTERM, finishing the request in flight", async () => {
    let release: () => void = () => undefined;
    let arrived: () => void = () => undefined;
    const inside = new Promise<void>((r) => (arrived = r));
    const b = await backend("held", (_req, res) => {
      release = () => res.end("finished");
      arrived();
    });
    const port = await freePort();
    const l = listener([]);
    const hcm = (l.filter_chains as { filters: { typed_config: Record<string, unknown> }[] }[])[0]!.filters[0]!
      .typed_config;
    delete hcm.rds;
    hcm.route_config = routeConfig([{ match: { prefix: "/" }, route: { cluster: "held" } }]);
    (l.address as { socket_address: { port_value: number } }).socket_address.port_value = port;
    const dir = mkdtempSync(join(tmpdir(), "weft-proxy-"));
    const file = join(dir, "bootstrap.yaml");
    writeFileSync(file, stringify({ static_resources: { listeners: [l], clusters: [cluster("held", [b.port])] } }));
    const child = spawn(
      process.execPath,
      [MAIN, "proxy", "--bootstrap", file, "--admin-port", "0", "--stats-port", "0", "--ready-port", "0"],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let stderr = "";
    await new Promise<void>((resolve, reject) => {
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes("listening")) resolve();
      });
      child.once("exit", (code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const reply = get(port, "/", {}, { agent: false });
    await inside;
    child.kill("SIGTERM");
    release();
    const r = await reply;
    expect([r.status, r.body]).toEqual([200, "finished"]);
    expect(await exited).toBe(0);
    await b.close();
  });
});
