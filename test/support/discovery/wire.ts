// Test support: what changed between a resource as translated and as a proxy decodes it from the wire. A number that
// doesn't fit its protobuf field (4294967296 in a uint32, -1 in one) is encoded wrapped and arrives as another
// value (0, 4294967295): each such leaf is named, with both values.
import { durationSeconds } from "../../../operator/discovery/model/duration.js";

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** Proto3 leaves out defaults: a missing field reads as 0, false, "" or an empty list. */
const isDefault = (v: unknown): boolean =>
  v === undefined || v === null || v === 0 || v === false || v === "" || (Array.isArray(v) && v.length === 0);

function same(sent: unknown, got: unknown): boolean {
  if (sent === got) return true;
  if (got === undefined && isDefault(sent)) return true;
  // Durations may be written another way ("0.030s" for "0.03s"); 64-bit integers may come back as strings.
  if (typeof sent === "string" && typeof got === "string" && /s$/.test(sent))
    return durationSeconds(sent) !== undefined && durationSeconds(sent) === durationSeconds(got);
  if (typeof sent === "number" && typeof got === "string") return String(sent) === got;
  return false;
}

/** Every leaf of `sent` that arrives changed in `got`, as `path: sent → got`. */
export function wireChanges(sent: unknown, got: unknown, path = "", out: string[] = []): string[] {
  if (Array.isArray(sent)) {
    const list = Array.isArray(got) ? got : [];
    sent.forEach((v, i) => wireChanges(v, list[i], `${path}[${i}]`, out));
  } else if (isObject(sent)) {
    const obj = isObject(got) ? got : {};
    for (const [k, v] of Object.entries(sent)) wireChanges(v, obj[k], path ? `${path}.${k}` : k, out);
  } else if (!same(sent, got)) {
    out.push(`${path}: ${JSON.stringify(sent)} → ${JSON.stringify(got)}`);
  }
  return out;
}
