// Hot restart with real traffic: steady load over keep-alive and new connections, two hot restarts to another
// binaryPath in the middle, zero failed requests. Forks the built engine (dist/), which `npm run build` makes.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { Agent as HttpAgent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, DEFAULT_ENGINE } from "./agent.js";
import { backend, cluster, get, resources, until } from "../../test/support/engine/helpers.js";

const BUILT = join(process.cwd(), "dist/proxy/engine/child.js");

describe("agent hot restart", () => {
  beforeAll(() => {
    if (!existsSync(BUILT))
      throw new Error(`${BUILT} is missing: this suite runs the built engine; run \`npm run build\` first`);
  });

  it("restarts the engine twice under 500 rps for 20 s, to another binaryPath, without a failed request", async () => {
    const b = await backend("b");
    // Binary "B": a different entry point for the same engine, reporting another version.
    const dir = mkdtempSync(join(tmpdir(), "weft-engine-b-"));
    const binaryB = join(dir, "engine-b.mjs");
    writeFileSync(binaryB, `process.env.WEFT_ENGINE_VERSION = "b";\nawait import(${JSON.stringify(BUILT)});\n`);
    expect(DEFAULT_ENGINE.endsWith(join("proxy", "engine", "child.js"))).toBe(true);

    const agent = new Agent({
      resources: resources([{ match: { prefix: "/" }, route: { cluster: "b" } }], [cluster("b", [b.port])]),
      binaryPath: BUILT,
      enginesDir: dir, // binary B's directory: the only place a hot restart may take another engine from
      adminPort: 0,
      statsPort: 0,
      readyPort: 0,
      bindAddress: "127.0.0.1",
      drainMs: 1000,
    });
    await agent.start();
    const port = agent.listenerPort("http");
    expect((await get(agent.ports.admin, "/ready")).status).toBe(200);

    // Open-loop load as the issue asks: 500 requests/s for 20 s, half over keep-alive
    // connections and half on a new connection each, with hot restarts at 7 s and 14 s.
    const RATE = 500;
    const SECONDS = 20;
    let ok = 0;
    const failures: string[] = [];
    const keepAlive = new HttpAgent({ keepAlive: true, maxSockets: 16 });
    const inflight: Promise<void>[] = [];
    const send = (n: number) =>
      get(port, "/", {}, { agent: n % 2 ? keepAlive : false }).then(
        (r) => (r.status === 200 ? void ok++ : void failures.push(`status ${r.status}`)),
        (err: unknown) => void failures.push(String(err)),
      );
    const started = Date.now();
    const restarts: Promise<unknown>[] = [];
    let sent = 0;
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const elapsed = Date.now() - started;
        const due = Math.min(RATE * SECONDS, Math.floor((elapsed * RATE) / 1000));
        while (sent < due) inflight.push(send(sent++));
        if (restarts.length === 0 && elapsed >= 7000) restarts.push(agent.hotRestart(binaryB));
        if (restarts.length === 1 && elapsed >= 14000) restarts.push(restarts[0]!.then(() => agent.hotRestart(BUILT)));
        if (sent >= RATE * SECONDS) {
          clearInterval(tick);
          resolve();
        }
      }, 10);
    });
    const [first, second] = await Promise.all(restarts);
    await Promise.all(inflight);
    keepAlive.destroy();

    expect(failures).toEqual([]);
    expect(ok).toBe(RATE * SECONDS);
    expect(first).toMatchObject({ epoch: 1, binaryPath: binaryB, version: "b" });
    expect(second).toMatchObject({ epoch: 2, binaryPath: BUILT, version: "dev" });
    const dump = JSON.parse((await get(agent.ports.admin, "/config_dump")).body);
    expect(dump).toMatchObject({ epoch: 2, binary_path: BUILT, engine_version: "dev" });
    const prom = (await get(agent.ports.stats, "/stats/prometheus")).body;
    expect(prom).toContain("istio_requests_total");
    await agent.stop();
    await b.close();
  }, 60000);

  it("an agent stopped while a hot restart is starting its engine leaves no engine behind", async () => {
    const b = await backend("b");
    // An engine that takes its config half a second late, and says when it got it: stop() lands in that window,
    // after the old engine was told to drain and before the new one serves.
    const dir = mkdtempSync(join(tmpdir(), "weft-engine-slow-"));
    const slow = join(dir, "engine-slow.mjs");
    const mark = join(dir, "configured");
    writeFileSync(
      slow,
      `import { writeFileSync } from "node:fs";
const on = process.on.bind(process);
process.on = (event, fn) => on(event, event !== "message" ? fn : (m, h) => {
  if (m?.type !== "config") return fn(m, h);
  writeFileSync(${JSON.stringify(mark)}, String(process.pid));
  setTimeout(() => fn(m, h), 500);
});
await import(${JSON.stringify(BUILT)});
`,
    );
    const agent = new Agent({
      resources: resources([{ match: { prefix: "/" }, route: { cluster: "b" } }], [cluster("b", [b.port])]),
      binaryPath: BUILT,
      enginesDir: dir,
      adminPort: 0,
      statsPort: 0,
      readyPort: false,
      bindAddress: "127.0.0.1",
      drainMs: 200,
    });
    await agent.start();
    const restart = agent.hotRestart(slow).then(
      () => "restarted",
      (err: unknown) => String(err),
    );
    await until(() => existsSync(mark), 15_000); // the new engine's start, slower on a loaded machine
    const pid = Number(readFileSync(mark, "utf8"));
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    try {
      await agent.stop();
      expect(await restart).toMatch(/shutting down/);
      await until(() => !alive(), 10_000); // drainMs is 200
    } finally {
      if (alive()) process.kill(pid, "SIGKILL"); // not left running if an assertion above failed
    }
    await b.close();
  }, 30000);
});
