import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CRD_FILES, renderCrdYaml } from "./crd-file.js";
import { meshInstallationCrd } from "./crd.js";

describe("the MeshInstallation CRD", () => {
  it.each(CRD_FILES)(
    "committed as %s is exactly what the schema generates (run `npm run gen:crds` after changing it)",
    (file) => {
      const root = fileURLToPath(new URL("../..", import.meta.url));
      expect(readFileSync(`${root}/${file}`, "utf8")).toBe(renderCrdYaml());
    },
  );

  it("is cluster-scoped, short-named mesh, in category weft, with the status subresource", () => {
    const { spec } = meshInstallationCrd();
    expect(spec.scope).toBe("Cluster");
    expect(spec.names.shortNames).toEqual(["mesh"]);
    expect(spec.names.categories).toEqual(["weft"]);
    expect(spec.versions[0]?.subresources).toEqual({ status: {} });
  });

  it("prints the columns kubectl get mesh shows", () => {
    const cols = meshInstallationCrd().spec.versions[0]?.additionalPrinterColumns.map((c) => c.name.toUpperCase());
    expect(cols).toEqual(["NAMESPACE", "VERSION", "READY", "PROXIES", "SYNCED", "UPGRADED", "STATE", "AGE"]);
  });

  it("makes spec.namespace immutable with a CEL transition rule", () => {
    const ns = meshInstallationCrd().spec.versions[0]?.schema.openAPIV3Schema.properties.spec.properties?.namespace;
    expect(ns?.["x-kubernetes-validations"]?.[0]?.rule).toBe("self == oldSelf");
  });
});
