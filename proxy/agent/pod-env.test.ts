// `weft proxy` as the injector starts it in a pod: no flags but the rendered ones, identity from the env the
// injector sets. With discovery unreachable it stays up and unready, and says why in its log and readiness body.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { get } from "node:http";
import { freePort, REPO_ROOT } from "../../hack/paths.js";

const CLI = `${REPO_ROOT}/dist/operator/cli/main.js`;

function fetchText(host: string, port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host, port, path, agent: false }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    }).on("error", reject);
  });
}

type Ports = { admin: number; stats: number; ready: number; discovery: number };

/** Starts `weft proxy` as the injector renders it, with `env` added; resolves once it has tried discovery. */
async function startSidecar(
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; ports: Ports; log: () => string }> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const ports: Ports = {
    admin: await freePort(),
    stats: await freePort(),
    ready: await freePort(),
    discovery: await freePort(),
  };
  let log = "";
  const child = spawn(
    process.execPath,
    [
      CLI,
      "proxy",
      "--type",
      "sidecar",
      "--interception-mode",
      "REDIRECT",
      "--admin-port",
      `${ports.admin}`,
      "--stats-port",
      `${ports.stats}`,
      "--ready-port",
      `${ports.ready}`,
    ],
    {
      // Nothing listens at DISCOVERY_ADDRESS: the port was free a moment ago.
      env: {
        ...process.env,
        POD_NAME: "reviews-v1-abc",
        POD_NAMESPACE: "shop",
        INSTANCE_IP: "10.244.0.5",
        DISCOVERY_ADDRESS: `127.0.0.1:${ports.discovery}`,
        ...env,
      },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  child.stderr?.on("data", (d: Buffer) => (log += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`weft proxy exited ${code}: ${log}`)));
    const check = () => (log.includes("reconnecting") ? resolve() : undefined);
    child.stderr?.on("data", check);
  });
  return { child, ports, log: () => log };
}

async function xdsDump(ports: Ports): Promise<Record<string, unknown>> {
  return (
    JSON.parse((await fetchText("127.0.0.1", ports.admin, "/config_dump")).body) as { xds: Record<string, unknown> }
  ).xds;
}

describe("the sidecar in a pod (env from the injector)", () => {
  let child: ChildProcess;
  let ports: Ports;
  let log: () => string;

  beforeAll(async () => {
    ({ child, ports, log } = await startSidecar());
  });

  afterAll(() => {
    child?.kill("SIGKILL");
  });

  it("builds Istio's node id from POD_NAME, POD_NAMESPACE and INSTANCE_IP; admin answers on 127.0.0.1 only", async () => {
    expect(await xdsDump(ports)).toMatchObject({
      node: "sidecar~10.244.0.5~reviews-v1-abc.shop~shop.svc.cluster.local",
      server: `127.0.0.1:${ports.discovery}`,
      protocol: "delta", // incremental xDS unless told otherwise, as Istio's agents
    });
    await expect(fetchText("127.0.0.2", ports.admin, "/config_dump")).rejects.toThrow(/ECONNREFUSED/);
  });

  it("readiness and Prometheus answer on every address (the pod IP), unready with the reason in the body and the log", async () => {
    const ready = await fetchText("127.0.0.2", ports.ready, "/healthz/ready"); // bound 0.0.0.0, not 127.0.0.1
    expect(ready.status).toBe(503);
    expect(ready.body).toContain(`not ready: no config yet: cannot reach discovery at 127.0.0.1:${ports.discovery}`);
    expect((await fetchText("127.0.0.2", ports.stats, "/stats/prometheus")).status).toBe(200);
    expect(log()).toContain(`xds: stream to 127.0.0.1:${ports.discovery} lost`);
    expect(child.exitCode).toBeNull(); // it keeps trying; it doesn't crash-loop
  });
});

describe("ISTIO_DELTA_XDS=false (a pod's proxyMetadata)", () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill("SIGKILL");
  });

  it("makes the agent speak state-of-the-world xDS", async () => {
    const started = await startSidecar({ ISTIO_DELTA_XDS: "false" });
    child = started.child;
    expect(await xdsDump(started.ports)).toMatchObject({ protocol: "state of the world" });
  });
});
