// Envoy's own field constraints (protoc-gen-validate annotations in its protos): what Envoy checks before it
// accepts a resource, checked here on the decoded protobuf. A proxy can NACK with these messages; the control
// plane's tests use them to prove that what it sends would be accepted.
import protobuf from "protobufjs";
import { encodeResource } from "./codec.js";
import { envoyRoot } from "./protos.js";
import { HEADER_NAME, validHeaderValue } from "./header-field.js";
import type { AnyMessage, JsonObject } from "./types.js";

type Rules = Record<string, unknown>;
type Message = protobuf.Message & Record<string, unknown>;

const WRAPPERS = /^\.google\.protobuf\.(Double|Float|Int64|UInt64|Int32|UInt32|Bool|String|Bytes)Value$/;

// A message type's full name is a getter that joins its parents' names on every read: ask it once per type.
type Special = "any" | "duration" | "wrapper" | undefined;
const specials = new WeakMap<protobuf.Type, { special: Special }>();
function specialOf(type: protobuf.Type): Special {
  let s = specials.get(type);
  if (!s) {
    const name = type.fullName;
    s = {
      special:
        name === ".google.protobuf.Any"
          ? "any"
          : name === ".google.protobuf.Duration"
            ? "duration"
            : WRAPPERS.test(name)
              ? "wrapper"
              : undefined,
    };
    specials.set(type, s);
  }
  return s.special;
}

function rulesOf(options: { [k: string]: unknown }[] | undefined, key: string): Rules | undefined {
  for (const o of options ?? []) if (key in o) return o[key] as Rules;
  return undefined;
}

function num(value: unknown): number {
  if (typeof value === "number") return value;
  if (value && typeof value === "object" && "toNumber" in value) return (value as { toNumber(): number }).toNumber();
  return Number(value ?? 0);
}

function durationSeconds(value: unknown): number {
  const d = (value ?? {}) as { seconds?: unknown; nanos?: unknown };
  return num(d.seconds) + num(d.nanos) / 1e9;
}

/** gt/gte/lt/lte/const/in/not_in over numbers. */
function compare(value: number, r: Rules, show: (n: number) => string, out: string[], path: string): void {
  const bound = (k: string): number | undefined =>
    r[k] === undefined ? undefined : typeof r[k] === "object" ? durationSeconds(r[k]) : num(r[k]);
  const gt = bound("gt");
  const gte = bound("gte");
  const lt = bound("lt");
  const lte = bound("lte");
  const c = bound("const");
  if (gt !== undefined && !(value > gt)) out.push(`${path}: must be greater than ${show(gt)}, is ${show(value)}`);
  if (gte !== undefined && !(value >= gte)) out.push(`${path}: must be at least ${show(gte)}, is ${show(value)}`);
  if (lt !== undefined && !(value < lt)) out.push(`${path}: must be less than ${show(lt)}, is ${show(value)}`);
  if (lte !== undefined && !(value <= lte)) out.push(`${path}: must be at most ${show(lte)}, is ${show(value)}`);
  if (c !== undefined && value !== c) out.push(`${path}: must be ${show(c)}, is ${show(value)}`);
  if (Array.isArray(r["in"]) && !r["in"].map(num).includes(value))
    out.push(`${path}: must be one of ${r["in"].join(", ")}`);
  if (Array.isArray(r["not_in"]) && r["not_in"].map(num).includes(value))
    out.push(`${path}: must not be ${show(value)}`);
}

