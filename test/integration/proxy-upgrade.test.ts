// Sidecar upgrades driven by the operator, end to end on the process cluster: the operator (a process) installs a
// mesh; discovery (a process, Kubernetes source) serves /inject and ADS and writes the proxy report; three KWOK-run
// Deployments are injected; their weft-proxy containers run as real agent processes (support/sidecars.ts) with a
// local engines directory. spec.proxy changes are then followed under load: HotRestart paced by maxUnavailable,
// a missing engine that pauses the upgrade with the pods and cause in status, a fix that resumes it, 60 s at rest
// with no writes, and RollingRestart one Deployment at a time.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { LoadProcess } from "../support/load-process.js";
import { REPO_ROOT } from "../../hack/paths.js";
import type { MeshInstallation } from "../../operator/api/types.js";
import { DiscoveryProcess } from "./support/discovery.js";
import { getJson, kube, kubectl } from "./support/kubectl.js";
import { condition } from "./support/mesh.js";
import { operatorAndMesh } from "./support/operator.js";
import { Sidecars } from "./support/sidecars.js";

const MESH = "upgrades";
const MESH_NS = "weft-upgrades";
const APP_NS = "upgrade-app";
const WEBHOOK = "weft-upgrade-test-injector";
const BACKEND = "127.0.41.2";
const APPS = ["app-0", "app-1", "app-2"];
const ENGINES: [string, string][] = [
  ["/usr/local/bin/weft-engine", "0.2.0"],
  ["/opt/weft/engine-b", "0.2.1"],
  ["/opt/weft/engine-c", "0.2.2"],
  ["/opt/weft/engine-d", "0.2.3"],
];

const mesh = `apiVersion: weft.dev/v1alpha1
kind: MeshInstallation
metadata: { name: ${MESH} }
spec: { namespace: ${MESH_NS}, proxy: { restartPolicy: HotRestart, maxUnavailable: 1 } }
`;
const deployment = (name: string) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: ${APP_NS} }
spec:
  replicas: 1
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} }, annotations: { sidecar.istio.io/inject: "true" } }
    spec: { containers: [{ name: app, image: example.com/app:1 }] }
`;
const echo = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: echo, namespace: ${APP_NS} }
spec: { hosts: [echo], ports: [{ number: 9080, name: http, protocol: HTTP }], resolution: STATIC, workloadSelector: { labels: { app: echo } } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: echo, namespace: ${APP_NS} }
spec: { address: ${BACKEND}, ports: { http: 9080 }, labels: { app: echo } }
`;

const upgraded = (m: MeshInstallation) => condition(m, "ProxiesUpgraded");
const completedOn = (binaryPath: string, version: string) => (m: MeshInstallation) =>
  upgraded(m)?.status === "True" &&
  (upgraded(m)?.message ?? "").includes(`3/3 upgraded to 0.2.0 ${binaryPath}`) &&
  m.status?.proxies?.versions?.[version] === 3;
const patchMesh = (proxy: object) =>
  kube(["patch", "mesh", MESH, "--type", "merge", "-p", JSON.stringify({ spec: { proxy } })]);
const annotations = async () =>
  (
    await getJson<{ items: { metadata: { annotations?: Record<string, string> } }[] }>(["get", "pods", "-n", APP_NS])
  ).items.map((p) => p.metadata.annotations?.["weft.dev/engine"] ?? "");

