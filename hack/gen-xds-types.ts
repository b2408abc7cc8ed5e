// Writes proxy/xds/generated/ (npm run gen:xds-types): TypeScript types for the proto3-JSON form of every Envoy
// message Weft exchanges. hack/xds-types/generate.test.ts fails when the committed files and the protos disagree.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { OUT_DIR, generatedFiles } from "./xds-types/source.js";

const files = generatedFiles();
rmSync(OUT_DIR, { recursive: true, force: true });
for (const [file, text] of files) {
  mkdirSync(dirname(join(OUT_DIR, file)), { recursive: true });
  writeFileSync(join(OUT_DIR, file), text);
}
process.stdout.write(`wrote ${files.size} files under ${OUT_DIR}\n`);
