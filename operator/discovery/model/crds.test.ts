// The Istio-compatible CRDs in crds/ serve every kind and version discovery reads, and store v1.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { ISTIO_NETWORKING_VERSIONS } from "./normalise.js";

interface Crd {
  spec: {
    group: string;
    names: { kind: string; plural: string };
    scope: string;
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: { type: string; properties: Record<string, { type: string }> } };
    }[];
  };
  metadata: { name: string };
}

const crdsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../crds");
const load = (file: string): Crd[] =>
  parseAllDocuments(readFileSync(path.join(crdsDir, file), "utf8")).map((d) => d.toJS() as Crd);

describe("Istio-compatible CRDs", () => {
  it.each([
    [
      "istio-networking.yaml",
      "networking.istio.io",
      ["VirtualService", "DestinationRule", "Gateway", "ServiceEntry", "WorkloadEntry", "Sidecar"],
      ISTIO_NETWORKING_VERSIONS,
    ],
    [
      "istio-security.yaml",
      "security.istio.io",
      ["PeerAuthentication", "AuthorizationPolicy", "RequestAuthentication"],
      ["v1", "v1beta1"],
    ],
    ["istio-telemetry.yaml", "telemetry.istio.io", ["Telemetry"], ["v1", "v1alpha1"]],
  ])("%s serves every kind at every version, stores v1, with structural schemas", (file, group, kinds, versions) => {
    const crds = load(file);
    expect(crds.map((c) => c.spec.names.kind)).toEqual(kinds);
    for (const crd of crds) {
      expect(crd.metadata.name).toBe(`${crd.spec.names.plural}.${group}`);
      expect(crd.spec.scope).toBe("Namespaced");
      expect(crd.spec.versions.map((v) => v.name)).toEqual(versions);
      expect(crd.spec.versions.every((v) => v.served)).toBe(true);
      expect(crd.spec.versions.filter((v) => v.storage).map((v) => v.name)).toEqual(["v1"]);
      for (const v of crd.spec.versions) {
        expect(v.schema.openAPIV3Schema.type).toBe("object");
        expect(v.schema.openAPIV3Schema.properties["spec"]).toEqual({
          type: "object",
          "x-kubernetes-preserve-unknown-fields": true,
        });
      }
    }
  });
});
