// Where the mesh's proxies send spans, from meshConfig as Istio reads it. Pure.
//   defaultProviders.tracing: [name]  → the extensionProviders entry of that name:
//     zipkin {service, port}                                  → Zipkin v2 JSON to /api/v2/spans
//     opentelemetry {service, port, http {path, timeout}}      → OTLP/HTTP JSON to http.path (default /v1/traces)
//   else defaultConfig.tracing.zipkin.address ("host:port")    → Zipkin, as Istio's legacy setting
//   enableTracing: false                                      → no spans at all
// OpenTelemetry over gRPC (an opentelemetry provider without `http`) and other provider kinds are errors naming them.
import { durationSeconds } from "./duration.js";

export interface TracingProvider {
  /** The extensionProviders entry's name (none for the legacy defaultConfig.tracing.zipkin). */
  name?: string;
  kind: "zipkin" | "opentelemetry";
  /** The collector: a hostname (resolved by DNS) or an IP. */
  host: string;
  port: number;
  path: string;
  /** Report timeout, seconds. */
  timeoutSeconds: number;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function only(o: Record<string, unknown>, known: readonly string[], at: string): void {
  for (const k of Object.keys(o))
    if (!known.includes(k)) throw new Error(`${at}${k}: unknown field (known: ${known.join(", ")})`);
}

function portOf(v: unknown, at: string): number {
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 65535)
    throw new Error(`${at}: ${String(v)} is not a port`);
  return v as number;
}

function serviceOf(v: unknown, at: string): string {
  if (typeof v !== "string" || !/^[A-Za-z0-9.:\-[\]]+$/.test(v))
    throw new Error(`${at}: ${JSON.stringify(v)} is not a host`);
  // Istio also takes `<namespace>/<host>`; the host alone is what is dialled.
  return v;
}

/** `host:port` or `[v6]:port`. */
function hostPort(v: unknown, at: string): { host: string; port: number } {
  const m = typeof v === "string" ? /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d+)$/.exec(v) : null;
  if (!m) throw new Error(`${at}: ${JSON.stringify(v)} is not host:port`);
  return { host: (m[1] as string).replace(/^\[|\]$/g, ""), port: portOf(Number(m[2]), at) };
}

function extensionProvider(p: Record<string, unknown>, at: string): TracingProvider | undefined {
  only(p, ["name", "zipkin", "opentelemetry", ...OTHER_PROVIDERS], at);
  if (isRecord(p.zipkin)) {
    const z = p.zipkin;
    only(z, ["service", "port", "maxTagLength"], `${at}zipkin.`);
    return {
      kind: "zipkin",
      host: serviceOf(z.service, `${at}zipkin.service`),
      port: portOf(z.port, `${at}zipkin.port`),
      path: "/api/v2/spans",
      timeoutSeconds: 5,
    };
  }
  if (isRecord(p.opentelemetry)) {
    const o = p.opentelemetry;
    only(o, ["service", "port", "http", "maxTagLength"], `${at}opentelemetry.`);
    if (!isRecord(o.http))
      throw new Error(
        `${at}opentelemetry.http: required (OTLP over gRPC is not supported; set http: {path: /v1/traces})`,
      );
    only(o.http, ["path", "timeout"], `${at}opentelemetry.http.`);
    const path = o.http.path ?? "/v1/traces";
    if (typeof path !== "string" || !path.startsWith("/"))
      throw new Error(`${at}opentelemetry.http.path: ${JSON.stringify(path)} is not a path`);
    const timeout = o.http.timeout === undefined ? 5 : durationSeconds(String(o.http.timeout));
    if (timeout === undefined) throw new Error(`${at}opentelemetry.http.timeout: not a duration`);
    return {
      kind: "opentelemetry",
      host: serviceOf(o.service, `${at}opentelemetry.service`),
      port: portOf(o.port, `${at}opentelemetry.port`),
      path,
      timeoutSeconds: timeout,
    };
  }
  return undefined; // a provider of another kind (authorization, logging): not a tracer
}

/** Extension provider kinds that aren't tracers; named so a tracing default pointing at one is an error. */
const OTHER_PROVIDERS = [
  "envoyExtAuthzHttp",
  "envoyExtAuthzGrpc",
  "envoyFileAccessLog",
  "envoyOtelAls",
  "envoyHttpAls",
  "envoyTcpAls",
  "prometheus",
  "stackdriver",
  "skywalking",
  "datadog",
  "lightstep",
];

/** The mesh's tracer, or none. `doc` is the whole meshConfig, `tracing` its defaultConfig.tracing. */
export function parseTracingProvider(
  doc: Record<string, unknown>,
  tracing: Record<string, unknown>,
): TracingProvider | undefined {
  if (doc.enableTracing !== undefined && typeof doc.enableTracing !== "boolean")
    throw new Error("enableTracing: not a boolean");
  const providers = doc.extensionProviders ?? [];
  if (!Array.isArray(providers)) throw new Error("extensionProviders: not a list");
  const byName = new Map<string, { provider: TracingProvider | undefined; at: string }>();
  providers.forEach((p, i) => {
    const at = `extensionProviders[${i}].`;
    if (!isRecord(p)) throw new Error(`${at.slice(0, -1)}: not a mapping`);
    if (typeof p.name !== "string" || !p.name) throw new Error(`${at}name: required`);
    byName.set(p.name, { provider: extensionProvider(p, at), at });
  });
  const defaults = doc.defaultProviders ?? {};
  if (!isRecord(defaults)) throw new Error("defaultProviders: not a mapping");
  only(defaults, ["tracing", "metrics", "accessLogging"], "defaultProviders.");
  const chosen = defaults.tracing ?? [];
  if (!Array.isArray(chosen) || chosen.some((n) => typeof n !== "string"))
    throw new Error("defaultProviders.tracing: not a list of names");
  if (chosen.length > 1) throw new Error("defaultProviders.tracing: one provider is supported");
  let out: TracingProvider | undefined;
  if (chosen.length === 1) {
    const name = chosen[0] as string;
    const p = byName.get(name);
    if (!p) throw new Error(`defaultProviders.tracing: "${name}" names no extensionProviders entry`);
    if (!p.provider) throw new Error(`defaultProviders.tracing: "${name}" is not a zipkin or opentelemetry provider`);
    out = { ...p.provider, name };
  } else if (tracing.zipkin !== undefined) {
    if (!isRecord(tracing.zipkin)) throw new Error("defaultConfig.tracing.zipkin: not a mapping");
    only(tracing.zipkin, ["address"], "defaultConfig.tracing.zipkin.");
    const { host, port } = hostPort(tracing.zipkin.address, "defaultConfig.tracing.zipkin.address");
    out = { kind: "zipkin", host, port, path: "/api/v2/spans", timeoutSeconds: 5 };
  }
  return doc.enableTracing === false ? undefined : out;
}
