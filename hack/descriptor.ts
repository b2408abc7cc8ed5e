// Writes Envoy's protos as a protobufjs JSON descriptor beside dist/proxy/xds/protos.js (protos.ts loads it instead of
// the .proto text, while what it was made from is unchanged), and as the table the sidecar's agent decodes them with
// beside wire-types.js (no protobufjs in the agent). Run by `npm run build` after tsc.
import { writeFileSync } from "node:fs";
import { DESCRIPTOR_FILE, descriptor, descriptorInputs, fromProtos, wireTable } from "../proxy/xds/protos.js";
import { WIRE_TABLE_FILE } from "../proxy/xds/wire-types.js";

const inputs = descriptorInputs();
const root = fromProtos();
writeFileSync(WIRE_TABLE_FILE, JSON.stringify({ inputs, ...wireTable(root) }));
writeFileSync(DESCRIPTOR_FILE, JSON.stringify({ inputs, root: descriptor(root) }));
