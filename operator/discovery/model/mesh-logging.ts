// Access log and metrics providers from meshConfig, as Istio reads them (pilot/pkg/model/telemetry_logging.go). Pure.
//   extensionProviders[].envoyFileAccessLog {path, logFormat {text | labels}} → a file access log provider
//   the built-in `envoy` provider (unless extensionProviders redefines it): /dev/stdout in the mesh's accessLogFormat
//   defaultProviders.accessLogging: [names]  → the providers every proxy logs with where no Telemetry says otherwise
//   defaultProviders.metrics: [names]        → only `prometheus` (Istio's metrics, which every proxy serves)
// A provider of a kind the engine can't log to is kept by name, so a Telemetry naming it is told so.
import { unsupportedOperators } from "../../../proxy/engine/config/access-log.js";

/** How a provider formats its lines: the mesh's accessLogEncoding, or its own text or JSON labels. */
export type AccessLogFormat =
  { kind: "mesh" } | { kind: "text"; text: string } | { kind: "labels"; labels: Record<string, string> };

export interface AccessLogProvider {
  name: string;
  /** A file access log on /dev/stdout (the engine writes to nothing else). */
  format: AccessLogFormat;
}

export interface MeshLogging {
  /** By lowercase name (Istio looks providers up case-insensitively): an access log provider, or the kind it is. */
  providers: Map<string, AccessLogProvider | { unsupported: string }>;
  /** defaultProviders.accessLogging. */
  defaults: string[];
}

/** Istio's built-in access log provider: `envoy`, a file access log on /dev/stdout. */
export const BUILTIN_ACCESS_LOG = "envoy";
/** The one metrics provider: the Prometheus metrics every Weft proxy serves. */
export const METRICS_PROVIDER = "prometheus";

const LOG_KINDS = ["envoyOtelAls", "envoyHttpAls", "envoyTcpAls"];
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function only(o: Record<string, unknown>, known: readonly string[], at: string): void {
  for (const k of Object.keys(o))
    if (!known.includes(k)) throw new Error(`${at}${k}: unknown field (known: ${known.join(", ")})`);
}

function checkOperators(text: string, at: string): void {
  const bad = unsupportedOperators(text);
  if (bad.length) throw new Error(`${at}: command operator ${bad.join(", ")} is not supported by Weft's proxy`);
}

function fileProvider(name: string, f: unknown, at: string): AccessLogProvider {
  if (!isRecord(f)) throw new Error(`${at}: not a mapping`);
  only(f, ["path", "logFormat"], `${at}.`);
  const path = f.path ?? "/dev/stdout";
  if (path !== "/dev/stdout") throw new Error(`${at}.path: "${String(path)}": only /dev/stdout is supported`);
  if (f.logFormat === undefined) return { name, format: { kind: "text", text: "" } };
  if (!isRecord(f.logFormat)) throw new Error(`${at}.logFormat: not a mapping`);
  only(f.logFormat, ["text", "labels"], `${at}.logFormat.`);
  const { text, labels } = f.logFormat;
  if (text !== undefined && labels !== undefined) throw new Error(`${at}.logFormat: give text or labels, not both`);
  if (labels !== undefined) {
    if (!isRecord(labels) || Object.values(labels).some((v) => typeof v !== "string"))
      throw new Error(`${at}.logFormat.labels: not a map of strings`);
    for (const [k, v] of Object.entries(labels)) checkOperators(v as string, `${at}.logFormat.labels.${k}`);
    return { name, format: { kind: "labels", labels: labels as Record<string, string> } };
  }
  if (text !== undefined && typeof text !== "string") throw new Error(`${at}.logFormat.text: not a string`);
  checkOperators(text ?? "", `${at}.logFormat.text`);
  return { name, format: { kind: "text", text: text ?? "" } };
}

/** The access log providers and defaults of a meshConfig document; throws naming the field. */
export function parseMeshLogging(doc: Record<string, unknown>): MeshLogging {
  const providers: MeshLogging["providers"] = new Map([
    [BUILTIN_ACCESS_LOG, { name: BUILTIN_ACCESS_LOG, format: { kind: "mesh" } }],
  ]);
  const list = Array.isArray(doc.extensionProviders) ? doc.extensionProviders : [];
  list.forEach((p, i) => {
    if (!isRecord(p) || typeof p.name !== "string") return; // mesh-tracing.ts says what is wrong with it
    const at = `extensionProviders[${i}]`;
    const key = p.name.toLowerCase();
    if (p.envoyFileAccessLog !== undefined)
      providers.set(key, fileProvider(p.name, p.envoyFileAccessLog, `${at}.envoyFileAccessLog`));
    else {
      const kind = LOG_KINDS.find((k) => p[k] !== undefined);
      if (kind) providers.set(key, { unsupported: kind });
      else if (key === BUILTIN_ACCESS_LOG) providers.delete(key); // redefined as something that isn't a logger
    }
  });
  const defaults = isRecord(doc.defaultProviders) ? doc.defaultProviders : {};
  const names = (field: string): string[] => {
    const v = defaults[field] ?? [];
    if (!Array.isArray(v) || v.some((n) => typeof n !== "string"))
      throw new Error(`defaultProviders.${field}: not a list of names`);
    return v as string[];
  };
  const logging = names("accessLogging");
  for (const n of logging) {
    const p = providers.get(n.toLowerCase());
    if (!p) throw new Error(`defaultProviders.accessLogging: "${n}" names no access log provider`);
    if ("unsupported" in p)
      throw new Error(
        `defaultProviders.accessLogging: "${n}" is an ${p.unsupported} provider, which Weft doesn't implement`,
      );
  }
  for (const n of names("metrics"))
    if (n.toLowerCase() !== METRICS_PROVIDER)
      throw new Error(`defaultProviders.metrics: "${n}": only "${METRICS_PROVIDER}" (Istio's metrics) is supported`);
  return { providers, defaults: logging };
}
