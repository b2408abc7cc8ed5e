// spec.meshConfig reaches running proxies with no restart: the operator's rendering of ConfigMap weft-mesh, changed
// with kubectl, is read by `weft discovery` (Kubernetes mode) and pushed; a real `weft proxy` agent's /config_dump
// shows the new default retry attempts on its routes, and with the access log turned on it logs each request.
import { spawn, type ChildProcess } from "node:child_process";
import { request } from "node:http";
import { stringify } from "yaml";
import { normalizeSpec } from "../../operator/api/spec.js";
import { render } from "../../operator/install/render.js";
import { REPO_ROOT } from "../../hack/cluster/layout.js";
import { applyBookinfo } from "./support/bookinfo.js";
import { DiscoveryProcess } from "./support/discovery.js";
import { kube, kubectl } from "./support/kubectl.js";
import { freePort } from "./support/operator.js";

const NS = "meshcfg-apps";
const MESH_NS = "weft-meshcfg";
const IP = "127.0.60.31"; // the agent binds its listeners here (interception NONE); pod IPs are only data

/** ConfigMap weft-mesh exactly as the operator renders it for this spec.meshConfig. */
function meshConfigMap(meshConfig: object): string {
  const cm = render(normalizeSpec({ namespace: MESH_NS, meshConfig }), {
    name: "meshcfg",
    uid: "u",
    ca: { certPem: "C", keyPem: "K" },
  }).objects.find((o) => o.kind === "ConfigMap" && o.metadata?.name === "weft-mesh") as {
    data: Record<string, string>;
  };
  return stringify({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "weft-mesh", namespace: MESH_NS },
    data: cm.data,
  });
}

type Dump = {
  resources?: {
    routes?: {
      virtual_hosts?: { routes?: { route?: { cluster?: string; retry_policy?: { num_retries?: number } } }[] }[];
    }[];
  };
};

describe("meshConfig takes effect without a restart", () => {
  let discovery: DiscoveryProcess | undefined;
  let agent: ChildProcess | undefined;
  let out = "";
  let admin = 0;

  const dump = async (): Promise<Dump | undefined> => {
    try {
      return (await (await fetch(`http://${IP}:${admin}/config_dump`)).json()) as Dump;
    } catch {
      return undefined;
    }
  };
  // The routes to the mesh's services (Istio's allow_any route to PassthroughCluster has no retry policy, as in Istio).
  const retries = (d: Dump | undefined): number[] =>
    (d?.resources?.routes ?? [])
      .flatMap((r) => r.virtual_hosts ?? [])
      .flatMap((v) => v.routes ?? [])
      .filter((r) => r.route?.cluster?.startsWith("outbound|"))
      .map((r) => r.route?.retry_policy?.num_retries ?? -1);
  async function until<T>(what: string, probe: () => Promise<T | undefined>, ms: number): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50)); // /config_dump is a snapshot endpoint: no watch to await
    }
  }

  beforeAll(async () => {
    await kube(["apply", "-f", "-"], `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${MESH_NS} }\n`);
    await applyBookinfo(NS);
    await kube(["apply", "-f", "-"], meshConfigMap({}));
    discovery = await DiscoveryProcess.start(MESH_NS, "meshcfg", ["--webhook-port=-1"]);
    admin = await freePort();
    const [stats, ready] = [await freePort(), await freePort()];
    const nodeId = `sidecar~${IP}~productpage-v1-x.${NS}~${NS}.svc.cluster.local`;
    agent = spawn(
      process.execPath,
      [
        `${REPO_ROOT}/dist/operator/cli/main.js`,
        "proxy",
        "--discovery-address",
        discovery.xdsTarget,
        "--node-id",
        nodeId,
        "--admin-port",
        `${admin}`,
        "--stats-port",
        `${stats}`,
        "--ready-port",
        `${ready}`,
        "--outbound-port",
        "15001",
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    agent.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    await until("the agent's first config", async () => (retries(await dump()).length > 0 ? true : undefined), 60_000);
  }, 120_000);

  afterAll(async () => {
    agent?.kill("SIGTERM");
    await discovery?.stop();
    await kubectl(["delete", "namespace", NS, MESH_NS, "--wait=false"]);
  });

  it("changing defaultRetryPolicy.attempts reaches the proxy's routes", async () => {
    expect(new Set(retries(await dump()))).toEqual(new Set([2])); // Istio's default, from the rendered ConfigMap
    const started = Date.now();
    await kube(["apply", "-f", "-"], meshConfigMap({ defaultRetryPolicy: { attempts: 7 } }));
    await until(
      "num_retries 7 on every route",
      async () => (retries(await dump()).every((n) => n === 7) ? true : undefined),
      10_000,
    );
    process.stderr.write(
      `mesh-config: attempts 2 → 7 reached the agent's /config_dump in ${Date.now() - started} ms\n`,
    );
  });

  it("turning the access log on makes the proxy log each request (TEXT, Istio's field order)", async () => {
    await kube(
      ["apply", "-f", "-"],
      meshConfigMap({ defaultRetryPolicy: { attempts: 7 }, accessLog: { enabled: true, encoding: "TEXT" } }),
    );
    // An unknown host under ALLOW_ANY (Istio's default) goes to PassthroughCluster; with no interception there is no
    // original destination to pass it to: 503 UH, as Envoy answers.
    const logged = (path: string) => out.split("\n").find((l) => l.includes(`"GET ${path} HTTP/1.1" 503 UH`));
    // The config reaches the engine a moment after kubectl returns: ask until a request is logged.
    const line = await until(
      "an access log line",
      async () => {
        const path = `/probe-${Date.now()}`;
        await new Promise<void>((resolve) => {
          const req = request(
            { host: IP, port: 15001, path, headers: { host: "no-such-service" }, agent: false },
            (res) => res.resume().on("end", resolve),
          );
          req.on("error", () => resolve());
          req.end();
        });
        await new Promise((r) => setTimeout(r, 100)); // the line is written after the response
        return logged(path);
      },
      15_000,
    );
    expect(line).toMatch(
      /^\[\d{4}-\d\d-\d\dT[^\]]+\] "GET \/probe-\d+ HTTP\/1\.1" 503 UH \d+ \d+ \d+ "-" "-" "[^"]*" "no-such-service" "-" /,
    );
  });
});
