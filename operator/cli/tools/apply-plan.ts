// `weft apply -f` / `weft delete -f` for local mode's config folder, planned without I/O: what the folder holds,
// what the file brings, which files change. Validation is the folder source's admission (sources/admission.ts),
// which runs the webhook's validateObject: what apply accepts, discovery accepts, and kubectl apply against the
// webhook would too. Pure.
import { stringify } from "yaml";
import type { KubeObject } from "../../discovery/model/kube.js";
import { admit, describe, objectKey } from "../../discovery/sources/admission.js";

export interface FolderFile {
  /** Relative to the folder. */
  name: string;
  objects: KubeObject[];
}

export interface Plan {
  /** Files to write (text) or remove (null), by name relative to the folder. */
  writes: Map<string, string | null>;
  /** kubectl's lines: `virtualservice.networking.istio.io/reviews created`. */
  results: string[];
  /** One line per failure, naming the object and the field; when any, nothing is written. */
  errors: string[];
}

/** kubectl's resource name: `<kind lowercased>.<group>/<name>` (core kinds have no group). */
export function resourceName(o: KubeObject): string {
  const group = (o.apiVersion ?? "").split("/").slice(0, -1).join("/");
  return `${(o.kind ?? "object").toLowerCase()}${group ? `.${group}` : ""}/${o.metadata?.name ?? ""}`;
}

/** The file apply writes an object to: one per object, named after it. */
export function fileFor(o: KubeObject): string {
  const safe = (s: string) => s.toLowerCase().replace(/[^a-z0-9.-]/g, "-");
  return `${safe(o.kind ?? "object")}-${safe(o.metadata?.namespace ?? "default")}-${safe(o.metadata?.name ?? "")}.yaml`;
}

const render = (objects: readonly KubeObject[]): string | null =>
  objects.length ? objects.map((o) => stringify(o)).join("---\n") : null;

/** Removes `keys` from every file but `except`; the changed files go into `writes`. */
function removeFromFiles(
  folder: readonly FolderFile[],
  keys: Set<string>,
  except: Set<string>,
  writes: Plan["writes"],
) {
  for (const f of folder) {
    if (except.has(f.name)) continue;
    const kept = f.objects.filter((o) => !keys.has(objectKey(o)));
    if (kept.length !== f.objects.length) writes.set(f.name, render(kept));
  }
}

export function planApply(folder: readonly FolderFile[], objects: readonly KubeObject[], source: string): Plan {
  const errors = objects.flatMap((o, i) =>
    o.kind && o.apiVersion && o.metadata?.name
      ? []
      : [`${source} document ${i + 1}: apiVersion, kind and metadata.name are required`],
  );
  if (errors.length) return { writes: new Map(), results: [], errors };
  const incoming = new Set(objects.map((o) => objectKey(o)));
  // What the folder would hold: its objects that this file doesn't replace, then the file's.
  const candidates = [
    ...folder.flatMap((f) =>
      f.objects.filter((o) => !incoming.has(objectKey(o))).map((object) => ({ object, origin: f.name })),
    ),
    ...objects.map((object) => ({ object, origin: source })),
  ];
  const { rejected } = admit(candidates, new Map());
  for (const r of rejected.filter((x) => x.origin === source))
    for (const e of r.errors) errors.push(`${describe({ ...r, origin: "" })}: ${e}`);
  if (errors.length) return { writes: new Map(), results: [], errors };

  const before = new Map(folder.flatMap((f) => f.objects.map((o) => [objectKey(o), o] as const)));
  const writes: Plan["writes"] = new Map();
  const results: string[] = [];
  const targets = new Set<string>();
  const byFile = new Map<string, KubeObject[]>();
  for (const o of objects) {
    const name = fileFor(o);
    targets.add(name);
    byFile.set(name, [...(byFile.get(name) ?? []), o]);
    const old = before.get(objectKey(o));
    const verb = !old ? "created" : JSON.stringify(old) === JSON.stringify(o) ? "unchanged" : "configured";
    results.push(`${resourceName(o)} ${verb}`);
  }
  for (const [name, list] of byFile) writes.set(name, render(list));
  removeFromFiles(folder, incoming, targets, writes);
  return { writes, results, errors };
}

export function planDelete(folder: readonly FolderFile[], objects: readonly KubeObject[]): Plan {
  const present = new Set(folder.flatMap((f) => f.objects.map((o) => objectKey(o))));
  const errors = objects
    .filter((o) => !present.has(objectKey(o)))
    .map((o) => `${resourceName(o)} not found in the config folder`);
  const writes: Plan["writes"] = new Map();
  removeFromFiles(folder, new Set(objects.map((o) => objectKey(o))), new Set(), writes);
  const results = objects.filter((o) => present.has(objectKey(o))).map((o) => `${resourceName(o)} deleted`);
  return { writes, results, errors };
}
