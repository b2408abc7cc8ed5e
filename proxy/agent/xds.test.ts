// The agent as an xDS client against the real `weft discovery --config-dir` (the built CLI, as a child process):
// listeners bound from LDS on the proxy's IP, routing by Host to EDS endpoints, a file change taking effect, a
// NACK that leaves the last good config serving, a removed listener closed, and a reconnect, with two engine workers
// (concurrency 2). All on 127.0.30.x.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ECHO_SUBSETS } from "../../test/support/discovery/mesh.js";
import { startXdsAgent, type XdsAgent } from "./xds-main.js";

const CLI = join(process.cwd(), "dist/operator/cli/main.js");
const ENGINE = join(process.cwd(), "dist/proxy/engine/child.js");
const D = "127.0.30.1";
const ME = "127.0.30.11";

function hget(host: string, port: number, hostHeader: string, path = "/"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, headers: { host: hostHeader }, agent: false }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

function backend(address: string, name: string): Promise<Server> {
  const s = createServer((_req, res) => res.end(name));
  return new Promise((resolve) => s.listen({ host: address, port: 9080 }, () => resolve(s)));
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await Promise.resolve(probe()).catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const entries = (withMe: boolean, clientPorts = [9080]) => `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: echo }
spec: { hosts: [echo], ports: [{ number: 9080, name: http, protocol: HTTP }], resolution: STATIC, workloadSelector: { labels: { app: echo } } }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: client }
spec: { hosts: [client], ports: [${clientPorts.map((p) => `{ number: ${p}, name: http-${p}, protocol: HTTP }`).join(", ")}], resolution: STATIC, workloadSelector: { labels: { app: client } } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: echo-v1 }
spec: { address: 127.0.30.21, ports: { http: 9080 }, labels: { app: echo, version: v1 } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: echo-v2 }
spec: { address: 127.0.30.22, ports: { http: 9080 }, labels: { app: echo, version: v2 } }
${withMe ? `---\napiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: { name: client-v1 }\nspec: { address: ${ME}, ports: { ${clientPorts.map((p) => `http-${p}: ${p}`).join(", ")} }, labels: { app: client, version: v1 } }\n` : ""}`;

// Test data shared with discovery's tests: the echo DestinationRule with subsets v1 and v2.
const routeTo = (subset: string, regex = "") => `${ECHO_SUBSETS}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: echo }
spec:
  hosts: [echo]
  http:
  ${regex ? `- match: [{ uri: { regex: "${regex}" } }]\n    route: [{ destination: { host: echo, subset: v1 } }]\n  ` : ""}- route: [{ destination: { host: echo, subset: ${subset} } }]
`;

describe("agent over xDS from weft discovery", () => {
  beforeAll(() => {
    for (const f of [CLI, ENGINE])
      if (!existsSync(f))
        throw new Error(`${f} is missing: this suite runs the built CLI; run \`npm run build\` first`);
  });
  const dir = mkdtempSync(join(tmpdir(), "weft-xds-"));
  const servers: Server[] = [];
  let discovery: ChildProcess | undefined;
  let proxy: XdsAgent;
  const notes: string[] = [];
  const startDiscovery = async (): Promise<void> => {
    discovery = spawn(process.execPath, [CLI, "discovery", "--config-dir", dir, "--address", D], {
      stdio: "ignore",
      env: { ...process.env, WEFT_LOG_LEVEL: "warn" },
    });
    await until("discovery", async () => (await fetch(`http://${D}:15014/ready`)).ok);
  };
  const syncz = async () =>
    (await (await fetch(`http://${D}:15014/debug/syncz`)).json()) as {
      node: string;
      configVersion?: string;
      types: Record<string, { nack?: { error: string } }>;
    }[];
  const configVersion = async () =>
    ((await (await fetch(`http://${D}:15014/debug/configz`)).json()) as { version: string }).version;
  /** Waits for discovery to see a change and this proxy to serve it. */
  const applied = async (): Promise<void> => {
    const before = proxy.xds.applied;
    const v = await until("a new config generation", async () => {
      const now = await configVersion();
      return Number(now) > Number(before) ? now : undefined;
    });
    await until(`the proxy at version ${v}`, () => Number(proxy.xds.applied) >= Number(v));
  };
  const echo = () => hget(ME, 15001, "echo:9080").then((r) => r.body);

  beforeAll(async () => {
    writeFileSync(join(dir, "mesh.yaml"), entries(true));
    servers.push(
      await backend("127.0.30.21", "v1"),
      await backend("127.0.30.22", "v2"),
      await backend("127.0.30.31", "app"),
    );
    await startDiscovery();
    proxy = await startXdsAgent({
      discoveryAddress: `${D}:15010`,
      nodeId: `sidecar~${ME}~client-v1.default~default.svc.cluster.local`,
      appAddress: "127.0.30.31",
      binaryPath: ENGINE,
      concurrency: 2, // Istio's default for sidecars: every config reaches both workers
      adminPort: 0,
      statsPort: false,
      readyPort: false,
      drainSeconds: 0.2,
      log: (line) => notes.push(line),
    });
    await until("a first config", () => proxy.xds.applied !== "");
  }, 30_000);

  it("is ready only once it serves a config from discovery", async () => {
    expect((await fetch(`http://${ME}:${proxy.agent.ports.admin}/ready`)).status).toBe(200);
    const early = await startXdsAgent({
      discoveryAddress: "127.0.30.1:1",
      nodeId: "sidecar~127.0.30.12~x.default~default.svc.cluster.local",
      binaryPath: ENGINE,
      adminPort: 0,
      statsPort: false,
      readyPort: false,
      log: () => undefined,
    });
    const status = (await fetch(`http://127.0.30.12:${early.agent.ports.admin}/ready`)).status;
    await early.stop();
    expect(status).toBe(503);
  });

  afterAll(async () => {
    await proxy?.stop();
    discovery?.kill("SIGTERM");
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("binds LDS listeners on its own IP, routes by Host to EDS endpoints, and forwards inbound to its app", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add(await echo());
    expect([...seen].sort()).toEqual(["v1", "v2"]);
    expect((await hget(ME, 9080, "client:9080")).body).toBe("app");
    // An unknown host under Istio's default outbound policy (ALLOW_ANY) is not a 404: it goes to PassthroughCluster
    // (ORIGINAL_DST), which forwards to where the client was going. Here nothing was intercepted and "nothing-here"
    // is no ip:port, so there is no host to pass to: Envoy's 503 "no healthy upstream" (UH). REGISTRY_ONLY would 502.
    const unknown = await hget(ME, 15001, "nothing-here:9080");
    expect(unknown.status).toBe(503);
    expect(unknown.body).toBe("no healthy upstream");
  });

  it("applies a VirtualService change, and /config_dump shows the versions", async () => {
    writeFileSync(join(dir, "routes.yaml"), routeTo("v2"));
    await applied();
    for (let i = 0; i < 10; i++) expect(await echo()).toBe("v2");
    const dump = (await (await fetch(`http://${ME}:${proxy.agent.ports.admin}/config_dump`)).json()) as {
      xds: { applied_version: string; types: Record<string, { version: string }> };
    };
    expect(dump.xds.applied_version).toBe(await configVersion());
    expect(Object.keys(dump.xds.types).sort()).toEqual(["CDS", "EDS", "LDS", "RDS", "SDS"]);
  });

  it("NACKs a config the engine can't take, naming resource and field, and keeps serving the last good one", async () => {
    // Discovery validates with the engine's own rules (RE2 regexes, header values), so what it accepts the engine
    // compiles; what only the proxy can find out is a port it can't bind. Something else holds ME:9081.
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen({ host: ME, port: 9081 }, resolve));
    writeFileSync(join(dir, "mesh.yaml"), entries(true, [9080, 9081]));
    const nack = await until("a NACK in /debug/syncz", async () => {
      const me = (await syncz()).find((p) => p.node.includes(ME));
      return me?.types["RDS"]?.nack?.error; // the set is applied whole once RDS completes it
    });
    expect(nack).toMatch(/^RDS: Listener "virtualInbound_9081": address: cannot listen on 127\.0\.30\.11:9081/);
    expect(notes.some((n) => n.startsWith("xds: NACK RDS"))).toBe(true);
    for (let i = 0; i < 10; i++) expect(await echo()).toBe("v2");
    squatter.close();
    writeFileSync(join(dir, "mesh.yaml"), entries(true));
    writeFileSync(join(dir, "routes.yaml"), routeTo("v1"));
    await until("the fix applied", async () => (await echo()) === "v1");
  });

  it("closes a listener LDS no longer has", async () => {
    writeFileSync(join(dir, "mesh.yaml"), entries(false));
    await until("the inbound listener closed", () =>
      hget(ME, 9080, "client:9080").then(
        () => undefined,
        () => true,
      ),
    );
    expect(await echo()).toBe("v1");
  });

  it("hot-restarts the engine onto the listeners LDS brought", async () => {
    const admin = `http://${ME}:${proxy.agent.ports.admin}`;
    expect((await fetch(`${admin}/hot_restart`, { method: "POST" })).ok).toBe(true);
    expect(((await (await fetch(`${admin}/config_dump`)).json()) as { epoch: number }).epoch).toBe(1);
    for (let i = 0; i < 5; i++) expect(await echo()).toBe("v1");
  });

  it("keeps serving while discovery is away, and reconnects when it is back", async () => {
    const gone = discovery as ChildProcess;
    gone.kill("SIGTERM");
    await new Promise((r) => gone.once("exit", r));
    await until("the stream to notice", () => !proxy.xds.connected);
    for (let i = 0; i < 5; i++) expect(await echo()).toBe("v1");
    await startDiscovery();
    await until("the proxy back in /debug/syncz", async () => (await syncz()).some((p) => p.node.includes(ME)));
    expect(await echo()).toBe("v1");
  }, 20_000);
});
