import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { normalise } from "../model/normalise.js";
import { typed, WATCHED } from "./kube.js";

interface Crd {
  spec: { group: string; names: { kind: string; plural: string }; versions: { name: string; served: boolean }[] };
}

describe("the Kubernetes source", () => {
  it("watches every Istio networking kind at a version and plural the CRDs in crds/ serve", () => {
    const text = readFileSync(new URL("../../../crds/istio-networking.yaml", import.meta.url), "utf8");
    const crds = parseAllDocuments(text).map((d) => d.toJS() as Crd);
    const istio = WATCHED.filter((w) => w.apiVersion.startsWith("networking.istio.io/"));
    expect(istio.map((w) => w.kind).sort()).toEqual([
      "DestinationRule",
      "Gateway",
      "ServiceEntry",
      "Sidecar",
      "VirtualService",
      "WorkloadEntry",
    ]);
    for (const w of istio) {
      const crd = crds.find((c) => c.spec.names.kind === w.kind);
      expect({
        kind: w.kind,
        plural: crd?.spec.names.plural,
        served: crd?.spec.versions.find((v) => `${crd.spec.group}/${v.name}` === w.apiVersion)?.served,
      }).toEqual({
        kind: w.kind,
        plural: w.plural,
        served: true,
      });
    }
  });

  it("gives listed objects (which come without apiVersion and kind) theirs, so normalise folds them as from files", () => {
    const svc = typed(WATCHED[0]!, {
      metadata: { name: "reviews", namespace: "shop" },
      spec: { clusterIP: "10.0.0.7", ports: [{ name: "http", port: 9080 }] },
    } as never);
    expect(normalise([svc]).model.services.map((s) => s.hostname)).toEqual(["reviews.shop.svc.cluster.local"]);
  });
});
