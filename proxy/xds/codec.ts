// Converts Envoy resources between Weft's proto3-JSON form and protobuf bytes packed in google.protobuf.Any.
import protobuf from "protobufjs";
import { messageType } from "./protos.js";
import type { AnyMessage, Json, JsonObject } from "./types.js";
import {
  formatDuration,
  formatTimestamp,
  fromLong,
  fromStruct,
  fromValue,
  isWrapper,
  parseDuration,
  parseTimestamp,
  toStruct,
  toValue,
} from "./wellknown.js";

type Plain = Record<string, unknown>;

const LONG_TYPES = new Set(["int64", "uint64", "sint64", "fixed64", "sfixed64"]);
const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: String, bytes: String, defaults: false };

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

// ---- protobufjs plain object → JSON ----

function plainToJson(type: protobuf.Type, plain: unknown): Json {
  const obj = (plain ?? {}) as Plain;
  switch (type.fullName) {
    case ".google.protobuf.Any":
      return unpackAny(String(obj["type_url"]), Buffer.from(String(obj["value"] ?? ""), "base64"));
    case ".google.protobuf.Duration":
      return formatDuration(obj);
    case ".google.protobuf.Timestamp":
      return formatTimestamp(obj);
    case ".google.protobuf.Struct":
      return fromStruct(obj);
    case ".google.protobuf.Value":
      return fromValue(obj);
    case ".google.protobuf.ListValue":
      return Array.isArray(obj["values"]) ? obj["values"].map((v) => fromValue(v as Plain)) : [];
    case ".google.protobuf.FieldMask":
      return Array.isArray(obj["paths"]) ? obj["paths"].join(",") : "";
  }
  if (isWrapper(type.fullName)) {
    const v = obj["value"];
    if (type.fullName === ".google.protobuf.Int64Value" || type.fullName === ".google.protobuf.UInt64Value") {
      return fromLong(v ?? 0);
    }
    return v === undefined ? wrapperZero(type.fullName) : (v as Json);
  }
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(obj)) {
    const f = type.fields[key];
    if (!f) continue;
    const convert = (v: unknown): Json => {
      if (f.resolvedType instanceof protobuf.Type) return plainToJson(f.resolvedType, v);
      if (LONG_TYPES.has(f.type)) return fromLong(v);
      return v as Json;
    };
    if (f.map) {
      const entries: JsonObject = {};
      for (const [k, v] of Object.entries(value as Plain)) entries[k] = convert(v);
      out[key] = entries;
    } else if (f.repeated) {
      out[key] = (value as unknown[]).map(convert);
    } else {
      out[key] = convert(value);
    }
  }
  return out;
}

/** The value of a wrapper whose inner field held its default, so protobuf left it out. */
function wrapperZero(fullName: string): Json {
  if (fullName === ".google.protobuf.BoolValue") return false;
  if (fullName === ".google.protobuf.StringValue" || fullName === ".google.protobuf.BytesValue") return "";
  return 0;
}

function unpackAny(url: string, bytes: Uint8Array): JsonObject {
  const type = messageType(url);
  const plain = type.toObject(type.decode(bytes), TO_OBJECT);
  const body = plainToJson(type, plain);
  if (type.fullName.startsWith(".google.protobuf.")) return { "@type": url, value: body };
  return { "@type": url, ...(body as JsonObject) };
}

/** Decodes an Any from the wire into its proto3-JSON form, "@type" included. */
export function decodeResource(any: { type_url: string; value: Uint8Array }): JsonObject {
  return unpackAny(any.type_url, any.value);
}
