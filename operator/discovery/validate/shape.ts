// Strict field checking, as kube-apiserver's strict field validation and istiod's webhook do it: every field must
// be one the schema names, with the right type. Pure. Messages start with the field path, and a misspelt field
// gets a "did you mean": `spec.http[0].retries.attemps: unknown field (did you mean "attempts"?)`.
import { durationSeconds } from "../model/duration.js";
import { durationProblem, type DurationRule } from "./durations.js";

export type Shape =
  | "string"
  | "int"
  | "number"
  | "bool"
  | "duration"
  /** An integer in [min, max] (a proto int32, uint32, … narrowed to what the field takes). */
  | { integer: readonly [min: number, max: number]; among?: readonly number[] }
  /** A finite number in [min, max] (a proto double). */
  | { real: readonly [min: number, max: number] }
  /** A duration held to one of Istio's rules (validate/durations.ts). */
  | { duration: DurationRule }
  | { enum: readonly string[] }
  | { list: Shape }
  | { map: Shape }
  | { fields: Fields; oneOf?: readonly (readonly string[])[] }
  /** Istio's field, which Weft doesn't implement: set (other than to a value `allowed` takes), it is rejected. */
  | { unsupported: true; allowed?: (value: unknown) => boolean };

export type Fields = { readonly [field: string]: Shape | (() => Shape) };

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** Edit distance with transpositions (optimal string alignment), case-insensitive: field names are short. */
function distance(x: string, y: string): number {
  const a = x.toLowerCase();
  const b = y.toLowerCase();
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => d[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i++) {
    const row = d[i] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        row[j] = Math.min(at(i, j), at(i - 2, j - 2) + 1);
    }
  }
  return at(a.length, b.length);
}

/** The known name closest to `name`, when it is close enough to be a typo. */
export function suggest(name: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = distance(name, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.min(3, Math.floor(best.length / 3))) ? best : undefined;
}

const typeName = (v: unknown): string =>
  v === null
    ? "null"
    : Array.isArray(v)
      ? "a list"
      : typeof v === "object"
        ? "an object"
        : `${typeof v} ${JSON.stringify(v)}`;

const shown = (v: unknown): string => (typeof v === "number" ? String(v) : typeName(v));

/**
 * Every mismatch between `value` and `shape`, each `path: problem`. With `unknownFields` false, only the values of
 * the fields the shape names are checked (types, ranges, durations), as for objects already admitted.
 */
export function checkShape(
  value: unknown,
  shape: Shape,
  path: string,
  out: string[] = [],
  unknownFields = true,
): string[] {
  const bad = (expected: string): void => void out.push(`${path}: expected ${expected}, got ${typeName(value)}`);
  if (value === null || value === undefined) return out; // absent, as protojson reads null
  if (shape === "string") {
    if (typeof value !== "string") bad("a string");
  } else if (shape === "int") {
    if (typeof value !== "number" || !Number.isInteger(value)) bad("an integer");
  } else if (shape === "number") {
    if (typeof value !== "number" || !Number.isFinite(value)) bad("a number");
  } else if (shape === "bool") {
    if (typeof value !== "boolean") bad("true or false");
  } else if (shape === "duration") {
    if (typeof value !== "string" || durationSeconds(value) === undefined)
      out.push(`${path}: "${String(value)}" is not a duration (like "1.5s" or "300ms")`);
  } else if ("integer" in shape) {
    const [min, max] = shape.integer;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max)
      out.push(`${path}: must be an integer from ${min} to ${max}, got ${shown(value)}`);
    else if (shape.among && !shape.among.includes(value))
      out.push(`${path}: must be one of ${shape.among.join(", ")}, got ${value}`);
  } else if ("real" in shape) {
    const [min, max] = shape.real;
    if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max)
      out.push(`${path}: must be a number from ${min} to ${max}, got ${shown(value)}`);
  } else if ("duration" in shape) {
    const problem = durationProblem(value, shape.duration);
    if (problem) out.push(`${path}: ${problem}`);
  } else if ("unsupported" in shape) {
    if (!shape.allowed?.(value)) out.push(`${path}: is not supported by Weft yet (it would be ignored)`);
  } else if ("enum" in shape) {
    if (typeof value !== "string" || !shape.enum.includes(value)) {
      const hint = typeof value === "string" ? suggest(value, shape.enum) : undefined;
      out.push(
        `${path}: ${JSON.stringify(value)} is not one of ${shape.enum.join(", ")}${hint ? ` (did you mean "${hint}"?)` : ""}`,
      );
    }
  } else if ("list" in shape) {
    if (!Array.isArray(value)) bad("a list");
    else value.forEach((v, i) => checkShape(v, shape.list, `${path}[${i}]`, out, unknownFields));
  } else if ("map" in shape) {
    if (!isObject(value)) bad("a map");
    else for (const [k, v] of Object.entries(value)) checkShape(v, shape.map, `${path}.${k}`, out, unknownFields);
  } else {
    if (!isObject(value)) return (bad("an object"), out);
    for (const [k, v] of Object.entries(value)) {
      const field = shape.fields[k];
      if (field === undefined) {
        if (!unknownFields) continue;
        const hint = suggest(k, Object.keys(shape.fields));
        out.push(`${path}.${k}: unknown field${hint ? ` (did you mean "${hint}"?)` : ""}`);
        continue;
      }
      checkShape(v, typeof field === "function" ? field() : field, `${path}.${k}`, out, unknownFields);
    }
    for (const group of shape.oneOf ?? []) {
      const set = group.filter((k) => value[k] !== undefined && value[k] !== null);
      if (set.length > 1) out.push(`${path}: set only one of ${group.join(", ")}, not ${set.join(" and ")}`);
    }
  }
  return out;
}
