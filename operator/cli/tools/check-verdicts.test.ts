import { generateCa, issueCert } from "../../runtime/pki.js";
import { X509Certificate } from "node:crypto";
import { bundleCerts, verifiesLeaf } from "./ca-bundle.js";
import { formatVerdict } from "./check-runner.js";
import { conditionsVerdict, leaseVerdict } from "./checks-install.js";
import { versionVerdict } from "./checks-pre.js";

describe("weft check's verdicts", () => {
  const now = new Date("2026-11-30T12:00:00Z");

  it("the leader Lease: held and fresh passes; released or stale fails with how to start the operator", () => {
    expect(
      leaseVerdict(
        { holderIdentity: "op-1", renewTime: new Date(now.getTime() - 3000), leaseDurationSeconds: 15 },
        "weft-system",
        now,
      ),
    ).toEqual({ ok: true, detail: "leader op-1" });
    const released = leaseVerdict({ holderIdentity: "", leaseDurationSeconds: 15 }, "weft-system", now);
    expect(released).toMatchObject({ ok: false, detail: "the Lease has no holder: the operator stopped" });
    expect(released.hint).toContain("kubectl -n weft-system rollout restart deploy/weft-operator");
    expect(
      leaseVerdict(
        { holderIdentity: "op-1", renewTime: new Date(now.getTime() - 60_000), leaseDurationSeconds: 15 },
        "weft-system",
        now,
      ).detail,
    ).toBe("leader op-1 last renewed 60s ago: it is gone");
    expect(leaseVerdict(undefined, "x", now).ok).toBe(false);
  });

  it("MeshInstallation conditions: each one not True is named with its reason and message", () => {
    const v = conditionsVerdict({
      metadata: { name: "default", generation: 2 },
      status: {
        observedGeneration: 2,
        conditions: [
          { type: "Reconciled", status: "True", reason: "Applied", message: "" },
          { type: "ControlPlaneReady", status: "False", reason: "Unavailable", message: "0/1 weftd available" },
          { type: "Ready", status: "False", reason: "Unavailable", message: "weftd" },
        ],
      },
    } as never);
    expect(v).toMatchObject({
      ok: false,
      detail: "ControlPlaneReady=False Unavailable: 0/1 weftd available; Ready=False Unavailable: weftd",
    });
  });

  it("the API server's version: too old fails naming the minimum", () => {
    expect(versionVerdict("1", "33", "v1.33.13")).toEqual({ ok: true, detail: "v1.33.13" });
    expect(versionVerdict("1", "27+", "v1.27.3-eks")).toMatchObject({
      ok: false,
      detail: "v1.27.3-eks is older than 1.29",
    });
  });

  it("a caBundle verifies the served certificate only when its CA signed it", async () => {
    const ca = await generateCa("weft-ca.mesh", 30);
    const other = await generateCa("someone-else", 30);
    const served = await issueCert(ca, {
      commonName: "weftd.mesh.svc",
      dnsNames: ["weftd.mesh.svc"],
      usage: "server",
      days: 30,
    });
    const leaf = new X509Certificate(served.certPem);
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    expect(verifiesLeaf(bundleCerts(b64(ca.certPem)) as X509Certificate[], leaf)).toBeUndefined();
    expect(verifiesLeaf(bundleCerts(b64(other.certPem)) as X509Certificate[], leaf)).toMatch(
      /did not sign the served certificate/,
    );
    expect(bundleCerts("")).toBe("caBundle is empty");
    expect(bundleCerts(b64("hello"))).toBe("caBundle holds no PEM certificate");
  });

  it("prints ✔ with the detail, ✘ with the problem and a hint line", () => {
    expect(formatVerdict("a", { ok: true, detail: "fine" })).toBe("✔ a: fine\n");
    expect(formatVerdict("b", { ok: false, detail: "broken\nbadly", hint: "fix it" })).toBe(
      "✘ b: broken badly\n    hint: fix it\n",
    );
  });
});
