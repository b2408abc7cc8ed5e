// operator/deploy/ as a user applies it: the operator's own Deployment becomes Available, and
// the operator, running with nothing but its ServiceAccount's token, can install and remove
// a mesh. That proves the least-privilege ClusterRole is enough (Kubernetes refuses to let
// it grant weftd anything it doesn't hold itself).
import { REPO_ROOT } from "../../hack/cluster/layout.js";
import type { MeshInstallation } from "../../operator/api/types.js";
import { getJson, kube, kubectl, serviceAccountKubeconfig } from "./support/kubectl.js";
import type { ObjectWatch } from "./support/mesh.js";
import { isReady, watchMesh } from "./support/mesh.js";
import { OperatorProcess } from "./support/operator.js";

const deploy = `${REPO_ROOT}/operator/deploy`;

describe("the install manifests in operator/deploy", () => {
  let operator: OperatorProcess | undefined;
  let mesh: ObjectWatch<MeshInstallation>;

  beforeAll(async () => {
    await kube(["apply", "--server-side", "--force-conflicts", "-f", deploy]);
    mesh = await watchMesh("rbac");
  });

  afterAll(async () => {
    mesh?.stop();
    await kubectl(["delete", "mesh", "rbac", "--ignore-not-found", "--timeout=30s"]);
    await operator?.stop();
    await kubectl([
      "delete",
      "-f",
      `${deploy}/operator.yaml`,
      "-f",
      `${deploy}/rbac.yaml`,
      "-f",
      `${deploy}/namespace.yaml`,
      "--ignore-not-found",
      "--wait=true",
      "--timeout=60s",
    ]);
  });

  it("run the operator as a leader-elected Deployment of two replicas", async () => {
    await kube(["rollout", "status", "deployment/weft-operator", "-n", "weft-system", "--timeout=30s"]);
    const d = await getJson<{ status: { availableReplicas: number } }>([
      "get",
      "deployment",
      "weft-operator",
      "-n",
      "weft-system",
    ]);
    expect(d.status.availableReplicas).toBe(2);
  });

  it("grant the operator enough to install and remove a mesh with its ServiceAccount token alone", async () => {
    const kubeconfig = await serviceAccountKubeconfig("weft-operator", "weft-system");
    operator = await OperatorProcess.start("rbac-test", ["--leader-election-namespace=weft-system"], {
      ...process.env,
      KUBECONFIG: kubeconfig,
    });
    await operator.waitForLog((l) => l.msg === "leader election: became leader", 30_000);

    await kube(
      ["apply", "-f", "-"],
      "apiVersion: weft.dev/v1alpha1\nkind: MeshInstallation\nmetadata:\n  name: rbac\nspec:\n  namespace: weft-rbac\n",
    );
    const ready = await mesh.until(isReady, 30_000, "Ready");
    expect(ready.status?.state).toBe("Healthy");
    expect(operator.lines.filter((l) => /forbidden/i.test(JSON.stringify(l)))).toEqual([]);

    await kube(["delete", "mesh", "rbac", "--timeout=30s"]);
    await kube(["wait", "--for=delete", "namespace/weft-rbac", "--timeout=60s"]);
    expect(
      (
        await getJson<{ items: unknown[] }>([
          "get",
          "clusterroles,mutatingwebhookconfigurations,validatingwebhookconfigurations",
          "-l",
          "weft.dev/mesh=rbac",
        ])
      ).items,
    ).toEqual([]);
  });
});
