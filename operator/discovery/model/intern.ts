// A model normalised anew from the same objects is equal to the last one, but none of its objects are the same ones.
// Translation is memoised by object identity (translate/memo.ts), and the encode cache by resource object, so a
// directory source that normalises every object again on each change would translate and encode every service
// again for a one-line VirtualService change. `intern` hands back the previous model's object wherever the new one
// is equal to it (and the previous list where every element is), so only what changed is new. Models are plain
// JSON data and never changed once built, which is what makes equal text mean equal objects here.
import type { ConfigModel } from "./config.js";

/** The text of objects already seen: each object is serialised once, however many models it stays in. */
const texts = new WeakMap<object, string>();

function textOf(value: object): string {
  let text = texts.get(value);
  if (text === undefined) {
    text = JSON.stringify(value);
    texts.set(value, text);
  }
  return text;
}

function internList<T extends object>(prev: readonly T[], next: T[]): T[] {
  const known = new Map<string, T>();
  for (const p of prev) known.set(textOf(p), p);
  const out = next.map((n) => known.get(textOf(n)) ?? n);
  const same = out.length === prev.length && out.every((o, i) => o === prev[i]);
  return same ? (prev as T[]) : out;
}

/** `next`, with every part (and every element of a list) equal to `prev`'s replaced by `prev`'s (the same object). */
export function intern(prev: ConfigModel | undefined, next: ConfigModel): ConfigModel {
  if (!prev) return next;
  const out: Record<string, unknown> = { ...next };
  const before = prev as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(next)) {
    const old = before[key];
    if (Array.isArray(value) && Array.isArray(old)) out[key] = internList(old as object[], value as object[]);
    else if (value !== null && typeof value === "object" && old !== null && typeof old === "object")
      out[key] = textOf(old) === textOf(value) ? old : value;
  }
  // A new model object even when every part is the same: a read is a new generation, as it was before.
  return out as unknown as ConfigModel;
}
