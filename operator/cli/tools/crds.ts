// The CRDs this build installs: crds/*.yaml in the package (the files users apply). I/O: reads the package.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

export interface CrdFile {
  file: string;
  crd: {
    apiVersion: string;
    kind: string;
    metadata: { name: string };
    spec: { versions: { name: string; served: boolean; storage: boolean }[] };
  };
}

/** The package's root: the nearest folder above this module with a package.json and a crds/ folder. */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!(existsSync(path.join(dir, "package.json")) && existsSync(path.join(dir, "crds")))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error("the crds/ folder of this weft package is missing");
    dir = up;
  }
  return dir;
}

export function packagedCrds(): CrdFile[] {
  const dir = path.join(packageRoot(), "crds");
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .flatMap((f) =>
      parseAllDocuments(readFileSync(path.join(dir, f), "utf8"))
        .map((d) => d.toJS() as CrdFile["crd"] | null)
        .filter((c): c is CrdFile["crd"] => c?.kind === "CustomResourceDefinition")
        .map((crd) => ({ file: `crds/${f}`, crd })),
    );
}