/** A string's length in code points (what PGV's min_len and max_len count), without spreading it. */
function codePoints(value: string): number {
  let n = value.length;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < value.length) {
      const d = value.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

function checkString(value: string, r: Rules, out: string[], path: string): void {
  if (r["min_len"] !== undefined || r["max_len"] !== undefined) {
    const len = codePoints(value);
    if (r["min_len"] !== undefined && len < num(r["min_len"]))
      out.push(`${path}: must have at least ${num(r["min_len"])} characters`);
    if (r["max_len"] !== undefined && len > num(r["max_len"]))
      out.push(`${path}: must have at most ${num(r["max_len"])} characters`);
  }
  if (r["min_bytes"] !== undefined || r["max_bytes"] !== undefined) {
    const bytes = Buffer.byteLength(value);
    if (r["min_bytes"] !== undefined && bytes < num(r["min_bytes"]))
      out.push(`${path}: must have at least ${num(r["min_bytes"])} bytes`);
    if (r["max_bytes"] !== undefined && bytes > num(r["max_bytes"]))
      out.push(`${path}: must have at most ${num(r["max_bytes"])} bytes`);
  }
  if (typeof r["prefix"] === "string" && !value.startsWith(r["prefix"]))
    out.push(`${path}: must start with "${r["prefix"]}"`);
  if (typeof r["const"] === "string" && value !== r["const"]) out.push(`${path}: must be "${r["const"]}"`);
  if (Array.isArray(r["in"]) && !r["in"].includes(value)) out.push(`${path}: must be one of ${r["in"].join(", ")}`);
  if (Array.isArray(r["not_in"]) && r["not_in"].includes(value)) out.push(`${path}: must not be "${value}"`);
  const wk = r["well_known_regex"];
  const strict = r["strict"] !== false;
  if (wk === "HTTP_HEADER_NAME" && value !== "" && !HEADER_NAME.test(value))
    out.push(`${path}: "${value}" is not a valid header name`);
  if (wk === "HTTP_HEADER_VALUE" && !validHeaderValue(value, strict)) out.push(`${path}: not a valid header value`);
}

/** Rules on one value of a field (the field itself, a list item, a map value). */
function checkValue(field: protobuf.Field, value: unknown, r: Rules, out: string[], path: string): void {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) {
    const present = value !== null && value !== undefined;
    const msgRules = r["message"] as Rules | undefined;
    const required =
      msgRules?.["required"] === true ||
      (r["duration"] as Rules | undefined)?.["required"] === true ||
      (r["any"] as Rules | undefined)?.["required"] === true;
    if (!present) {
      if (required) out.push(`${path}: is required`);
      return;
    }
    const special = specialOf(t);
    if (special === "duration" && r["duration"]) {
      compare(durationSeconds(value), r["duration"] as Rules, (n) => `${n}s`, out, path);
    } else if (special === "wrapper") {
      const inner = (value as Message)["value"];
      const scalar = Object.keys(r).find((k) => k !== "message");
      if (scalar && typeof inner === "string") checkString(inner, r[scalar] as Rules, out, path);
      else if (scalar && inner !== undefined) compare(num(inner), r[scalar] as Rules, String, out, path);
    }
    if (msgRules?.["skip"] !== true) walk(t, value as Message, out, path);
    return;
  }
  if (t instanceof protobuf.Enum) {
    const e = r["enum"] as Rules | undefined;
    if (e?.["defined_only"] === true && !Object.values(t.values).includes(num(value)))
      out.push(`${path}: ${String(value)} is not a defined value`);
    if (e) compare(num(value), e, String, out, path);
    return;
  }
  if (typeof value === "string" && r["string"]) checkString(value, r["string"] as Rules, out, path);
  else if (value instanceof Uint8Array && r["bytes"]) {
    const b = r["bytes"] as Rules;
    if (b["min_len"] !== undefined && value.length < num(b["min_len"]))
      out.push(`${path}: must have at least ${num(b["min_len"])} bytes`);
  } else {
    const kind = Object.keys(r).find((k) => k !== "repeated" && k !== "map");
    if (kind && kind !== "string" && kind !== "bytes" && kind !== "bool")
      compare(num(value), r[kind] as Rules, String, out, path);
  }
}

interface Plan {
  field: protobuf.Field;
  rules: Rules;
}

// Per message type, once: the fields worth a look (those with rules, and messages that may hold some).
const plans = new WeakMap<protobuf.Type, { fields: Plan[]; requiredOneofs: protobuf.OneOf[] }>();

function planOf(type: protobuf.Type): { fields: Plan[]; requiredOneofs: protobuf.OneOf[] } {
  let plan = plans.get(type);
  if (!plan) {
    const fields: Plan[] = [];
    for (const field of type.fieldsArray) {
      field.resolve();
      // Whole in options when loaded from the descriptor (protos.ts); else in parsedOptions, which protobufjs types as
      // a record and is at run time a list of records.
      const rules =
        (field.options?.["(validate.rules)"] as Rules | undefined) ??
        rulesOf(field.parsedOptions as unknown as { [k: string]: unknown }[] | undefined, "(validate.rules)") ??
        {};
      if (Object.keys(rules).length > 0 || field.resolvedType instanceof protobuf.Type) fields.push({ field, rules });
    }
    const requiredOneofs = type.oneofsArray.filter(
      (o) => (o.options as Record<string, unknown> | undefined)?.["(validate.required)"] === true,
    );
    plan = { fields, requiredOneofs };
    plans.set(type, plan);
  }
  return plan;
}

