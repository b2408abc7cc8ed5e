// The injection ConfigMap (Istio's istio-sidecar-injector shape) parsed into what the patch needs. Pure: a bad
// key gives an error that names it, never an exception.
import { parse } from "yaml";

export interface LabelSelectorRequirement {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

/** A container as the template gives it: only the fields the patch reads or writes are typed. */
export interface Container {
  name: string;
  image?: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  ports?: { containerPort: number; name?: string; protocol?: string }[];
  readinessProbe?: unknown;
  resources?: unknown;
  [field: string]: unknown;
}

/** A pod volume as the template gives it (the engines emptyDir): only its name is read. */
export interface Volume {
  name: string;
  [field: string]: unknown;
}

export interface Template {
  containers: Container[];
  initContainers: Container[];
  volumes: Volume[];
}

export interface InjectorConfig {
  policy: "enabled" | "disabled";
  alwaysInjectSelector: LabelSelector[];
  neverInjectSelector: LabelSelector[];
  injectedAnnotations: Record<string, string>;
  defaultTemplates: string[];
  /** Each template parsed: the containers, init containers and volumes it adds. */
  templates: Record<string, Template>;
}

export interface InjectorValues {
  global?: {
    hub?: string;
    tag?: string;
    proxy?: { image?: string; binaryPath?: string; restartPolicy?: string; resources?: unknown };
  };
  revision?: string;
}

export type Parsed =
  { ok: true; config: InjectorConfig; values: InjectorValues } | { ok: false; key: string; error: string };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
/** One line: a YAML error's first line says what and where; the rest is a drawing of the spot. */
const message = (err: unknown) => (err instanceof Error ? err.message : String(err)).split("\n")[0]!.replace(/:$/, "");

function containerList(where: string, list: unknown): Container[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new Error(`${where}: not a list`);
  list.forEach((c: unknown, i) => {
    if (!isRecord(c) || typeof c.name !== "string" || !c.name) throw new Error(`${where}[${i}]: no name`);
    if (c.args !== undefined && !(Array.isArray(c.args) && c.args.every((a) => typeof a === "string")))
      throw new Error(`${where}[${i}].args: not a list of strings`);
  });
  return list as Container[];
}

function volumeList(where: string, list: unknown): Volume[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new Error(`${where}: not a list`);
  list.forEach((v: unknown, i) => {
    if (!isRecord(v) || typeof v.name !== "string" || !v.name) throw new Error(`${where}[${i}]: no name`);
  });
  return list as Volume[];
}

function parseTemplate(name: string, text: unknown): Template {
  const doc: unknown = typeof text === "string" ? parse(text) : text;
  if (!isRecord(doc) || !Array.isArray(doc.containers)) throw new Error(`templates.${name}: no containers list`);
  return {
    containers: containerList(`templates.${name}.containers`, doc.containers),
    initContainers: containerList(`templates.${name}.initContainers`, doc.initContainers),
    volumes: volumeList(`templates.${name}.volumes`, doc.volumes),
  };
}

function parseConfig(text: string): InjectorConfig {
  const doc: unknown = parse(text);
  if (!isRecord(doc)) throw new Error("not a YAML mapping");
  const list = <T>(v: unknown, what: string): T[] => {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw new Error(`${what}: not a list`);
    return v as T[];
  };
  const rawTemplates = doc.templates ?? {};
  if (!isRecord(rawTemplates)) throw new Error("templates: not a mapping");
  const templates: InjectorConfig["templates"] = {};
  for (const [name, t] of Object.entries(rawTemplates)) templates[name] = parseTemplate(name, t);
  const defaultTemplates = list<string>(doc.defaultTemplates, "defaultTemplates");
  const wanted = defaultTemplates.length > 0 ? defaultTemplates : ["sidecar"];
  for (const name of wanted) if (!templates[name]) throw new Error(`templates.${name}: missing`);
  const annotations = doc.injectedAnnotations ?? {};
  if (!isRecord(annotations)) throw new Error("injectedAnnotations: not a mapping");
  return {
    policy: String(doc.policy ?? "enabled").toLowerCase() === "disabled" ? "disabled" : "enabled",
    alwaysInjectSelector: list<LabelSelector>(doc.alwaysInjectSelector, "alwaysInjectSelector"),
    neverInjectSelector: list<LabelSelector>(doc.neverInjectSelector, "neverInjectSelector"),
    injectedAnnotations: Object.fromEntries(Object.entries(annotations).map(([k, v]) => [k, String(v)])),
    defaultTemplates: wanted,
    templates,
  };
}

/** The ConfigMap's data → config and values, or the key that is wrong and why. */
export function parseInjectorConfigMap(data: Record<string, string> | undefined): Parsed {
  if (data?.config === undefined) return { ok: false, key: "config", error: "missing" };
  let config: InjectorConfig;
  try {
    config = parseConfig(data.config);
  } catch (err) {
    return { ok: false, key: "config", error: message(err) };
  }
  let values: InjectorValues = {};
  if (data.values !== undefined) {
    try {
      const v: unknown = JSON.parse(data.values);
      if (!isRecord(v)) throw new Error("not a JSON object");
      values = v as InjectorValues;
    } catch (err) {
      return { ok: false, key: "values", error: message(err) };
    }
  }
  return { ok: true, config, values };
}

/** Does a Kubernetes label selector match these labels? An empty selector matches everything. */
export function selectorMatches(selector: LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const r of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key);
    const inValues = has && (r.values ?? []).includes(labels[r.key] ?? "");
    const ok =
      r.operator === "In"
        ? inValues
        : r.operator === "NotIn"
          ? !inValues
          : r.operator === "Exists"
            ? has
            : r.operator === "DoesNotExist"
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}
