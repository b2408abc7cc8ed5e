// Emits TypeScript interfaces for the proto3-JSON form of the Envoy messages Weft exchanges (snake_case names,
// "1.5s" durations, {"@type": …} for Any, bare values for wrappers, enum names), one file per proto package.
// Type-only: nothing of it exists at run time. Why our own and not ts-proto/protobuf-ts: see proxy/xds/README.md.
import protobuf from "protobufjs";

/** Well-known types and how proto3 JSON spells them. */
const WELL_KNOWN: Record<string, string> = {
  ".google.protobuf.Duration": "string",
  ".google.protobuf.Timestamp": "string",
  ".google.protobuf.FieldMask": "string",
  ".google.protobuf.Struct": "JsonObject",
  ".google.protobuf.Value": "Json",
  ".google.protobuf.ListValue": "Json[]",
  ".google.protobuf.Empty": "Record<string, never>",
  ".google.protobuf.DoubleValue": "number",
  ".google.protobuf.FloatValue": "number",
  ".google.protobuf.Int32Value": "number",
  ".google.protobuf.UInt32Value": "number",
  ".google.protobuf.Int64Value": "number | string",
  ".google.protobuf.UInt64Value": "number | string",
  ".google.protobuf.BoolValue": "boolean",
  ".google.protobuf.StringValue": "string",
  ".google.protobuf.BytesValue": "string",
  ".google.protobuf.Any": "Any",
  ".google.protobuf.NullValue": "null",
};

const SCALARS: Record<string, string> = {
  double: "number",
  float: "number",
  int32: "number",
  uint32: "number",
  sint32: "number",
  fixed32: "number",
  sfixed32: "number",
  int64: "number | string",
  uint64: "number | string",
  sint64: "number | string",
  fixed64: "number | string",
  sfixed64: "number | string",
  bool: "boolean",
  string: "string",
  bytes: "string",
};

type Named = protobuf.Type | protobuf.Enum;

/** The proto package a type lives in (its nearest ancestor that is not a message). */
function packageOf(t: Named): string {
  let p = t.parent;
  while (p instanceof protobuf.Type) p = p.parent;
  return p ? p.fullName.slice(1) : "";
}

/** The TypeScript name of a type inside its package file: nested names joined with "_" (Cluster_LbPolicy). */
function localName(t: Named): string {
  return t.fullName.slice(packageOf(t).length + 2).replace(/\./g, "_");
}

/** The file a package's types go to, relative to the output folder: envoy.config.core.v3 → envoy/config/core/v3.ts. */
export function packageFile(pkg: string): string {
  return `${pkg.replace(/\./g, "/")}.ts`;
}

/** Every message and enum reachable from the roots through fields (Any is not followed: its types are roots). */
function closure(roots: protobuf.Type[]): Named[] {
  const seen = new Map<string, Named>();
  const visit = (t: Named): void => {
    if (seen.has(t.fullName) || WELL_KNOWN[t.fullName]) return;
    seen.set(t.fullName, t);
    if (t instanceof protobuf.Type) for (const f of t.fieldsArray) if (f.resolvedType) visit(f.resolvedType as Named);
  };
  roots.forEach(visit);
  return [...seen.values()];
}

function relativeImport(fromFile: string, toFile: string): string {
  const from = fromFile.split("/").slice(0, -1);
  const to = toFile.split("/");
  let common = 0;
  while (common < from.length && from[common] === to[common]) common++;
  const up = from.slice(common).map(() => "..");
  const rel = [...(up.length ? up : ["."]), ...to.slice(common)].join("/");
  return rel.replace(/\.ts$/, ".js");
}

class FileWriter {
  private readonly imports = new Map<string, Set<string>>();
  private readonly lines: string[] = [];
  constructor(
    readonly pkg: string,
    readonly file: string,
  ) {}

  /** The name by which this file refers to a type: its own name here, an aliased import from elsewhere. */
  ref(t: Named): string {
    const pkg = packageOf(t);
    if (pkg === this.pkg) return localName(t);
    const alias = `${pkg.replace(/\./g, "_")}_${localName(t)}`;
    this.use(packageFile(pkg), `${localName(t)} as ${alias}`);
    return alias;
  }

  use(file: string, name: string): void {
    const names = this.imports.get(file) ?? new Set<string>();
    names.add(name);
    this.imports.set(file, names);
  }

  push(...lines: string[]): void {
    this.lines.push(...lines);
  }

