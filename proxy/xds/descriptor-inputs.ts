// What the built descriptors of Envoy's types (protos.ts' JSON Root, wire-types.ts' table) are made from: protos.ts'
// own text (its list of files, Weft's type, how the table is made) and the versions of the packages whose protos and
// parser it reads. Apart from protos.ts, so that checking a table loads no protobufjs.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/** The hash a descriptor made from anything else doesn't carry: such a descriptor is stale and not used. */
export function descriptorInputs(): string {
  const require = createRequire(import.meta.url);
  const version = (pkg: string) => (require(`${pkg}/package.json`) as { version: string }).version;
  // protos.ts beside this module, or protos.js beside its build.
  const protos = fileURLToPath(import.meta.url).replace(/descriptor-inputs\.([tj]s)$/, "protos.$1");
  return createHash("sha256")
    .update(readFileSync(protos))
    .update(`\0${version("@grpc/grpc-js-xds")}\0${version("protobufjs")}`)
    .digest("hex");
}
