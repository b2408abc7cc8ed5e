// `weft operator` from a laptop against a fresh cluster: the leader Lease's namespace is created when the user may,
// and when they may not, the operator fails at once with one line naming --leader-election-namespace (it used to
// log "namespaces not found" every 2 s, forever).
import { kube, kubectl, serviceAccountKubeconfig } from "./support/kubectl.js";
import { OperatorProcess } from "./support/operator.js";
import { weft } from "../support/weft-cli.js";

const FRESH = "weft-lease-fresh";

describe("weft operator and its leader Lease's namespace", () => {
  afterAll(async () => {
    await kubectl(["delete", "namespace", FRESH, "--wait=false", "--ignore-not-found"]);
    await kubectl(["delete", "serviceaccount", "weft-cli-nobody", "-n", "default", "--ignore-not-found"]);
  });

  it("creates the namespace when allowed, then elects itself", async () => {
    await kubectl(["delete", "namespace", FRESH, "--ignore-not-found", "--timeout=60s"]);
    const op = await OperatorProcess.start("lease-ns-test", [`--leader-election-namespace=${FRESH}`]);
    try {
      await op.waitForLog((l) => l.msg === "created the leader Lease's namespace", 5_000);
      await op.waitForLog((l) => l.msg === "leader election: became leader", 30_000);
      expect(await kube(["get", "lease", "weft-operator", "-n", FRESH, "-o", "jsonpath={.spec.holderIdentity}"])).toBe(
        "lease-ns-test",
      );
    } finally {
      await op.stop();
    }
  });

  it("fails at once with one line naming --leader-election-namespace when it may not create it", async () => {
    await kube(["create", "serviceaccount", "weft-cli-nobody", "-n", "default"]);
    const kubeconfig = await serviceAccountKubeconfig("weft-cli-nobody", "default", "10m");
    const r = await weft([
      "operator",
      "--kubeconfig",
      kubeconfig,
      "--leader-election-namespace",
      "weft-lease-forbidden",
      "--metrics-addr",
      "127.0.0.1:0",
      "--health-addr",
      "127.0.0.1:0",
    ]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^weft operator: the leader Lease's namespace "weft-lease-forbidden" does not exist and could not be created \(.*forbidden.*\): create it, or pass --leader-election-namespace/,
    );
  });
});
