// The command-line contract of a role: its flags declared once (name, type, default, description, the env var it may
// come from). The CLI parses a command line with it, and whatever renders a command line (the operator's manifests,
// the injector's patch) builds one from it with commandLine(), so the two sides can't drift. Pure.
import { parseArgs } from "node:util";
import { durationSeconds } from "../discovery/model/duration.js";

interface FlagBase {
  description: string;
  /** A one-letter alias (-o, -f), as kubectl's. */
  short?: string;
  /** An env var the value is read from when the flag is not on the command line. */
  env?: string;
}

export type Flag =
  | (FlagBase & { type: "string"; default?: string; choices?: readonly string[] })
  | (FlagBase & { type: "boolean"; default?: boolean })
  /** "port" is 0..65535; "int" any integer ≥ min. */
  | (FlagBase & { type: "port" | "int"; default?: number; min?: number })
  /** Go's duration syntax (500ms, 15s, 1h30m); parsed to milliseconds. */
  | (FlagBase & { type: "duration"; default?: string });

export interface Role {
  /** The subcommand: `weft <name>`. */
  name: string;
  summary: string;
  /** One command line a user would type, shown by --help. */
  example: string;
  flags: Record<string, Flag>;
  /** Positional arguments, in order (none: a positional is refused). */
  args?: readonly Arg[];
}

export interface Arg {
  name: string;
  description: string;
  required?: boolean;
  choices?: readonly string[];
}

type Parsed<F> = F extends { type: "string" } ? string : F extends { type: "boolean" } ? boolean : number;
type Given<F> = F extends { type: "string" | "duration" } ? string : F extends { type: "boolean" } ? boolean : number;
type Defaulted<F> = F extends { type: "boolean" }
  ? true
  : F extends { default: string | number | boolean }
    ? true
    : false;

type ArgValues<R extends Role> = R["args"] extends readonly Arg[]
  ? { [A in R["args"][number] as A["name"]]: A extends { required: true } ? string : string | undefined }
  : unknown;

/** What the CLI hands a role: flags with a default (and booleans) are always set; then its positional args. */
export type Values<R extends Role> = {
  [K in keyof R["flags"]]: Defaulted<R["flags"][K]> extends true
    ? Parsed<R["flags"][K]>
    : Parsed<R["flags"][K]> | undefined;
} & ArgValues<R>;

/** What a renderer may put on a command line. */
export type Args<R extends Role> = { [K in keyof R["flags"]]?: Given<R["flags"][K]> };

export class UsageError extends Error {}

function convert(f: Flag, raw: string | boolean, from: string): string | boolean | number {
  const bad = (want: string) => new UsageError(`${from}: invalid value "${String(raw)}" (${want})`);
  switch (f.type) {
    case "boolean":
      if (typeof raw === "boolean") return raw;
      if (["true", "1", "yes", "on"].includes(raw.toLowerCase())) return true;
      if (["false", "0", "no", "off"].includes(raw.toLowerCase())) return false;
      throw bad("want true or false");
    case "string":
      if (typeof raw !== "string") throw bad("want a value");
      if (f.choices && !f.choices.includes(raw)) throw bad(`want one of ${f.choices.join(", ")}`);
      return raw;
    case "duration": {
      const s = typeof raw === "string" ? durationSeconds(raw) : undefined;
      if (s === undefined) throw bad("want a duration such as 500ms, 15s, 10m");
      return s * 1000;
    }
    case "port":
    case "int": {
      const n = typeof raw === "string" && /^-?\d+$/.test(raw) ? Number(raw) : NaN;
      const min = f.min ?? (f.type === "port" ? 0 : Number.MIN_SAFE_INTEGER);
      const max = f.type === "port" ? 65535 : Number.MAX_SAFE_INTEGER;
      if (!Number.isSafeInteger(n) || n < min || n > max)
        throw bad(f.type === "port" ? `want a port, ${min} to 65535` : `want an integer ≥ ${min}`);
      return n;
    }
  }
}

/** A flag's value given as text (an env var, a config field) → its parsed value; a UsageError says why not, as `from`. */
export function flagValue(f: Flag, raw: string, from: string): string | boolean | number {
  return convert(f, raw, from);
}