describe("sidecar upgrades driven by the operator", () => {
  const f = operatorAndMesh("upgrades-test", MESH);
  const dir = mkdtempSync(join(tmpdir(), "weft-upgrade-"));
  let discovery: DiscoveryProcess | undefined;
  let sidecars: Sidecars | undefined;
  let backend: LoadProcess | undefined;
  const load = () =>
    new LoadProcess(
      (sidecars?.ips() ?? []).map((ip) => `http://${ip}:15001/`),
      { rate: 300, host: "echo:9080" },
    );

  beforeAll(async () => {
    for (const [binaryPath, version] of ENGINES) {
      const file = join(dir, "0.2.0", binaryPath);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(
        file,
        `process.env.WEFT_ENGINE_VERSION = ${JSON.stringify(version)};\nimport(${JSON.stringify(`${REPO_ROOT}/dist/proxy/engine/child.js`)});\n`,
      );
    }
    await kube(["apply", "-f", "-"], `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${APP_NS} }\n`);
    await kube(["apply", "-f", "-"], mesh);
    await f.mesh.until((m) => condition(m, "Reconciled")?.status === "True", 30_000, "the mesh reconciled");
    discovery = await DiscoveryProcess.start(MESH_NS, MESH, [`--watch-namespace=${APP_NS}`]);
    const secret = await getJson<{ data: Record<string, string> }>(["get", "secret", "weft-ca-secret", "-n", MESH_NS]);
    const webhook = {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "MutatingWebhookConfiguration",
      metadata: { name: WEBHOOK },
      webhooks: [
        {
          name: "upgrade-test.sidecar-injector.weft.dev",
          clientConfig: {
            url: `https://127.0.0.1:${discovery.webhookPort}/inject`,
            caBundle: secret.data["ca-cert.pem"],
          },
          rules: [
            { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"], scope: "Namespaced" },
          ],
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": APP_NS } },
          sideEffects: "None",
          admissionReviewVersions: ["v1"],
          failurePolicy: "Fail",
        },
      ],
    };
    await kube(["apply", "-f", "-"], JSON.stringify(webhook));
    const probe = JSON.stringify({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "probe", namespace: APP_NS, annotations: { "sidecar.istio.io/inject": "true" } },
      spec: { containers: [{ name: "a", image: "x" }] },
    });
    for (let i = 0; i < 100; i++) {
      const r = await kubectl(["create", "--dry-run=server", "-o", "json", "-f", "-"], probe);
      if (r.code === 0 && r.stdout.includes("weft-proxy")) break;
    }
    await kube(["apply", "-f", "-"], echo);
    backend = new LoadProcess([], { rate: 0, backend: `${BACKEND}:9080` });
    await kube(["apply", "-f", "-"], APPS.map(deployment).join("---\n"));
    sidecars = new Sidecars({
      namespace: APP_NS,
      discoveryAddress: discovery.xdsTarget,
      enginesDir: dir,
      engineVersion: "0.2.0",
      ipBase: "127.0.41",
      args: ["--engine-wait", "3s"],
    });
    sidecars.start();
  }, 120_000);

  afterAll(async () => {
    await sidecars?.stop();
    await kubectl(["delete", "mutatingwebhookconfiguration", WEBHOOK, "--ignore-not-found"]);
    await kubectl(["delete", "namespace", APP_NS, "--wait=false"]);
    await discovery?.stop();
    await backend?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("reports every injected proxy on the mesh's engine: ProxiesUpgraded=True, versions, and kubectl get mesh's UPGRADED", async () => {
    const m = await f.mesh.until(
      completedOn("/usr/local/bin/weft-engine", "0.2.0"),
      90_000,
      "3/3 proxies reporting the first engine",
    );
    expect(m.status?.proxies).toMatchObject({ connected: 3, upgraded: "3/3", versions: { "0.2.0": 3 } });
    const [header, row] = (await kube(["get", "mesh", MESH])).trim().split("\n");
    expect(header?.split(/\s+/)).toContain("UPGRADED");
    expect(row).toMatch(/\s3\/3\s/);
  }, 120_000);

  it("HotRestart: binaryPath changes under 300 req/s per proxy, every agent hot-restarts pod by pod, no request fails", async () => {
    const traffic = load();
    await traffic.until((c) => c.ok > 0, 30_000, "traffic through the sidecars");
    f.mesh.reset();
    await patchMesh({ binaryPath: "/opt/weft/engine-b" });
    const done = await f.mesh.until(completedOn("/opt/weft/engine-b", "0.2.1"), 120_000, "every proxy on engine b");
    const count = await traffic.stop();
    expect(count.errors).toEqual({});
    expect(count.ok).toBeGreaterThan(0);
    expect(done.status?.proxies?.versions).toEqual({ "0.2.1": 3 });
    // Paced by maxUnavailable 1: status went 0/3, 1/3, 2/3 on its way.
    const steps = f.mesh.seen
      .map((s) => upgraded(s.obj))
      .filter((c) => c?.reason === "InProgress")
      .map((c) => c?.message.slice(0, 3));
    expect(steps).toEqual(expect.arrayContaining(["0/3", "1/3", "2/3"]));
  }, 180_000);

  it("a missing engine pauses the upgrade at maxUnavailable, names the pod and the path, and the old engine serves; a fixed spec resumes it", async () => {
    const traffic = load();
    await traffic.until((c) => c.ok > 0, 30_000, "traffic through the sidecars");
    await patchMesh({ binaryPath: "/opt/weft/engine-missing" });
    const failed = await f.mesh.until((m) => upgraded(m)?.reason === "Failed", 90_000, "ProxiesUpgraded=False/Failed");
    expect(upgraded(failed)?.message).toMatch(
      new RegExp(
        `^0/3 upgraded .*1 failed: ${APP_NS}/app-\\d-[a-z0-9]+-[a-z0-9]+: engine 0.2.0 /opt/weft/engine-missing is missing: no ${dir}/0.2.0/opt/weft/engine-missing`,
      ),
    );
    expect((await annotations()).filter((a) => a.includes("engine-missing"))).toHaveLength(1);
    expect(failed.status?.proxies?.versions).toEqual({ "0.2.1": 3 });
    f.mesh.reset();
    await patchMesh({ binaryPath: "/opt/weft/engine-c" });
    await f.mesh.until(completedOn("/opt/weft/engine-c", "0.2.2"), 120_000, "every proxy on engine c");
    const count = await traffic.stop();
    expect(count.errors).toEqual({});
  }, 240_000);

  it("at rest for 60 s after Completed, the operator writes nothing and reconciles nothing", async () => {
    const versions = async () => {
      const m = await getJson<{ metadata: { resourceVersion: string } }>(["get", "mesh", MESH]);
      const objs = await getJson<{
        items: { kind: string; metadata: { name: string; namespace?: string; resourceVersion: string } }[];
      }>(["get", "pods,deployments", "-n", APP_NS]);
      const cms = await getJson<{ items: { kind: string; metadata: { name: string; resourceVersion: string } }[] }>([
        "get",
        "configmaps",
        "-n",
        MESH_NS,
      ]);
      return new Map([
        ["mesh", m.metadata.resourceVersion],
        ...[...objs.items, ...cms.items].map((o): [string, string] => [
          `${o.kind}/${o.metadata.name}`,
          o.metadata.resourceVersion,
        ]),
      ]);
    };
    const before = await versions();
    const reconciles = await f.operator.reconciles();
    await new Promise((r) => setTimeout(r, 60_000)); // the observation window itself
    expect([...(await versions()).entries()]).toEqual([...before.entries()]);
    expect(await f.operator.reconciles()).toBe(reconciles);
  }, 90_000);

  it("RollingRestart restarts the injected Deployments one at a time, and status follows the new pods' agents", async () => {
    let maxRolling = 0;
    let sampling = true;
    const sample = (async () => {
      while (sampling) {
        const ds = await getJson<{
          items: {
            metadata: { generation: number };
            spec: { replicas: number };
            status: {
              observedGeneration?: number;
              updatedReplicas?: number;
              availableReplicas?: number;
              replicas?: number;
            };
          }[];
        }>(["get", "deployments", "-n", APP_NS]);
        const rolling = ds.items.filter(
          (d) =>
            (d.status.observedGeneration ?? 0) < d.metadata.generation ||
            d.status.updatedReplicas !== d.spec.replicas ||
            d.status.replicas !== d.spec.replicas ||
            d.status.availableReplicas !== d.spec.replicas,
        );
        maxRolling = Math.max(maxRolling, rolling.length);
      }
    })();
    await patchMesh({ restartPolicy: "RollingRestart", binaryPath: "/opt/weft/engine-d" });
    await f.mesh.until(completedOn("/opt/weft/engine-d", "0.2.3"), 180_000, "every proxy on engine d, in new pods");
    sampling = false;
    await sample;
    const restarts = f.operator.lines
      .filter((l) => l.msg === "workload restarted for its proxies")
      .map((l) => l["deployment"]);
    expect([...restarts].sort()).toEqual(APPS.map((a) => `${APP_NS}/${a}`));
    expect(maxRolling).toBeLessThanOrEqual(1);
    expect(sidecars?.agents.size).toBe(3);
  }, 240_000);
});
