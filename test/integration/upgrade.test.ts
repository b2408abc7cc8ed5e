// An InPlace upgrade: spec.version 0.1.0 → 0.2.0 rolls weftd, and status tells the truth
// on the way: Ready=False/Upgrading with the old version, then Ready=True at the new one.
import type { MeshInstallation } from "../../operator/api/types.js";
import { getJson, kube, kubectl } from "./support/kubectl.js";
import type { ObjectWatch} from "./support/mesh.js";
import { condition, isReady, watchMesh } from "./support/mesh.js";
import { OperatorProcess } from "./support/operator.js";

const meshYaml = (version: string) => `apiVersion: weft.dev/v1alpha1
kind: MeshInstallation
metadata:
  name: upgrade
spec:
  version: ${version}
  namespace: weft-upgrade
  discovery:
    replicas: 2
`;

describe("upgrading a MeshInstallation in place", () => {
  let operator: OperatorProcess;
  let mesh: ObjectWatch<MeshInstallation>;

  beforeAll(async () => {
    await kube(["apply", "-f", "-"], "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: weft-operator\n");
    operator = await OperatorProcess.start("upgrade-test");
    mesh = await watchMesh("upgrade");
  });

  afterAll(async () => {
    mesh?.stop();
    await kubectl(["delete", "mesh", "upgrade", "--ignore-not-found", "--timeout=30s"]);
    await operator?.stop();
  });

  it("rolls weftd from 0.1.0 to 0.2.0, reporting Upgrading, then Ready at 0.2.0", async () => {
    await kube(["apply", "-f", "-"], meshYaml("0.1.0"));
    const installed = await mesh.until(isReady, 30_000, "Ready at 0.1.0");
    expect(installed.status?.version).toBe("0.1.0");

    mesh.reset();
    await kube(["apply", "-f", "-"], meshYaml("0.2.0"));
    const upgrading = await mesh.until((m) => condition(m, "Ready")?.reason === "Upgrading", 30_000, "Ready=False/Upgrading");
    expect(condition(upgrading, "Ready")?.status).toBe("False");
    expect(upgrading.status?.state).toBe("Upgrading");
    expect(upgrading.status?.version).toBe("0.1.0"); // what is rolled out, not what is asked for
    expect(condition(upgrading, "ControlPlaneReady")?.message).toMatch(/^rolling weftd from 0\.1\.0 to 0\.2\.0/);

    const upgraded = await mesh.until((m) => isReady(m) && m.status?.version === "0.2.0", 30_000, "Ready at 0.2.0");
    expect(upgraded.status?.state).toBe("Healthy");

    const d = await getJson<{ spec: { template: { spec: { containers: { image: string }[] } } } }>(["get", "deployment", "weftd", "-n", "weft-upgrade"]);
    expect(d.spec.template.spec.containers[0]?.image).toBe("ghcr.io/weft-mesh/weft:0.2.0");
    const pods = await getJson<{ items: { spec: { containers: { image: string }[] } }[] }>(["get", "pods", "-n", "weft-upgrade", "-l", "app=weftd"]);
    expect(pods.items.map((p) => p.spec.containers[0]?.image)).toEqual(["ghcr.io/weft-mesh/weft:0.2.0", "ghcr.io/weft-mesh/weft:0.2.0"]);
  });
});
