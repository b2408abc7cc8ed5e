// Istio's ProxyConfig as a pod gives it in annotation proxy.istio.io/config, checked. Pure.
// Weft implements the fields of PROXY_CONFIG_FIELDS and nothing else: a field outside it, a value that doesn't
// check, or text that isn't a YAML mapping is a ProxyConfigError naming the annotation and the field, and the
// injection webhook refuses the pod with it, as Istio's injector refuses an annotation it can't read. Ignoring it
// would run the pod without what its owner asked for.
import path from "node:path";
import { parse } from "yaml";
import { flagValue, UsageError, type Flag } from "../api/contract.js";
import { proxyRole } from "../api/roles.js";

export const PROXY_CONFIG = "proxy.istio.io/config";

/** The env the injector sets itself on weft-proxy, over the template's. */
export const INJECTOR_ENV: readonly string[] = [
  proxyRole.flags["pod-name"].env,
  proxyRole.flags["pod-namespace"].env,
  proxyRole.flags["instance-ip"].env,
  proxyRole.flags["discovery-address"].env,
  proxyRole.flags["ca-address"].env,
  proxyRole.flags["service-account"].env,
  "WEFT_RESTART_POLICY",
];
/** What a pod's proxyMetadata can't override: the injector's env, and where hot restarts may take engines from. */
const PINNED_ENV: readonly string[] = [...INJECTOR_ENV, proxyRole.flags["engines-dir"].env];

/** proxyMetadata: env the agent reads (its contract's flags), each checked as the agent will parse it. */
const METADATA_FLAGS = new Map<string, Flag>(
  Object.values(proxyRole.flags).flatMap((f) =>
    "env" in f && f.env !== undefined && !PINNED_ENV.includes(f.env) ? [[f.env, f] as const] : [],
  ),
);

export class ProxyConfigError extends Error {
  constructor(field: string, problem: string) {
    super(`metadata.annotations["${PROXY_CONFIG}"]: ${field ? `${field}: ` : ""}${problem}`);
    this.name = "ProxyConfigError";
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function binaryPath(v: unknown, field: string): string {
  if (typeof v !== "string" || !path.posix.isAbsolute(v) || /\s/.test(v))
    throw new ProxyConfigError(field, `${JSON.stringify(v)} is not an absolute path`);
  return v;
}

/** Engine workers (Istio's ProxyConfig.concurrency): 0 is one per core. */
function concurrency(v: unknown, field: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 64)
    throw new ProxyConfigError(field, `${JSON.stringify(v)} is not an integer from 0 to 64`);
  return v;
}

function proxyMetadata(v: unknown, field: string): Record<string, string> {
  if (!isRecord(v)) throw new ProxyConfigError(field, "not a mapping of env names to values");
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(v)) {
    const at = `${field}.${name}`;
    if (PINNED_ENV.includes(name)) throw new ProxyConfigError(at, "set by the injector; a pod can't override it");
    const flag = METADATA_FLAGS.get(name);
    if (!flag)
      throw new ProxyConfigError(at, `not read by Weft's proxy (it reads ${[...METADATA_FLAGS.keys()].join(", ")})`);
    if (typeof raw !== "string" && typeof raw !== "number" && typeof raw !== "boolean")
      throw new ProxyConfigError(at, "not a string");
    const value = String(raw);
    try {
      const parsed = flagValue(flag, value, "value");
      if (flag.type === "duration" && (parsed as number) < 1000)
        throw new UsageError(`value: invalid value "${value}" (want at least 1s)`);
    } catch (err) {
      if (err instanceof UsageError) throw new ProxyConfigError(at, err.message.replace(/^value: /, ""));
      throw err;
    }
    out[name] = value;
  }
  return out;
}

/**
 * The ProxyConfig fields Weft implements, each with its check (which throws a ProxyConfigError naming the field).
 * Implementing another field is one line here, and the code that applies it.
 */
export const PROXY_CONFIG_FIELDS = {
  binaryPath,
  concurrency,
  proxyMetadata,
} satisfies Record<string, (v: unknown, field: string) => unknown>;

type Fields = typeof PROXY_CONFIG_FIELDS;
export type ProxyConfig = { [K in keyof Fields]?: ReturnType<Fields[K]> };

/** The annotation's ProxyConfig (none: empty); throws ProxyConfigError naming what Weft can't honour. */
export function parseProxyConfig(text: string | undefined): ProxyConfig {
  if (text === undefined || text.trim() === "") return {};
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new ProxyConfigError("", `not YAML: ${(err as Error).message.split("\n")[0] ?? ""}`);
  }
  if (doc === null || doc === undefined) return {};
  if (!isRecord(doc)) throw new ProxyConfigError("", "not a mapping of ProxyConfig fields");
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(doc)) {
    const check = (PROXY_CONFIG_FIELDS as Record<string, (v: unknown, field: string) => unknown>)[field];
    if (!check)
      throw new ProxyConfigError(
        field,
        `not implemented by Weft (it implements ${Object.keys(PROXY_CONFIG_FIELDS).join(", ")})`,
      );
    out[field] = check(value, field);
  }
  return out as ProxyConfig;
}
