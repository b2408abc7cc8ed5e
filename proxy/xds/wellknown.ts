// proto3-JSON forms of the well-known types, converted to and from protobufjs plain objects.
import type { Json, JsonObject } from "./types.js";

type Plain = Record<string, unknown>;

const WRAPPERS = new Set(
  ["Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String", "Bytes"].map(
    (k) => `.google.protobuf.${k}Value`,
  ),
);

export function isWrapper(fullName: string): boolean {
  return WRAPPERS.has(fullName);
}

/** "1.5s" → {seconds, nanos}. Also accepts a number of seconds. */
export function parseDuration(value: unknown, where: string): Plain {
  if (typeof value === "number") value = `${value}s`;
  if (typeof value !== "string") throw new Error(`${where}: a duration must be a string like "1.5s"`);
  const m = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(value);
  if (!m) throw new Error(`${where}: bad duration "${value}"`);
  const sign = m[1] ? -1 : 1;
  const seconds = Number(m[2]) * sign;
  const nanos = Number((m[3] ?? "").padEnd(9, "0")) * sign;
  return { seconds, nanos };
}

/** {seconds, nanos} → "1.5s", with as few fractional digits as it needs. */
export function formatDuration(value: Plain): string {
  const seconds = Number(value["seconds"] ?? 0);
  const nanos = Number(value["nanos"] ?? 0);
  const negative = seconds < 0 || nanos < 0;
  const whole = Math.abs(seconds);
  const frac = String(Math.abs(nanos)).padStart(9, "0").replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${frac ? `.${frac}` : ""}s`;
}

export function parseTimestamp(value: unknown, where: string): Plain {
  if (typeof value !== "string") throw new Error(`${where}: a timestamp must be an RFC 3339 string`);
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new Error(`${where}: bad timestamp "${value}"`);
  const frac = /\.(\d+)/.exec(value)?.[1] ?? "";
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Number(frac.slice(0, 9).padEnd(9, "0")) };
}

export function formatTimestamp(value: Plain): string {
  const seconds = Number(value["seconds"] ?? 0);
  const nanos = Number(value["nanos"] ?? 0);
  const iso = new Date(seconds * 1000).toISOString().replace(/\.000Z$/, "Z");
  if (!nanos) return iso;
  return iso.replace(/Z$/, `.${String(nanos).padStart(9, "0").replace(/0+$/, "")}Z`);
}

// protobufjs defines the struct.proto types itself, with camelCase field names.
export function toValue(json: unknown): Plain {
  if (json === null || json === undefined) return { nullValue: "NULL_VALUE" };
  if (typeof json === "number") return { numberValue: json };
  if (typeof json === "string") return { stringValue: json };
  if (typeof json === "boolean") return { boolValue: json };
  if (Array.isArray(json)) return { listValue: { values: json.map(toValue) } };
  return { structValue: toStruct(json as Plain) };
}

export function toStruct(json: Plain): Plain {
  const fields: Plain = {};
  for (const [k, v] of Object.entries(json)) if (v !== undefined) fields[k] = toValue(v);
  return { fields };
}

export function fromValue(value: Plain): Json {
  if ("numberValue" in value) return Number(value["numberValue"]);
  if ("stringValue" in value) return String(value["stringValue"]);
  if ("boolValue" in value) return Boolean(value["boolValue"]);
  if ("structValue" in value) return fromStruct(value["structValue"] as Plain);
  if ("listValue" in value) {
    const list = (value["listValue"] as Plain)["values"];
    return Array.isArray(list) ? list.map((v) => fromValue(v as Plain)) : [];
  }
  return null;
}

export function fromStruct(value: Plain): JsonObject {
  const out: JsonObject = {};
  const fields = (value["fields"] ?? {}) as Record<string, Plain>;
  for (const [k, v] of Object.entries(fields)) out[k] = fromValue(v);
  return out;
}

/** A 64-bit integer as a plain number when it is safe, else the decimal string. */
export function fromLong(value: unknown): number | string {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : String(value);
}
