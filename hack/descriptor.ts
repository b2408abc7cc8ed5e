// Writes Envoy's protos as a protobufjs JSON descriptor beside dist/proxy/xds/protos.js (protos.ts loads it instead of
// the .proto text). Run by `npm run build` after tsc.
import { writeFileSync } from "node:fs";
import { DESCRIPTOR_FILE, descriptor, fromProtos } from "../proxy/xds/protos.js";

writeFileSync(DESCRIPTOR_FILE, JSON.stringify(descriptor(fromProtos())));
