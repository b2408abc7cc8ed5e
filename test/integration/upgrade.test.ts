// An InPlace upgrade: spec.version 0.1.0 → 0.2.0 rolls weftd, and status tells the truth
// on the way: Ready=False/Upgrading with the old version, then Ready=True at the new one.
import { getJson, kube } from "./support/kubectl.js";
import { condition, isReady } from "./support/mesh.js";
import { operatorAndMesh } from "./support/operator.js";

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
  const f = operatorAndMesh("upgrade-test", "upgrade");

  it("rolls weftd from 0.1.0 to 0.2.0, reporting Upgrading, then Ready at 0.2.0", async () => {
    await kube(["apply", "-f", "-"], meshYaml("0.1.0"));
    const installed = await f.mesh.until(isReady, 30_000, "Ready at 0.1.0");
    expect(installed.status?.version).toBe("0.1.0");

    f.mesh.reset();
    await kube(["apply", "-f", "-"], meshYaml("0.2.0"));
    const upgrading = await f.mesh.until(
      (m) => condition(m, "Ready")?.reason === "Upgrading",
      30_000,
      "Ready=False/Upgrading",
    );
    expect(condition(upgrading, "Ready")?.status).toBe("False");
    expect(upgrading.status?.state).toBe("Upgrading");
    expect(upgrading.status?.version).toBe("0.1.0"); // what is rolled out, not what is asked for
    expect(condition(upgrading, "ControlPlaneReady")?.message).toMatch(/^rolling weftd from 0\.1\.0 to 0\.2\.0/);

    const upgraded = await f.mesh.until((m) => isReady(m) && m.status?.version === "0.2.0", 30_000, "Ready at 0.2.0");
    expect(upgraded.status?.state).toBe("Healthy");

    const d = await getJson<{ spec: { template: { spec: { containers: { image: string }[] } } } }>([
      "get",
      "deployment",
      "weftd",
      "-n",
      "weft-upgrade",
    ]);
    expect(d.spec.template.spec.containers[0]?.image).toBe("ghcr.io/weft-mesh/weft:0.2.0");
    const pods = await getJson<{ items: { spec: { containers: { image: string }[] } }[] }>([
      "get",
      "pods",
      "-n",
      "weft-upgrade",
      "-l",
      "app=weftd",
    ]);
    expect(pods.items.map((p) => p.spec.containers[0]?.image)).toEqual([
      "ghcr.io/weft-mesh/weft:0.2.0",
      "ghcr.io/weft-mesh/weft:0.2.0",
    ]);
  });
});
