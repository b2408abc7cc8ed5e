// Two operator processes: one leads and reconciles; SIGKILL it mid-upgrade and the other
// takes over within the lease duration and finishes the upgrade.
import type { MeshInstallation } from "../../operator/api/types.js";
import { kube, kubectl } from "./support/kubectl.js";
import type { ObjectWatch } from "./support/mesh.js";
import { condition, isReady, watchMesh } from "./support/mesh.js";
import { OperatorProcess } from "./support/operator.js";

const LEASE_MS = 5_000;
const leaseFlags = [`--lease-duration=${LEASE_MS / 1000}s`, "--renew-deadline=4s", "--retry-period=1s"];
const meshYaml = (version: string) => `apiVersion: weft.dev/v1alpha1
kind: MeshInstallation
metadata:
  name: ha
spec:
  version: ${version}
  namespace: weft-ha
`;
const becameLeader = (l: { msg: string }) => l.msg === "leader election: became leader";

describe("two operators with leader election", () => {
  let a: OperatorProcess;
  let b: OperatorProcess;
  let mesh: ObjectWatch<MeshInstallation>;

  beforeAll(async () => {
    await kube(["apply", "-f", "-"], "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: weft-operator\n");
    a = await OperatorProcess.start("operator-a", leaseFlags);
    await a.waitForLog(becameLeader, 3 * LEASE_MS);
    b = await OperatorProcess.start("operator-b", leaseFlags);
    mesh = await watchMesh("ha");
  });

  afterAll(async () => {
    mesh?.stop();
    await kubectl(["rollout", "resume", "deployment/weftd", "-n", "weft-ha"]);
    await kubectl(["delete", "mesh", "ha", "--ignore-not-found", "--timeout=30s"]);
    await Promise.all([a?.stop("SIGKILL"), b?.stop()]);
  });

  it("lets only the leader reconcile", async () => {
    await kube(["apply", "-f", "-"], meshYaml("0.1.0"));
    await mesh.until(isReady, 30_000, "Ready at 0.1.0");
    expect(await a.metric("weft_operator_leader")).toBe(1);
    expect(await b.metric("weft_operator_leader")).toBe(0);
    expect(await a.reconciles()).toBeGreaterThan(0);
    expect(await b.reconciles()).toBe(0);
  });

  it("hands over within the lease duration when the leader is SIGKILLed mid-upgrade, and the new leader finishes the upgrade", async () => {
    // Hold the rollout so that the upgrade is genuinely half-finished when the leader dies.
    await kube(["rollout", "pause", "deployment/weftd", "-n", "weft-ha"]);
    mesh.reset();
    await kube(["apply", "-f", "-"], meshYaml("0.2.0"));
    const halfway = await mesh.until((m) => condition(m, "Ready")?.reason === "Upgrading", 30_000, "Upgrading");
    expect(halfway.status?.version).toBe("0.1.0");

    const killedAt = Date.now();
    await a.stop("SIGKILL");
    const took = await b.waitForLog(becameLeader, 3 * LEASE_MS);
    const handoverMs = (took.time as number) - killedAt;
    // The last renewal was at most one retry period before the kill, and b saw it by watch.
    expect(handoverMs).toBeLessThanOrEqual(LEASE_MS + 500);

    await kube(["rollout", "resume", "deployment/weftd", "-n", "weft-ha"]);
    const done = await mesh.until((m) => isReady(m) && m.status?.version === "0.2.0", 30_000, "Ready at 0.2.0");
    expect(done.status?.state).toBe("Healthy");
    expect(await b.reconciles()).toBeGreaterThan(0);
  });
});
