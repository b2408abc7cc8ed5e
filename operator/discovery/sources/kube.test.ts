import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { normalise } from "../model/normalise.js";
import { IncrementalModel } from "../model/incremental.js";
import { trimSecret, typed, WATCHED } from "./kube.js";

interface Crd {
  spec: { group: string; names: { kind: string; plural: string }; versions: { name: string; served: boolean }[] };
}

describe("the Kubernetes source", () => {
  it("watches every Istio kind at a version and plural the CRDs in crds/ serve", () => {
    const crds = ["istio-networking.yaml", "istio-security.yaml", "istio-telemetry.yaml"].flatMap((file) =>
      parseAllDocuments(readFileSync(new URL(`../../../crds/${file}`, import.meta.url), "utf8")).map(
        (d) => d.toJS() as Crd,
      ),
    );
    const istio = WATCHED.filter((w) => w.apiVersion.includes(".istio.io/"));
    expect(istio.map((w) => w.kind).sort()).toEqual([
      "AuthorizationPolicy",
      "DestinationRule",
      "Gateway",
      "PeerAuthentication",
      "RequestAuthentication",
      "ServiceEntry",
      "Sidecar",
      "Telemetry",
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

  it("watches only the Secret types a gateway's credential is read from, by field selector", () => {
    expect(WATCHED.filter((w) => w.kind === "Secret").map((w) => [w.apiVersion, w.plural, w.fieldSelector])).toEqual([
      ["v1", "secrets", "type=kubernetes.io/tls"],
      ["v1", "secrets", "type=Opaque"],
    ]);
  });

  it("keeps of a Secret only its TLS keys (not kubectl's copy of it all), and the model its credential", () => {
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const source = WATCHED.find((w) => w.kind === "Secret")!;
    const secret = {
      metadata: {
        name: "shop-cert",
        namespace: "istio-system",
        annotations: { "kubectl.kubernetes.io/last-applied-configuration": '{"data":{"password":"aHVudGVyMg=="}}' },
      },
      type: "kubernetes.io/tls",
      data: { "tls.crt": b64("CERT"), "tls.key": b64("KEY"), password: b64("hunter2") },
    };
    trimSecret(secret as never);
    expect([secret.data, secret.metadata.annotations]).toEqual([{ "tls.crt": b64("CERT"), "tls.key": b64("KEY") }, {}]);
    const model = new IncrementalModel();
    model.apply(typed(source, secret as never));
    const credential = { name: "shop-cert", namespace: "istio-system", data: { "tls.crt": "CERT", "tls.key": "KEY" } };
    expect(model.model().model.credentials).toEqual([{ ...credential, keys: ["tls.crt", "tls.key"] }]);
    expect(normalise([typed(source, secret as never)]).model.credentials).toEqual(model.model().model.credentials);
    model.apply(typed(source, secret as never), true);
    expect(model.model().model.credentials).toBeUndefined();
  });
});
