// Converts Envoy resources between Weft's proto3-JSON form and protobuf bytes packed in google.protobuf.Any: encodes
// with protobufjs (the control plane), decodes with wire-decode.ts (the sidecar's agent decodes the same way).
import protobuf from "protobufjs";
import { envoyWireTable, messageType } from "./protos.js";
import { decodeAny } from "./wire-decode.js";
import { WireTypes } from "./wire-types.js";
import type { AnyMessage, JsonObject } from "./types.js";
import { isWrapper, parseDuration, parseTimestamp, toStruct, toValue } from "./wellknown.js";

type Plain = Record<string, unknown>;

function field(type: protobuf.Type, key: string): protobuf.Field {
  const direct = type.fields[key];
  if (direct) return direct;
  const snake = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  const found = type.fields[snake];
  if (!found) throw new Error(`${type.fullName.slice(1)}: unknown field "${key}"`);
  return found;
}

// ---- JSON → protobufjs plain object ----

function messageToPlain(type: protobuf.Type, json: unknown, where: string): unknown {
  switch (type.fullName) {
    case ".google.protobuf.Any":
      return packAny(json, where);
    case ".google.protobuf.Duration":
      return parseDuration(json, where);
    case ".google.protobuf.Timestamp":
      return parseTimestamp(json, where);
    case ".google.protobuf.Struct":
      return toStruct(json as Plain);
    case ".google.protobuf.Value":
      return toValue(json);
    case ".google.protobuf.ListValue":
      return { values: (json as unknown[]).map(toValue) };
    case ".google.protobuf.FieldMask":
      return { paths: String(json).split(",").filter(Boolean) };
  }
  if (isWrapper(type.fullName)) return { value: json };
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new Error(`${where}: expected an object for ${type.fullName.slice(1)}`);
  }
  const out: Plain = {};
  for (const [key, value] of Object.entries(json as Plain)) {
    if (value === undefined) continue;
    const f = field(type, key);
    const path = `${where}.${f.name}`;
    const convert = (v: unknown, p: string): unknown =>
      f.resolvedType instanceof protobuf.Type ? messageToPlain(f.resolvedType, v, p) : v;
    if (f.map) {
      const entries: Plain = {};
      for (const [k, v] of Object.entries(value as Plain)) entries[k] = convert(v, `${path}[${k}]`);
      out[f.name] = entries;
    } else if (f.repeated) {
      if (!Array.isArray(value)) throw new Error(`${path}: expected a list`);
      out[f.name] = value.map((v, i) => convert(v, `${path}[${i}]`));
    } else {
      out[f.name] = convert(value, path);
    }
  }
  return out;
}

function packAny(json: unknown, where: string): Plain {
  const obj = json as Plain;
  const url = obj?.["@type"];
  if (typeof url !== "string") {
    // Already packed ({type_url, value}); pass it through.
    if (obj && typeof obj["type_url"] === "string") return obj;
    throw new Error(`${where}: an Any needs "@type"`);
  }
  const type = messageType(url);
  const { "@type": _omit, ...body } = obj;
  const wellKnown = type.fullName.startsWith(".google.protobuf.");
  const plain = messageToPlain(type, wellKnown && "value" in body ? body["value"] : body, `${where}<${type.name}>`);
  const message = type.fromObject(plain as Plain);
  return { type_url: url, value: type.encode(message).finish() };
}

/** Encodes a proto3-JSON resource (with its "@type") into an Any for the wire. */
export function encodeResource(json: JsonObject): AnyMessage {
  const packed = packAny(json, String(json["@type"] ?? "resource"));
  return { type_url: packed["type_url"] as string, value: Buffer.from(packed["value"] as Uint8Array) };
}

/** Encodes a proto3-JSON message of the named type ("envoy.config.route.v3.VirtualHost"): its bytes, not an Any. */
export function encodeMessage(typeName: string, json: JsonObject): Buffer {
  const type = messageType(`type.googleapis.com/${typeName}`);
  const message = type.fromObject(messageToPlain(type, json, typeName) as Plain);
  return Buffer.from(type.encode(message).finish());
}

/**
 * A message's bytes with encoded elements appended to one of its repeated message fields. Protobuf parses a field
 * met again as more of the same (a repeated field appends), so this is what encoding the whole would give, read back:
 * the parts are encoded once, and a large message that changes in one element costs that element.
 */
export function appendRepeated(message: Buffer, fieldNumber: number, elements: Buffer[]): Buffer {
  const tag = (fieldNumber << 3) | 2; // length-delimited
  const parts: Buffer[] = [message];
  for (const e of elements) parts.push(varint(tag), varint(e.length), e);
  return Buffer.concat(parts);
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

let wireTypes: WireTypes | undefined;

/** Decodes an Any from the wire into its proto3-JSON form, "@type" included (wire-decode.ts, with protos.ts' Root). */
export function decodeResource(any: { type_url: string; value: Uint8Array }): JsonObject {
  wireTypes ??= new WireTypes(envoyWireTable());
  return decodeAny(wireTypes, any);
}
