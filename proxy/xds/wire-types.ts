// Envoy's message types as a table, for decoding their wire format (wire-decode.ts) without protobufjs: per message,
// its fields' numbers, names and types; per enum, its names by number. `npm run build` writes the table beside this
// module (hack/descriptor.ts) from the same Root as protos.ts; a type's field objects are made when it is first
// decoded, so a sidecar holds the few dozen types its config uses, not all 500.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { descriptorInputs } from "./descriptor-inputs.js";

/** Each field: [number, name, type (a scalar's name or a message's or enum's full name), flags, map key type]. */
export type TableField = [number, string, string, number, string?];

export interface WireTable {
  /** What the table was made from (descriptorInputs): a stale table is not used. */
  inputs?: string;
  messages: Record<string, TableField[]>;
  enums: Record<string, Record<string, string>>;
}

export const REPEATED = 1;
export const MAP = 2;

export interface WireField {
  id: number;
  name: string;
  /** A scalar's type name, or the message's or enum's full name. */
  type: string;
  repeated: boolean;
  map: boolean;
  keyType: string;
  /** Set when the field holds a message, or an enum. */
  message?: WireType;
  enumNames?: Record<string, string>;
}

export interface WireType {
  /** As protobufjs spells it: ".envoy.config.cluster.v3.Cluster". */
  fullName: string;
  name: string;
  byId: Map<number, WireField>;
  byName: Record<string, WireField>;
}

export class WireTypes {
  private readonly made = new Map<string, WireType>();

  constructor(private readonly table: WireTable) {}

  /** A message type by its full name ("envoy.config.cluster.v3.Cluster"), or undefined. */
  message(name: string): WireType | undefined {
    const done = this.made.get(name);
    if (done) return done;
    const fields = this.table.messages[name];
    if (!fields) return undefined;
    const type: WireType = {
      fullName: `.${name}`,
      name: name.slice(name.lastIndexOf(".") + 1),
      byId: new Map(),
      byName: Object.create(null) as Record<string, WireField>,
    };
    this.made.set(name, type); // before its fields: a type may hold itself
    for (const [id, fieldName, fieldType, flags, keyType] of fields) {
      const field: WireField = {
        id,
        name: fieldName,
        type: fieldType,
        repeated: (flags & REPEATED) !== 0,
        map: (flags & MAP) !== 0,
        keyType: keyType ?? "",
      };
      const enumNames = this.table.enums[fieldType];
      if (enumNames) field.enumNames = enumNames;
      else if (this.table.messages[fieldType]) field.message = this.message(fieldType);
      type.byId.set(id, field);
      type.byName[fieldName] = field;
    }
    return type;
  }
}

/** Where `npm run build` writes the table: beside the compiled wire-types.js. */
export const WIRE_TABLE_FILE = fileURLToPath(new URL("./envoy-wire-types.json", import.meta.url));

let loaded: Promise<WireTypes> | undefined;

/**
 * The table of Envoy's types: the built file, or (from the sources, or when it is stale) made from protos.ts' Root,
 * which loads protobufjs and the whole descriptor.
 */
export function envoyWireTypes(): Promise<WireTypes> {
  loaded ??= (async () => {
    try {
      if (existsSync(WIRE_TABLE_FILE)) {
        const table = JSON.parse(readFileSync(WIRE_TABLE_FILE, "utf8")) as WireTable;
        if (table.inputs === descriptorInputs()) return new WireTypes(table);
      }
    } catch {
      // a truncated or hand-edited file: the protos are the source anyway
    }
    const { envoyWireTable } = await import("./protos.js");
    return new WireTypes(envoyWireTable());
  })();
  return loaded;
}