  render(header: string): string {
    const imports = [...this.imports.entries()]
      .map(([file, names]) => ({ path: relativeImport(this.file, file), names: [...names].sort() }))
      .sort((a, b) => (a.path < b.path ? -1 : 1))
      .map(({ path, names }) => `import type { ${names.join(", ")} } from "${path}";`);
    return [header, ...imports, ...(imports.length ? [""] : []), ...this.lines].join("\n");
  }
}

function fieldType(w: FileWriter, f: protobuf.Field): string {
  const resolved = f.resolvedType as Named | null;
  let t: string;
  if (resolved && WELL_KNOWN[resolved.fullName]) {
    t = WELL_KNOWN[resolved.fullName] as string;
    if (t === "Any") w.use("any.ts", "Any");
    if (t === "Json" || t === "JsonObject" || t === "Json[]")
      w.use("json.ts", t === "JsonObject" ? "JsonObject" : "Json");
  } else if (resolved) t = w.ref(resolved);
  else {
    const scalar = SCALARS[f.type];
    if (!scalar) throw new Error(`${f.fullName}: unknown scalar type ${f.type}`);
    t = scalar;
  }
  if (f.map) return `{ [key: string]: ${t} }`;
  if (f.repeated) return t.includes(" ") ? `(${t})[]` : `${t}[]`;
  return t;
}

function emitMessage(w: FileWriter, t: protobuf.Type): void {
  // A type alias, not an interface: it then fits where any JSON object is taken (the codec, snapshots).
  w.push(`/** ${t.fullName.slice(1)} */`, `export type ${localName(t)} = {`);
  for (const f of t.fieldsArray) {
    if (f.options?.["deprecated"] === true) w.push("  /** @deprecated */");
    w.push(`  ${f.name}?: ${fieldType(w, f)};`);
  }
  w.push("};", "");
}

function emitEnum(w: FileWriter, e: protobuf.Enum): void {
  const names = Object.keys(e.values).map((n) => JSON.stringify(n));
  w.push(`/** ${e.fullName.slice(1)} */`, `export type ${localName(e)} = ${names.join(" | ")};`, "");
}

const HEADER = (source: string): string =>
  `// Generated by hack/gen-xds-types.ts from ${source}: the proto3-JSON shape of Envoy's messages. Do not edit.\n`;

/**
 * Renders every file: one per proto package, `any.ts` (the Any union of the given type URLs) and `json.ts`.
 * Returns file path (relative to the output folder) → contents.
 */
export function generate(root: protobuf.Root, anyTypes: Record<string, string>, source: string): Map<string, string> {
  const roots = Object.values(anyTypes).map((url) => {
    const found = root.lookup(url.slice(url.lastIndexOf("/") + 1));
    if (!(found instanceof protobuf.Type)) throw new Error(`no message for ${url}`);
    return found;
  });
  const byPackage = new Map<string, Named[]>();
  for (const t of closure(roots)) byPackage.set(packageOf(t), [...(byPackage.get(packageOf(t)) ?? []), t]);
  const out = new Map<string, string>();
  for (const [pkg, types] of [...byPackage.entries()].sort()) {
    const w = new FileWriter(pkg, packageFile(pkg));
    for (const t of types.sort((a, b) => (localName(a) < localName(b) ? -1 : 1))) {
      if (t instanceof protobuf.Type) emitMessage(w, t);
      else emitEnum(w, t);
    }
    out.set(w.file, w.render(HEADER(source)));
  }
  out.set("any.ts", renderAny(roots, anyTypes, source));
  out.set(
    "json.ts",
    `${HEADER(source)}
/** A google.protobuf.Value in proto3 JSON. */
export type Json = string | number | boolean | null | Json[] | JsonObject;
/** A google.protobuf.Struct in proto3 JSON. Undefined members are dropped on encoding. */
export interface JsonObject {
  [key: string]: Json | undefined;
}
`,
  );
  return out;
}

function renderAny(roots: protobuf.Type[], anyTypes: Record<string, string>, source: string): string {
  const w = new FileWriter("", "any.ts");
  const urls = Object.values(anyTypes);
  w.push("/** The messages an Any may hold, by type URL. */", "export interface AnyTypes {");
  roots.forEach((t, i) => w.push(`  ${JSON.stringify(urls[i])}: ${w.ref(t)};`));
  w.push(
    "}",
    "",
    '/** A google.protobuf.Any in proto3 JSON: the message\'s fields beside its "@type". */',
    'export type Packed<U extends keyof AnyTypes> = { "@type": U } & AnyTypes[U];',
    "",
    "/** An Any holding one of the known messages; a misspelt field or an unknown type URL does not compile. */",
    "export type Any = { [U in keyof AnyTypes]: Packed<U> }[keyof AnyTypes];",
    "",
  );
  return w.render(HEADER(source));
}
