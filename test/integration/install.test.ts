// The MeshInstallation lifecycle against a real API server, driven with kubectl as a user
// would: install, drift repair, rest, deletion.
import { REPO_ROOT } from "../../hack/cluster/layout.js";
import { getJson, kube } from "./support/kubectl.js";
import { ObjectWatch, condition } from "./support/mesh.js";
import { operatorAndMesh } from "./support/operator.js";

const OWNED_KINDS =
  "serviceaccounts,services,configmaps,secrets,deployments,roles,rolebindings,clusterroles,clusterrolebindings,mutatingwebhookconfigurations,validatingwebhookconfigurations";
type Obj = { kind: string; metadata: { name: string; namespace?: string; uid: string; resourceVersion: string } };
const ownedBy = async (mesh: string) =>
  (await getJson<{ items: Obj[] }>(["get", OWNED_KINDS, "-A", "-l", `weft.dev/mesh=${mesh}`])).items;

describe("a MeshInstallation applied with kubectl", () => {
  const f = operatorAndMesh("install-test", "default", ["--log-level=debug"]);

  it("becomes Ready within 30 s, with KWOK's weftd pods Ready, and kubectl get mesh shows real values", async () => {
    await kube(["apply", "-f", `${REPO_ROOT}/samples/mesh.yaml`]);
    await kube(["wait", "--for=condition=Ready", "mesh/default", "--timeout=30s"]);

    const pods = await getJson<{ items: { status: { conditions: { type: string; status: string }[] } }[] }>([
      "get",
      "pods",
      "-n",
      "weft-system",
      "-l",
      "app=weftd",
    ]);
    expect(pods.items).toHaveLength(2);
    for (const p of pods.items) expect(p.status.conditions.find((c) => c.type === "Ready")?.status).toBe("True");

    const [header, row] = (await kube(["get", "mesh", "default"])).trim().split("\n");
    expect(header?.split(/\s+/)).toEqual([
      "NAME",
      "NAMESPACE",
      "VERSION",
      "READY",
      "PROXIES",
      "SYNCED",
      "UPGRADED",
      "STATE",
      "AGE",
    ]);
    expect(row).toMatch(/^default\s+weft-system\s+0\.2\.0\s+True\s+.*Healthy\s+\d+s$/);
  });

  it("restores a deleted injector ConfigMap in under 10 s", async () => {
    const before = await getJson<Obj>(["get", "configmap", "weft-sidecar-injector", "-n", "weft-system"]);
    const watch = await ObjectWatch.start<Obj>("/api/v1/namespaces/weft-system/configmaps", "weft-sidecar-injector");
    try {
      await kube(["delete", "configmap", "weft-sidecar-injector", "-n", "weft-system"]);
      const restored = await watch.until(
        (o, phase) => phase === "ADDED" && o.metadata.uid !== before.metadata.uid,
        10_000,
        "the ConfigMap re-created",
      );
      expect(restored.metadata.uid).not.toBe(before.metadata.uid);
    } finally {
      watch.stop();
    }
  });

  it("undoes an edit of the injector's values in under 10 s", async () => {
    const original = await getJson<{ data: { values: string } }>([
      "get",
      "configmap",
      "weft-sidecar-injector",
      "-n",
      "weft-system",
    ]);
    const watch = await ObjectWatch.start<{ data: { values: string } } & Obj>(
      "/api/v1/namespaces/weft-system/configmaps",
      "weft-sidecar-injector",
    );
    try {
      await kube([
        "patch",
        "configmap",
        "weft-sidecar-injector",
        "-n",
        "weft-system",
        "--type=merge",
        "-p",
        JSON.stringify({ data: { values: '{"global":{"hub":"evil.example.com"}}' } }),
      ]);
      await watch.until((o) => o.data.values.includes("evil.example.com"), 10_000, "the edit");
      const repaired = await watch.until(
        (o) => o.data.values === original.data.values,
        10_000,
        "the original values restored",
      );
      expect(JSON.parse(repaired.data.values).global.hub).toBe("ghcr.io/weft-mesh");
    } finally {
      watch.stop();
    }
  });

  it("at rest for 60 s after Ready, writes nothing and reconciles nothing", async () => {
    await kube(["wait", "--for=condition=Ready", "mesh/default", "--timeout=30s"]);
    // Let the repairs above settle: their own watch events trigger one last no-op reconcile.
    const settled = await f.operator.reconciles();
    const versions = async () => {
      const m = await getJson<Obj>(["get", "mesh", "default"]);
      const owned = await ownedBy("default");
      return new Map(
        [m, ...owned].map((o) => [
          `${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`,
          o.metadata.resourceVersion,
        ]),
      );
    };
    const before = await versions();
    const reconcilesBefore = await f.operator.reconciles();
    const linesBefore = f.operator.lines.length;
    await new Promise((r) => setTimeout(r, 60_000)); // the observation window itself
    const after = await versions();
    expect([...after.entries()]).toEqual([...before.entries()]);
    expect(before.size).toBeGreaterThanOrEqual(12);
    // Each reconcile in the window is named by what woke it (the operator runs at debug level here).
    const woken = f.operator.lines.slice(linesBefore).filter((l) => l.msg === "enqueued");
    expect({ reconciles: await f.operator.reconciles(), woken: woken.map((l) => l["trigger"]) }).toEqual({
      reconciles: reconcilesBefore,
      woken: [],
    });
    expect(reconcilesBefore).toBeGreaterThanOrEqual(settled);
  }, 90_000);

  it("deleting it removes every object it created, webhooks and namespace included", async () => {
    const owned = await ownedBy("default");
    expect(owned.map((o) => o.kind)).toEqual(
      expect.arrayContaining([
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
        "ClusterRole",
        "Deployment",
      ]),
    );
    await kube(["delete", "mesh", "default", "--timeout=30s"]);
    expect(await ownedBy("default")).toEqual([]);
    await kube(["wait", "--for=delete", "namespace/weft-system", "--timeout=60s"]);
    const finalized = await f.mesh.until((_o, phase) => phase === "DELETED", 5_000, "the mesh deleted");
    expect(condition(finalized, "Ready")).toBeDefined();
  });
});
