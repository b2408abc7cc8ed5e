// Writes Envoy's protos as a protobufjs JSON descriptor beside dist/proxy/xds/protos.js (protos.ts loads it instead of
// the .proto text, while what it was made from is unchanged). Run by `npm run build` after tsc.
import { writeFileSync } from "node:fs";
import { DESCRIPTOR_FILE, descriptor, descriptorInputs, fromProtos } from "../proxy/xds/protos.js";

writeFileSync(DESCRIPTOR_FILE, JSON.stringify({ inputs: descriptorInputs(), root: descriptor(fromProtos()) }));