/** Parses `argv` (after the subcommand) by the role's flags; env fills what the command line doesn't give. */
export function parseRole<R extends Role>(
  role: R,
  argv: string[],
  env: Record<string, string | undefined> = {},
): Values<R> {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const [name, f] of Object.entries(role.flags)) {
    options[name] = { type: f.type === "boolean" ? "boolean" : "string", ...(f.short ? { short: f.short } : {}) };
    if (f.type === "boolean") options[`no-${name}`] = { type: "boolean" };
  }
  let given: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    const parsed = parseArgs({ args: argv, options, allowPositionals: Boolean(role.args), strict: true });
    given = parsed.values as Record<string, string | boolean | undefined>;
    positionals = parsed.positionals;
  } catch (err) {
    throw new UsageError(
      (err as Error).message.split("\n")[0]?.replace(/\. To specify a positional.*$/, "") ?? String(err),
    );
  }
  const out: Record<string, string | boolean | number | undefined> = {};
  for (const [name, f] of Object.entries(role.flags)) {
    let raw: string | boolean | undefined = given[name];
    if (f.type === "boolean" && given[`no-${name}`] === true) {
      if (raw === true) throw new UsageError(`--${name} and --no-${name} contradict each other`);
      raw = false;
    }
    if (raw !== undefined) out[name] = convert(f, raw, `--${name}`);
    else if (f.env && env[f.env]) out[name] = convert(f, env[f.env] as string, `$${f.env} (for --${name})`);
    else if (f.default !== undefined)
      out[name] = convert(f, typeof f.default === "number" ? String(f.default) : f.default, `default of --${name}`);
    else out[name] = f.type === "boolean" ? false : undefined;
  }
  const args = role.args ?? [];
  if (positionals.length > args.length) throw new UsageError(`Unexpected argument '${positionals[args.length]}'`);
  args.forEach((a, i) => {
    const v = positionals[i];
    if (v === undefined && a.required) throw new UsageError(`<${a.name}> is required`);
    if (v !== undefined && a.choices && !a.choices.includes(v))
      throw new UsageError(`<${a.name}>: invalid value "${v}" (want one of ${a.choices.join(", ")})`);
    out[a.name] = v;
  });
  return out as Values<R>;
}

/** `<role> --flag value ...`, in the role's declaration order: a container's args. Throws on a value parse would refuse. */
export function commandLine<R extends Role>(role: R, values: Args<R>): string[] {
  const line = [role.name];
  for (const [name, f] of Object.entries(role.flags)) {
    const v = (values as Record<string, string | number | boolean | undefined>)[name];
    if (v === undefined) continue;
    convert(f, typeof v === "number" ? String(v) : v, `--${name}`); // render only what parses
    if (f.type === "boolean") line.push(v ? `--${name}` : `--no-${name}`);
    else if (String(v).startsWith("-"))
      line.push(`--${name}=${String(v)}`); // "--x -1" reads as two flags
    else line.push(`--${name}`, String(v));
  }
  return line;
}

/** The inverse of commandLine for a rendered line: its flags as given (strings), for editing and re-rendering. */
export function readCommandLine<R extends Role>(role: R, line: readonly string[]): Args<R> {
  if (line[0] !== role.name) throw new UsageError(`expected "${role.name}" first, found "${line[0] ?? ""}"`);
  const v = parseRole(role, line.slice(1)) as Record<string, unknown>;
  const given = new Set(
    line
      .slice(1)
      .filter((a) => a.startsWith("--"))
      .map((a) => a.slice(2).split("=")[0]?.replace(/^no-/, "")),
  );
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(role.flags)) {
    if (given.has(name)) out[name] = f.type === "duration" ? `${String(v[name])}ms` : v[name];
  }
  return out as Args<R>;
}

function flagLine(name: string, f: Flag): [string, string] {
  const head = `--${name}${f.short ? `, -${f.short}` : ""}${f.type === "boolean" ? "" : ` ${f.type === "string" && f.choices ? f.choices.join("|") : f.type}`}`;
  const notes = [
    f.default !== undefined ? `default ${String(f.default)}` : "",
    f.env ? `env $${f.env}` : "",
    f.type === "boolean" ? `--no-${name} turns it off` : "",
  ].filter(Boolean);
  return [head, `${f.description}${notes.length ? ` (${notes.join("; ")})` : ""}`];
}

/** `weft <role> --help`: the summary, every flag with its description, default and env, and an example. */
export function roleHelp(role: Role): string {
  const rows = Object.entries(role.flags).map(([n, f]) => flagLine(n, f));
  const args = role.args ?? [];
  const argRows = args.map((a) => [
    `<${a.name}>`,
    `${a.description}${a.choices ? ` (${a.choices.join("|")})` : ""}${a.required ? "" : " (optional)"}`,
  ]);
  const argUsage = args.map((a) => (a.required ? ` <${a.name}>` : ` [${a.name}]`)).join("");
  const width = Math.min(36, Math.max(0, ...rows.map(([h]) => h.length)));
  const flags = rows.map(([h, d]) =>
    h.length > width ? `  ${h}\n  ${"".padEnd(width)}  ${d}` : `  ${h.padEnd(width)}  ${d}`,
  );
  return [
    `weft ${role.name}: ${role.summary}`,
    "",
    `Usage: weft ${role.name}${argUsage}${rows.length ? " [flags]" : ""}`,
    ...(argRows.length ? ["", "Arguments:", ...argRows.map(([h, d]) => `  ${h!.padEnd(width)}  ${d!}`)] : []),
    ...(rows.length ? ["", "Flags:", ...flags] : []),
    "",
    "Example:",
    `  ${role.example}`,
    "",
  ].join("\n");
}