function checkField({ field, rules: r }: Plan, msg: Message, out: string[], path: string): void {
  const value = msg[field.name];
  if (field.map) {
    const entries = Object.entries((value ?? {}) as Record<string, unknown>);
    const m = (r["map"] ?? {}) as Rules;
    if (m["min_pairs"] !== undefined && entries.length < num(m["min_pairs"]))
      out.push(`${path}: needs at least ${num(m["min_pairs"])} entries`);
    for (const [k, v] of entries) {
      if (m["keys"]) checkString(k, ((m["keys"] as Rules)["string"] ?? {}) as Rules, out, `${path}[${k}]`);
      checkValue(field, v, (m["values"] ?? {}) as Rules, out, `${path}[${k}]`);
    }
    return;
  }
  if (field.repeated) {
    const list = (value ?? []) as unknown[];
    const rep = (r["repeated"] ?? {}) as Rules;
    if (rep["min_items"] !== undefined && list.length < num(rep["min_items"]))
      out.push(`${path}: needs at least ${num(rep["min_items"])} items`);
    if (rep["max_items"] !== undefined && list.length > num(rep["max_items"]))
      out.push(`${path}: takes at most ${num(rep["max_items"])} items`);
    if (rep["unique"] === true && new Set(list.map((v) => JSON.stringify(v))).size !== list.length)
      out.push(`${path}: items must be unique`);
    list.forEach((v, i) => checkValue(field, v, (rep["items"] ?? {}) as Rules, out, `${path}[${i}]`));
    return;
  }
  // Members of a oneof that isn't set to them are not checked.
  if (field.partOf && (msg as Record<string, unknown>)[field.partOf.name] !== field.name) return;
  checkValue(field, value, r, out, path);
}

const anyTypes = new Map<string, protobuf.ReflectionObject | null>();
/** The message type an Any's URL names, looked up once per URL. */
function anyType(url: string): protobuf.ReflectionObject | null {
  let t = anyTypes.get(url);
  if (t === undefined) {
    t = envoyRoot().lookup(url.slice(url.lastIndexOf("/") + 1));
    if (anyTypes.size < 1000) anyTypes.set(url, t);
  }
  return t;
}

function walk(type: protobuf.Type, msg: Message, out: string[], path: string): void {
  if (specialOf(type) === "any") {
    const inner = anyType(String(msg["type_url"] ?? ""));
    if (inner instanceof protobuf.Type)
      walk(inner, inner.decode(msg["value"] as Uint8Array) as Message, out, `${path}<${inner.name}>`);
    return;
  }
  const plan = planOf(type);
  for (const oneof of plan.requiredOneofs) {
    if (!msg[oneof.name]) out.push(`${path}: one of ${oneof.oneof.join(", ")} is required`);
  }
  for (const p of plan.fields) checkField(p, msg, out, path ? `${path}.${p.field.name}` : p.field.name);
}

/**
 * What Envoy's field rules say about a resource in Weft's JSON form (with its "@type"): an empty list means
 * Envoy's schema validation passes. Semantic checks Envoy makes beyond its annotations are not covered.
 */
export function envoyRuleViolations(json: JsonObject): string[] {
  return anyRuleViolations(encodeResource(json));
}

/** The same, for a resource already encoded. */
export function anyRuleViolations(any: AnyMessage): string[] {
  return messageRuleViolations(any.type_url, any.value);
}

/**
 * The same, for one encoded message of the type a name or type URL gives, a resource's part (a RouteConfiguration's
 * virtual host) included. Each problem's path starts with `path`.
 */
export function messageRuleViolations(typeNameOrUrl: string, bytes: Uint8Array, path = ""): string[] {
  const type = envoyRoot().lookupType(typeNameOrUrl.slice(typeNameOrUrl.lastIndexOf("/") + 1));
  const out: string[] = [];
  walk(type, type.decode(bytes) as Message, out, path);
  return out;
}
