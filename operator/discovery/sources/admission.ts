// Per-object admission, as istiod does it: each Istio object is validated on its own; an invalid one is rejected
// (named, with its file and the field), and the last good version of that object stays. One rule for duplicates:
// the same kind/namespace/name defined twice, the first definition wins (files in path order, documents in file
// order), the same after a restart as while running; the others are rejected as duplicates. Pure.
import type { DestinationRule } from "../model/istio.js";
import type { Named } from "../model/config.js";
import type { KubeObject } from "../model/kube.js";
import { isIstioObject, validateObject } from "../validate/index.js";

export interface Candidate {
  object: KubeObject;
  /** Where it came from: a file (relative to the config folder), or "" for the Kubernetes API. */
  origin: string;
}

export interface Rejection {
  kind: string;
  namespace: string;
  name: string;
  origin: string;
  errors: string[];
  /** Whether a previous good version of the object is still in use. */
  keptPrevious: boolean;
}

export interface Admitted {
  objects: KubeObject[];
  rejected: Rejection[];
  /** The versions in use, by `origin + key`: give them back next time as `previous`. */
  good: Map<string, KubeObject>;
}

const groupOf = (o: KubeObject): string => (o.apiVersion ?? "").split("/").slice(0, -1).join("/");

/** kind/namespace/name (with the API group), the identity of an object. */
export function objectKey(o: KubeObject, defaultNamespace = "default"): string {
  return `${groupOf(o)}/${o.kind ?? ""}/${o.metadata?.namespace ?? defaultNamespace}/${o.metadata?.name ?? ""}`;
}

/** "VirtualService default/reviews (file reviews.yaml)": how messages name an object. */
export function describe(r: Pick<Rejection, "kind" | "namespace" | "name" | "origin">): string {
  return `${r.kind || "object"} ${r.namespace}/${r.name}${r.origin ? ` (file ${r.origin})` : ""}`;
}

export function admit(
  candidates: Candidate[],
  previous: ReadonlyMap<string, KubeObject>,
  defaultNamespace = "default",
): Admitted {
  const owner = new Map<string, string>();
  const rejected: Rejection[] = [];
  const unique: (Candidate & { key: string })[] = [];
  for (const c of candidates) {
    const key = objectKey(c.object, defaultNamespace);
    const first = owner.get(key);
    if (first !== undefined && c.object.metadata?.name) {
      const where = first ? `file ${first}` : "an earlier definition";
      rejected.push({
        ...identity(c, defaultNamespace),
        errors: [`metadata.name: defined again; the first definition (${where}) wins`],
        keptPrevious: false,
      });
      continue;
    }
    owner.set(key, c.origin);
    unique.push({ ...c, key });
  }
  // DestinationRules first: a VirtualService's subsets are checked against the rules that were admitted.
  const good = new Map<string, KubeObject>();
  const rules: Named<DestinationRule>[] = [];
  const take = (c: Candidate & { key: string }, ctx: Parameters<typeof validateObject>[1], against: object): void => {
    const errors = isIstioObject(c.object) ? validated(c.object, ctx, against) : [];
    const id = `${c.origin}\0${c.key}`;
    if (!errors.length) return void good.set(id, c.object);
    const before = previous.get(id);
    if (before) good.set(id, before);
    rejected.push({ ...identity(c, defaultNamespace), errors, keptPrevious: before !== undefined });
  };
  const isVs = (c: Candidate): boolean => c.object.kind === "VirtualService";
  for (const c of unique) {
    if (isVs(c)) continue;
    take(c, {}, ALONE);
    const dr = good.get(`${c.origin}\0${c.key}`);
    if (dr?.kind === "DestinationRule")
      rules.push({
        name: dr.metadata?.name ?? "",
        namespace: dr.metadata?.namespace ?? defaultNamespace,
        spec: dr.spec as unknown as DestinationRule,
      });
  }
  const against = rulesToken(rules);
  for (const c of unique) if (isVs(c)) take(c, { destinationRules: rules }, against);
  // In the candidates' order, so that what follows (normalise) sees the same order every time.
  const objects = unique.flatMap((c) => {
    const o = good.get(`${c.origin}\0${c.key}`);
    return o ? [o] : [];
  });
  return { objects, rejected, good };
}

// Validation by object: a directory source gives back the same parsed objects for files that didn't change, and
// objects are never changed once parsed, so an object validated against the same context needn't be again. At
// 1,000 files, validating everything again was a fifth of discovery's CPU per change.
const checked = new WeakMap<KubeObject, { against: object; errors: string[] }>();
/** The context of an object validated on its own. */
const ALONE = {};
/** The DestinationRule specs VirtualServices were last checked against, and a token for them. */
let lastRules: { specs: unknown[]; token: object } = { specs: [], token: {} };

/** A token that stays the same while the admitted DestinationRules are the same objects. */
function rulesToken(rules: Named<DestinationRule>[]): object {
  const specs = rules.map((r) => r.spec);
  const same = specs.length === lastRules.specs.length && specs.every((x, i) => x === lastRules.specs[i]);
  if (!same) lastRules = { specs, token: {} };
  return lastRules.token;
}

function validated(object: KubeObject, ctx: Parameters<typeof validateObject>[1], against: object): string[] {
  const known = checked.get(object);
  if (known?.against === against) return known.errors;
  const errors = validateObject(object, ctx);
  checked.set(object, { against, errors });
  return errors;
}

function identity(c: Candidate, defaultNamespace: string): Pick<Rejection, "kind" | "namespace" | "name" | "origin"> {
  return {
    kind: c.object.kind ?? "",
    namespace: c.object.metadata?.namespace ?? defaultNamespace,
    name: c.object.metadata?.name ?? "",
    origin: c.origin,
  };
}

/** One line per rejection, for logs and /debug/configz warnings. */
export function rejectionMessage(r: Rejection): string {
  return `rejected ${describe(r)}: ${r.errors.join("; ")}${r.keptPrevious ? " (its previous version stays in use)" : ""}`;
}
