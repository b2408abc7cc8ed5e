// `weft operator` from a laptop against a fresh cluster: the leader Lease's namespace is created when the user may,
// and when they may not, the operator fails at once with one line naming --leader-election-namespace (it used to
// log "namespaces not found" every 2 s, forever).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getJson, kube, kubectl } from "./support/kubectl.js";
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
    const token = (await kube(["create", "token", "weft-cli-nobody", "-n", "default", "--duration=10m"])).trim();
    const admin = await getJson<{ clusters: { cluster: object }[] }>(["config", "view", "--raw", "--minify"]);
    const kubeconfig = join(mkdtempSync(join(tmpdir(), "weft-nobody-")), "kubeconfig");
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "c", cluster: admin.clusters[0]?.cluster }],
        users: [{ name: "nobody", user: { token } }],
        contexts: [{ name: "c", context: { cluster: "c", user: "nobody" } }],
        "current-context": "c",
      }),
    );
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
