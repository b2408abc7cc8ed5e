// What the Envoy resource types are generated from and where they go; shared by the generator and its drift test.
import { createRequire } from "node:module";
import { join } from "node:path";
import { envoyRoot } from "../../proxy/xds/protos.js";
import { TYPE } from "../../proxy/xds/types.js";
import { REPO_ROOT } from "../paths.js";
import { generate } from "./generate.js";

export const OUT_DIR = join(REPO_ROOT, "proxy/xds/generated");

/** The generated files (path relative to OUT_DIR → contents) for the protos installed now. */
export function generatedFiles(): Map<string, string> {
  const require = createRequire(import.meta.url);
  const { version } = require("@grpc/grpc-js-xds/package.json") as { version: string };
  return generate(envoyRoot(), TYPE, `the protos in @grpc/grpc-js-xds ${version}`);
}
