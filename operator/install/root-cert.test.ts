import type { V1ConfigMap, V1Namespace } from "@kubernetes/client-node";
import type { MeshInstallation } from "../api/types.js";
import {
  namespaceNeedsBundle,
  publishedNamespaces,
  rootBundle,
  rootCertPublisher,
  rootCertsToApply,
} from "./root-cert.js";

const mesh = (name: string, created: string, deleting = false): MeshInstallation =>
  ({
    metadata: { name, creationTimestamp: created, ...(deleting ? { deletionTimestamp: created } : {}) },
  }) as unknown as MeshInstallation;
const ns = (name: string, phase = "Active"): V1Namespace => ({ metadata: { name }, status: { phase } });

describe("istio-ca-root-cert in every namespace", () => {
  it("is published by the oldest mesh that isn't being deleted", () => {
    expect(rootCertPublisher([mesh("b", "2026-01-02T00:00:00Z"), mesh("a", "2026-01-03T00:00:00Z")])).toBe("b");
    expect(rootCertPublisher([mesh("b", "2026-01-02T00:00:00Z", true), mesh("a", "2026-01-03T00:00:00Z")])).toBe("a");
    expect(rootCertPublisher([mesh("z", "2026-01-01T00:00:00Z"), mesh("y", "2026-01-01T00:00:00Z")])).toBe("y");
    expect(rootCertPublisher([])).toBeUndefined();
  });

  it("asks for work on a namespace event only when that namespace should have the bundle and hasn't", () => {
    expect(namespaceNeedsBundle(ns("shop"), false)).toBe(true);
    expect(namespaceNeedsBundle(ns("shop"), true)).toBe(false); // a label edit: nothing to do
    expect(namespaceNeedsBundle(ns("gone", "Terminating"), false)).toBe(false); // a deletion's progress
    expect(namespaceNeedsBundle(ns("kube-system"), false)).toBe(false);
  });

  it("goes to every namespace but Kubernetes' own and those being deleted", () => {
    expect(
      publishedNamespaces([ns("default"), ns("kube-system"), ns("shop"), ns("gone", "Terminating"), ns("kube-public")]),
    ).toEqual(["default", "shop"]);
  });

  it("carries the Secret's root-cert.pem during a CA rotation (old and new roots), else the CA certificate", () => {
    const both = "-----OLD-----\n-----NEW-----\n";
    expect(rootBundle({ "root-cert.pem": Buffer.from(both).toString("base64") }, "CA")).toBe(both);
    expect(rootBundle({ "ca-cert.pem": "eA==" }, "CA")).toBe("CA");
  });

  it("is applied only where it is missing, edited, or of another mesh", () => {
    const have: Record<string, V1ConfigMap> = {
      ok: { metadata: { labels: { "weft.dev/mesh": "m" } }, data: { "root-cert.pem": "PEM" } },
      edited: { metadata: { labels: { "weft.dev/mesh": "m" } }, data: { "root-cert.pem": "forged" } },
      other: { metadata: { labels: { "weft.dev/mesh": "old" } }, data: { "root-cert.pem": "PEM" } },
    };
    const out = rootCertsToApply(["ok", "edited", "other", "new"], (n) => have[n], "m", "PEM", "uid-1");
    expect(out.map((c) => c.metadata?.namespace)).toEqual(["edited", "other", "new"]);
    expect(out[0]).toEqual({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: "istio-ca-root-cert",
        namespace: "edited",
        labels: {
          "app.kubernetes.io/managed-by": "weft-operator",
          "app.kubernetes.io/part-of": "weft",
          "weft.dev/mesh": "m",
          "istio.io/config": "true",
        },
        ownerReferences: [
          { apiVersion: "weft.dev/v1alpha1", kind: "MeshInstallation", name: "m", uid: "uid-1", controller: false },
        ],
      },
      data: { "root-cert.pem": "PEM" },
    });
  });
});
