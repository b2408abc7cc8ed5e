// Bad input: the API server rejects what the schema can catch, at kubectl apply time, naming
// the field; what gets past it ends in Reconciled=False with a reason, never a crash or a loop.
import { stringify } from "yaml";
import { BAD_SPECS } from "../fixtures/bad-specs.js";
import { kube, kubectl } from "./support/kubectl.js";
import { condition } from "./support/mesh.js";
import { operatorAndMesh } from "./support/operator.js";

const manifest = (name: string, spec: object) =>
  stringify({ apiVersion: "weft.dev/v1alpha1", kind: "MeshInstallation", metadata: { name }, spec });

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

  it("is rejected for a provider kind Weft doesn't implement, naming it (pruned, it would be a provider of no kind)", async () => {
    const als = { name: "als", envoyOtelAls: { service: "otel.observability", port: 4317 } };
    const r = await kubectl(["apply", "-f", "-"], manifest("bad", { meshConfig: { extensionProviders: [als] } }));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('unknown field "spec.meshConfig.extensionProviders[0].envoyOtelAls"');
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
  const f = operatorAndMesh("bad-spec-test", "unknown-version");

  it("ends in Reconciled=False/UnknownVersion naming spec.version, and the operator neither crashes nor loops", async () => {
    await kube(["apply", "-f", "-"], manifest("unknown-version", { version: "9.9.9", namespace: "weft-unknown" }));
    const m = await f.mesh.until((o) => condition(o, "Reconciled")?.status === "False", 30_000, "Reconciled=False");
    expect(condition(m, "Reconciled")).toMatchObject({ reason: "UnknownVersion" });
    expect(condition(m, "Reconciled")?.message).toMatch(
      /^spec\.version: 9\.9\.9 is not a version this operator can install \(known: .*0\.2\.0/,
    );
    expect(condition(m, "Ready")).toMatchObject({ status: "False", reason: "UnknownVersion" });
    expect(m.status?.state).toBe("UnknownVersion");
    expect((await kubectl(["get", "namespace", "weft-unknown"])).code).not.toBe(0); // nothing was installed

    const settled = await f.operator.reconciles();
    const errors = await f.operator.metric("weft_operator_reconcile_errors_total");
    await new Promise((r) => setTimeout(r, 5_000)); // a window in which a loop would show
    expect(await f.operator.reconciles()).toBe(settled);
    expect(await f.operator.metric("weft_operator_reconcile_errors_total")).toBe(errors);
    expect(f.operator.proc.exitCode).toBeNull();
  });
});
