// Decodes an Envoy resource (a google.protobuf.Any) from the wire into its proto3-JSON form, "@type" included, with
// wire-types.ts' table instead of protobufjs' reflection. Two steps, as the protobufjs codec took them: the message
// as protobufjs' toObject gives it (longs and enums as strings, bytes as base64, fields in number order, unset ones
// left out), then the well-known types (Any, Duration, Struct, wrappers, ...) in their JSON forms.
import type { AnyMessage, Json, JsonObject } from "./types.js";
import { LEN, longString, WireReader } from "./wire.js";
import type { WireField, WireType, WireTypes } from "./wire-types.js";
import { formatDuration, formatTimestamp, fromLong, fromStruct, fromValue, isWrapper } from "./wellknown.js";

type Plain = Record<string, unknown>;

const LONG_TYPES = new Set(["int64", "uint64", "sint64", "fixed64", "sfixed64"]);
/** Scalars a repeated field may pack into one length-delimited run. */
const UNPACKABLE = new Set(["string", "bytes"]);

function zigzag64([lo, hi]: [number, number]): string {
  const v = (BigInt(hi) << 32n) | BigInt(lo);
  return String((v >> 1n) ^ -(v & 1n));
}

/** One value of a field that isn't a message. */
function scalar(f: WireField, r: WireReader): unknown {
  switch (f.type) {
    case "double":
      return r.double();
    case "float":
      return r.float();
    case "int32":
      return r.uint32() | 0;
    case "uint32":
      return r.uint32();
    case "sint32": {
      const n = r.uint32();
      return (n >>> 1) ^ -(n & 1);
    }
    case "fixed32":
      return r.fixed32();
    case "sfixed32":
      return r.fixed32() | 0;
    case "int64":
      return longString(r.varint64(), true);
    case "uint64":
      return longString(r.varint64(), false);
    case "sint64":
      return zigzag64(r.varint64());
    case "fixed64":
      return longString(r.fixed64(), false);
    case "sfixed64":
      return longString(r.fixed64(), true);
    case "bool": {
      const [lo, hi] = r.varint64();
      return lo !== 0 || hi !== 0;
    }
    case "string":
      return r.string();
    case "bytes":
      return r.bytes().toString("base64");
  }
  if (f.enumNames) {
    const n = r.uint32() | 0;
    return f.enumNames[n] ?? n;
  }
  throw new Error(`${f.name}: unknown type ${f.type}`);
}

function value(f: WireField, r: WireReader): unknown {
  return f.message ? plain(f.message, r.sub()) : scalar(f, r);
}

/** A map entry (key = 1, value = 2), each defaulting to its zero. */
function entry(f: WireField, r: WireReader): [string, unknown] {
  const sub = r.sub();
  let key: unknown = f.keyType === "string" ? "" : f.keyType === "bool" ? false : 0;
  let v: unknown;
  while (!sub.done) {
    const tag = sub.uint32();
    if (tag >>> 3 === 1) key = scalar({ ...f, type: f.keyType, enumNames: undefined }, sub);
    else if (tag >>> 3 === 2) v = value(f, sub);
    else sub.skip(tag & 7);
  }
  if (v === undefined) v = f.message ? {} : f.enumNames ? (f.enumNames[0] ?? 0) : scalarZero(f.type);
  return [String(key), v];
}

function scalarZero(type: string): unknown {
  if (type === "string" || type === "bytes") return "";
  if (type === "bool") return false;
  return LONG_TYPES.has(type) ? "0" : 0;
}

/** A message as protobufjs' toObject gives it with longs, enums and bytes as strings and no defaults. */
function plain(type: WireType, r: WireReader): Plain {
  const got = new Map<WireField, unknown>();
  while (!r.done) {
    const tag = r.uint32();
    const f = type.byId.get(tag >>> 3);
    if (!f) {
      r.skip(tag & 7);
      continue;
    }
    if (f.map) {
      const [k, v] = entry(f, r);
      const m = (got.get(f) as Plain | undefined) ?? {};
      m[k] = v;
      got.set(f, m);
    } else if (f.repeated) {
      const list = (got.get(f) as unknown[] | undefined) ?? [];
      if ((tag & 7) === LEN && !f.message && !UNPACKABLE.has(f.type)) {
        const run = r.sub();
        while (!run.done) list.push(scalar(f, run));
      } else list.push(value(f, r));
      got.set(f, list);
    } else got.set(f, value(f, r)); // the last one, as protobufjs keeps it
  }
  const out: Plain = {};
  for (const f of [...got.keys()].sort((a, b) => a.id - b.id)) out[f.name] = got.get(f);
  return out;
}

// ---- protobufjs plain object → JSON ----

function toJson(types: WireTypes, type: WireType, p: unknown): Json {
  const obj = (p ?? {}) as Plain;
  switch (type.fullName) {
    case ".google.protobuf.Any":
      return unpack(types, String(obj["type_url"]), Buffer.from(String(obj["value"] ?? ""), "base64"));
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
    const f = type.byName[key];
    if (!f) continue;
    const convert = (v: unknown): Json => {
      if (f.message) return toJson(types, f.message, v);
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

function unpack(types: WireTypes, url: string, bytes: Buffer): JsonObject {
  const name = url.slice(url.lastIndexOf("/") + 1);
  const type = types.message(name);
  if (!type) throw new Error(`unknown message type "${name}"`);
  const body = toJson(types, type, plain(type, new WireReader(bytes)));
  if (type.fullName.startsWith(".google.protobuf.")) return { "@type": url, value: body };
  return { "@type": url, ...(body as JsonObject) };
}

/** A message's bytes as protobufjs' toObject gives them (longs, enums, bytes as strings; no defaults). */
export function plainMessage(types: WireTypes, name: string, bytes: Buffer): Plain {
  const type = types.message(name);
  if (!type) throw new Error(`unknown message type "${name}"`);
  return plain(type, new WireReader(bytes));
}

/** Decodes an Any from the wire into its proto3-JSON form, "@type" included. */
export function decodeAny(types: WireTypes, any: AnyMessage | { type_url: string; value: Uint8Array }): JsonObject {
  const v = any.value;
  return unpack(types, any.type_url, Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.length));
}
