// Engine upgrades told over ADS: three agents under load hot-restart onto the engine discovery names for them, and
// report it; a missing engine, and one that crash-loops, leave (or bring back) the old engine serving, with the
// reason in the report. Discovery runs in this process (local mode); engines are the built one behind small
// wrappers in a local engines directory, as the carrier would lay them out.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { startDiscovery, type Discovery } from "../../operator/discovery/server.js";
import { summarise } from "../../operator/discovery/ads/summary.js";
import type { EngineTarget } from "../xds/engine.js";
import { LoadProcess } from "../../test/support/load-process.js";
import { AgentProcess } from "../../test/support/agent-process.js";

const BUILT = join(process.cwd(), "dist/proxy/engine/child.js");
const IPS = ["127.0.31.11", "127.0.31.12", "127.0.31.13"];
const BACKEND = "127.0.31.21";
const pod = (i: number) => `app-${i}`;
// Requests per second to each agent, from a separate process (hack/load.ts).
const RATE = 300;

const mesh = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: echo }
spec: { hosts: [echo], ports: [{ number: 9080, name: http, protocol: HTTP }], resolution: STATIC, workloadSelector: { labels: { app: echo } } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: echo }
spec: { address: ${BACKEND}, ports: { http: 9080 }, labels: { app: echo } }
`;

/** An engine build in the engines directory: the built engine announcing `version`, optionally exiting after `crashMs`. */
function engine(dir: string, t: EngineTarget, announce: string, crashMs?: number): void {
  const file = join(dir, t.version, t.binaryPath);
  mkdirSync(dirname(file), { recursive: true });
  const crash = crashMs ? `setTimeout(() => process.exit(1), ${crashMs});\n` : "";
  writeFileSync(
    file,
    `process.env.WEFT_ENGINE_VERSION = ${JSON.stringify(announce)};\n${crash}import(${JSON.stringify(BUILT)});\n`,
  );
}

let debug = (): string => "";
async function until<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; ${debug()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const targets = IPS.map((ip) => `http://${ip}:15001/`);
const load = (rate: number) => new LoadProcess(targets, { rate, host: "echo:9080" });
function hit(ip: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request({ host: ip, port: 15001, headers: { host: "echo:9080" }, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on("error", reject)
      .end();
  });
}

