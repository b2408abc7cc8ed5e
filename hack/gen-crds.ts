// Writes crds/meshinstallations.weft.dev.yaml from operator/api (npm run gen:crds).
// operator/api/crd.test.ts fails when the committed file and the schema disagree.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { renderCrdYaml, CRD_FILES } from "../operator/api/crd-file.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
for (const file of CRD_FILES) {
  writeFileSync(`${root}/${file}`, renderCrdYaml());
  process.stdout.write(`wrote ${file}\n`);
}
