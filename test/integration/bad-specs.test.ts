// Bad input: the API server rejects what the schema can catch, at kubectl apply time, naming
// the field; what gets past it ends in Reconciled=False with a reason, never a crash or a loop.
import { stringify } from "yaml";
import { BAD_SPECS } from "../fixtures/bad-specs.js";
import type { MeshInstallation } from "../../operator/api/types.js";
import { kube, kubectl } from "./support/kubectl.js";
import type { ObjectWatch} from "./support/mesh.js";
import { condition, watchMesh } from "./support/mesh.js";
import { OperatorProcess } from "./support/operator.js";

const manifest = (name: string, spec: object) => stringify({ apiVersion: "weft.dev/v1alpha1", kind: "MeshInstallation", metadata: { name }, spec });

describe("kubectl apply of a bad MeshInstallation", () => {
  it.each(BAD_SPECS)("is rejected for $why, naming $field", async ({ spec, field }) => {
    const r = await kubectl(["apply", "-f", "-"], manifest("bad", spec));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`${field}:`);
    expect((await kubectl(["get", "mesh", "bad"])).code).not.toBe(0);
  });

  it("is rejected for an unknown field, naming it", async () => {
    const r = await kubectl(["apply", "-f", "-"], manifest("bad", { proxy: { colour: "blue" } }));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('unknown field "spec.proxy.colour"');
  });

  it("is rejected for a name that is not a DNS-1123 label", async () => {
    const r = await kubectl(["apply", "-f", "-"], manifest("Bad_Mesh", {}));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("metadata.name");
  });

  it("is rejected when it changes spec.namespace after creation", async () => {
    await kube(["apply", "-f", "-"], manifest("immutable", { namespace: "weft-immutable-a" }));
    try {
      const r = await kubectl(["apply", "-f", "-"], manifest("immutable", { namespace: "weft-immutable-b" }));
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("spec.namespace");
      expect(r.stderr).toContain("namespace is immutable");
    } finally {
      await kube(["delete", "mesh", "immutable", "--wait=false"]);
    }
  });
});

describe("a spec that passes the schema but cannot be installed", () => {
  let operator: OperatorProcess;
  let mesh: ObjectWatch<MeshInstallation>;

  beforeAll(async () => {
    await kube(["apply", "-f", "-"], "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: weft-operator\n");
    operator = await OperatorProcess.start("bad-spec-test");
    mesh = await watchMesh("unknown-version");
  });

  afterAll(async () => {
    mesh?.stop();
    await kubectl(["delete", "mesh", "unknown-version", "--ignore-not-found", "--timeout=30s"]);
    await operator?.stop();
  });

  it("ends in Reconciled=False/UnknownVersion naming spec.version, and the operator neither crashes nor loops", async () => {
    await kube(["apply", "-f", "-"], manifest("unknown-version", { version: "9.9.9", namespace: "weft-unknown" }));
    const m = await mesh.until((o) => condition(o, "Reconciled")?.status === "False", 30_000, "Reconciled=False");
    expect(condition(m, "Reconciled")).toMatchObject({ reason: "UnknownVersion" });
    expect(condition(m, "Reconciled")?.message).toMatch(/^spec\.version: 9\.9\.9 is not a version this operator can install \(known: .*0\.2\.0/);
    expect(condition(m, "Ready")).toMatchObject({ status: "False", reason: "UnknownVersion" });
    expect(m.status?.state).toBe("UnknownVersion");
    expect((await kubectl(["get", "namespace", "weft-unknown"])).code).not.toBe(0); // nothing was installed

    const settled = await operator.reconciles();
    const errors = await operator.metric("weft_operator_reconcile_errors_total");
    await new Promise((r) => setTimeout(r, 5_000)); // a window in which a loop would show
    expect(await operator.reconciles()).toBe(settled);
    expect(await operator.metric("weft_operator_reconcile_errors_total")).toBe(errors);
    expect(operator.proc.exitCode).toBeNull();
  });
});