describe("engine upgrades over ADS", () => {
  const dir = mkdtempSync(join(tmpdir(), "weft-engines-"));
  const config = join(dir, "config");
  const engines = join(dir, "engines");
  const A: EngineTarget = { version: "0.2.0", binaryPath: "/usr/local/bin/weft-engine" };
  const B: EngineTarget = { version: "0.2.0", binaryPath: "/opt/weft/engine-b" };
  const desired = new Map<string, EngineTarget>();
  let discovery: Discovery;
  let backend: LoadProcess | undefined;
  const agents: AgentProcess[] = [];
  const reports = () => summarise(discovery.ads.tracker.view());
  debug = () => `reports: ${JSON.stringify(reports().engines)}`;

  beforeAll(async () => {
    if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run \`npm run build\` first`);
    mkdirSync(config, { recursive: true });
    writeFileSync(join(config, "mesh.yaml"), mesh);
    engine(engines, A, "0.2.0");
    engine(engines, B, "0.2.1");
    backend = new LoadProcess([], { rate: 0, backend: `${BACKEND}:9080` }); // serves the backend, sends nothing
    discovery = await startDiscovery({
      configDir: config,
      address: "127.0.31.1",
      xdsPort: 0,
      monitoringPort: 0,
      log: { info: () => undefined, warn: () => undefined },
      engineFor: (p) => desired.get(p.workloadName),
    });
    for (const [i, ip] of IPS.entries()) {
      agents.push(
        await AgentProcess.start({
          discoveryAddress: `127.0.31.1:${discovery.xdsPort}`,
          nodeId: `sidecar~${ip}~${pod(i)}.default~default.svc.cluster.local`,
          binaryPath: A.binaryPath,
          engineVersion: A.version,
          enginesDir: engines,
          args: ["--engine-wait", "1s", "--engine-ready-timeout", "20s", "--drain-seconds", "5"],
        }),
      );
    }
    await until("every agent configured and reporting", () => {
      const p = discovery.ads.tracker.view();
      return p.length === 3 && p.every((x) => x.configVersion !== undefined && x.engine !== undefined);
    });
  }, 60_000);

  // Each agent may drain for its --drain-seconds (5 s): together, not one after another, and beyond the 5 s default.
  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await discovery?.close();
    await backend?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const setDesired = (t: EngineTarget | undefined) => {
    for (const i of IPS.keys()) {
      if (t) desired.set(pod(i), t);
      else desired.delete(pod(i));
    }
    discovery.ads.pushEngines();
  };
  const scrape = (a: AgentProcess) => a.prometheus();
  const engineVersions = () => Object.values(reports().engines).map((e) => e.engine);
  const requestsTotal = (text: string) =>
    text
      .split("\n")
      .filter((l) => l.startsWith("istio_requests_total{"))
      .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);

  it("three agents under 300 req/s each hot-restart onto the engine discovery names, without a failed request, and report it", async () => {
    expect(reports().versions).toEqual({ "0.2.0": 3 });
    const loadStarted = Date.now();
    const traffic = load(RATE);
    await traffic.until((c) => c.ok > 0, 30_000, "some traffic");
    const before = await Promise.all(agents.map(async (a) => requestsTotal(await scrape(a))));
    process.stderr.write(`switch at ${Date.now() - loadStarted} ms\n`);
    setDesired(B);
    await until("every agent on engine B", () => {
      const r = reports();
      return (
        r.versions["0.2.1"] === 3 &&
        Object.values(r.engines).every((e) => e.phase === "Running" && e.binaryPath === B.binaryPath)
      );
    });
    const okAtSwitch = traffic.last.ok;
    await traffic.until((c) => c.ok > okAtSwitch, 30_000, "traffic after the switch");
    const count = await traffic.stop();
    expect(count.errors).toEqual({});
    expect(count.failed).toBe(0);
    expect(engineVersions()).toEqual(["0.2.1", "0.2.1", "0.2.1"]);
    // The old engines' totals carried over: no agent's counter went back.
    const after = await Promise.all(agents.map(async (a) => requestsTotal(await scrape(a))));
    after.forEach((n, i) => expect(n).toBeGreaterThan(before[i] ?? Infinity));
  }, 90_000);

  it("a missing engine is refused: the old one keeps serving, and the report names the path", async () => {
    const traffic = load(50);
    setDesired({ version: "9.9.9", binaryPath: "/usr/local/bin/weft-engine" });
    const failed = await until("every agent reporting Failed", () => {
      const e = Object.values(reports().engines);
      return e.length === 3 && e.every((x) => x.phase === "Failed") && e;
    });
    expect(failed[0]?.error).toContain(join(engines, "9.9.9", "usr/local/bin/weft-engine"));
    const count = await traffic.stop();
    expect(count.errors).toEqual({});
    expect(count.ok).toBeGreaterThan(0);
    expect(engineVersions()).toEqual(["0.2.1", "0.2.1", "0.2.1"]);
  }, 60_000);

  it("an engine that crash-loops after its hot restart is rolled back, and the report says so", async () => {
    const C: EngineTarget = { version: "0.2.0", binaryPath: "/opt/weft/engine-crashy" };
    engine(engines, C, "0.3.0-crashy", 2000);
    setDesired(C);
    const failed = await until(
      "every agent back on B, reporting the crash loop",
      () => {
        const e = Object.values(reports().engines);
        return (
          e.length === 3 &&
          e.every(
            (x) =>
              x.phase === "Failed" &&
              x.binaryPath !== C.binaryPath &&
              x.target?.binaryPath === C.binaryPath &&
              x.engine !== "",
          ) &&
          e
        );
      },
      60_000,
    );
    expect(failed[0]?.error).toMatch(/crashed 3 times .* rolled back/);
    expect(await hit(IPS[0] ?? "")).toBe(200);
  }, 90_000);
});
