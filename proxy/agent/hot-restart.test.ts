// Hot restart with real traffic: steady load over keep-alive and new connections, two hot restarts to another
// binaryPath in the middle, zero failed requests. Forks the built engine (dist/), which `npm run build` makes.
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { Agent as HttpAgent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, DEFAULT_ENGINE } from "./agent.js";
import { backend, cluster, get, resources } from "../engine/e2e/helpers.js";

const BUILT = join(process.cwd(), "dist/proxy/engine/child.js");

(existsSync(BUILT) ? describe : describe.skip)("agent hot restart", () => {
  it("restarts the engine twice under load, to another binaryPath, without a failed request", async () => {
    const b = await backend("b");
    // Binary "B": a different entry point for the same engine, reporting another version.
    const dir = mkdtempSync(join(tmpdir(), "weft-engine-b-"));
    const binaryB = join(dir, "engine-b.mjs");
    writeFileSync(binaryB, `process.env.WEFT_ENGINE_VERSION = "b";\nawait import(${JSON.stringify(BUILT)});\n`);
    expect(DEFAULT_ENGINE.endsWith(join("proxy", "engine", "child.js"))).toBe(true);

    const agent = new Agent({
      resources: resources([{ match: { prefix: "/" }, route: { cluster: "b" } }], [cluster("b", [b.port])]),
      binaryPath: BUILT,
      adminPort: 0,
      statsPort: 0,
      readyPort: 0,
      bindAddress: "127.0.0.1",
      drainMs: 1000,
    });
    await agent.start();
    const port = agent.listenerPort("http");
    expect((await get(agent.ports.admin, "/ready")).status).toBe(200);

    let stop = false;
    let ok = 0;
    const failures: string[] = [];
    const keepAlive = new HttpAgent({ keepAlive: true, maxSockets: 4 });
    const worker = async (agentOpt: HttpAgent | false) => {
      for (let i = 0; i < 20000 && !stop; i++) {
        try {
          const r = await get(port, "/", {}, { agent: agentOpt });
          if (r.status === 200) ok++;
          else failures.push(`status ${r.status}`);
        } catch (err) {
          failures.push(String(err));
        }
      }
    };
    const load = Promise.all([worker(keepAlive), worker(keepAlive), worker(keepAlive), worker(false), worker(false)]);
    const until = async (n: number) => {
      for (let i = 0; i < 1000 && ok < n; i++) await new Promise((r) => setTimeout(r, 5));
    };
    await until(300);
    const first = await agent.hotRestart(binaryB);
    await until(ok + 300);
    const second = await agent.hotRestart(BUILT);
    await until(ok + 300);
    stop = true;
    await load;
    keepAlive.destroy();

    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(900);
    expect(first).toMatchObject({ epoch: 1, binaryPath: binaryB, version: "b" });
    expect(second).toMatchObject({ epoch: 2, binaryPath: BUILT, version: "dev" });
    const dump = JSON.parse((await get(agent.ports.admin, "/config_dump")).body);
    expect(dump).toMatchObject({ epoch: 2, binary_path: BUILT, engine_version: "dev" });
    const prom = (await get(agent.ports.stats, "/stats/prometheus")).body;
    expect(prom).toContain("istio_requests_total");
    await agent.stop();
    await b.close();
  }, 30000);
});
