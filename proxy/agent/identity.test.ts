// The agent's workload identity against the real `weft discovery --ca-dir` (the built CLI, a child process): it
// gets a certificate from the mesh CA on :15012 with its token, is configured over xDS on that port with mTLS,
// rotates its certificate at half life without losing its config, and stays unready saying why when the CA
// refuses its token. On 127.0.32.x.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../hack/paths.js";
import { localCa } from "../../operator/discovery/ca/local.js";
import { mintLocalToken } from "../../operator/discovery/ca/authn.js";
import { startXdsAgent, type XdsAgent } from "./xds-main.js";

const CLI = join(process.cwd(), "dist/operator/cli/main.js");
const ENGINE = join(process.cwd(), "dist/proxy/engine/child.js");
const D = "127.0.32.1";

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await Promise.resolve(probe()).catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("the agent's workload certificate (mesh CA and xDS over mTLS on :15012)", () => {
  const dir = mkdtempSync(join(tmpdir(), "weft-identity-"));
  const caDir = join(dir, "ca");
  let discovery: ChildProcess | undefined;
  let secure = 0;
  const agents: XdsAgent[] = [];

  beforeAll(async () => {
    writeFileSync(join(dir, "empty.yaml"), "");
    const [xds, monitoring] = [await freePort(), await freePort()];
    secure = await freePort();
    discovery = spawn(
      process.execPath,
      [
        CLI,
        "discovery",
        ...["--config-dir", dir, "--address", D, "--ca-dir", caDir, "--secure-port", `${secure}`],
        ...["--xds-port", `${xds}`, "--monitoring-port", `${monitoring}`, "--workload-cert-ttl", "4s"],
      ],
      { stdio: "ignore", env: { ...process.env, WEFT_LOG_LEVEL: "warn" } },
    );
    await until("discovery", async () => (await fetch(`http://${D}:${monitoring}/ready`)).ok);
  }, 30_000);

  afterAll(async () => {
    for (const a of agents) await a.stop();
    discovery?.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  });

  async function agent(ip: string, token: string): Promise<XdsAgent> {
    const tokenFile = join(dir, `${ip}.token`);
    writeFileSync(tokenFile, token, { mode: 0o600 });
    const a = await startXdsAgent({
      discoveryAddress: `${D}:${secure}`,
      caAddress: `${D}:${secure}`,
      tokenFile,
      rootCertFile: join(caDir, "ca-cert.pem"),
      nodeId: `sidecar~${ip}~sleep-1.default~default.svc.cluster.local`,
      binaryPath: ENGINE,
      adminPort: 0,
      statsPort: false,
      readyPort: 0,
      drainSeconds: 0.2,
      log: () => undefined,
    });
    agents.push(a);
    return a;
  }

  it("gets its SPIFFE identity, is configured over mTLS, and rotates at half life keeping its config", async () => {
    const { tokenKey } = await localCa(caDir);
    const a = await agent(
      "127.0.32.11",
      mintLocalToken(tokenKey, { namespace: "default", serviceAccount: "sleep" }, 600_000),
    );
    await until("a config over mTLS", () => a.xds.applied !== "");
    const ready = await fetch(`http://127.0.32.11:${a.agent.ports.admin}/ready`);
    expect(ready.status).toBe(200);
    const identity = a.identity;
    expect(identity?.current?.identity).toBe("spiffe://cluster.local/ns/default/sa/sleep");
    // 4 s certificates: a new one every ~2 s; the engine keeps its config and the agent stays ready throughout.
    await until("two rotations", () => (identity?.rotations ?? 0) >= 2);
    expect(a.xds.applied).not.toBe("");
    expect((await fetch(`http://127.0.32.11:${a.agent.ports.admin}/ready`)).status).toBe(200);
    const dump = (await (await fetch(`http://127.0.32.11:${a.agent.ports.admin}/config_dump`)).json()) as unknown;
    expect(JSON.stringify(dump)).not.toContain("BEGIN PRIVATE KEY");
  }, 40_000);

  it("stays unready and says why when the CA refuses its token", async () => {
    const { tokenKey } = await localCa(caDir);
    const wrongAudience = mintLocalToken(
      tokenKey,
      { namespace: "default", serviceAccount: "sleep" },
      600_000,
      "kubernetes",
    );
    const a = await agent("127.0.32.12", wrongAudience);
    const r = await fetch(`http://127.0.32.12:${a.agent.ports.ready}/healthz/ready`);
    expect(r.status).toBe(503);
    expect(await r.text()).toContain("no workload certificate: token refused: audience kubernetes is not istio-ca");
    expect(a.xds.applied).toBe("");
  }, 30_000);
});
