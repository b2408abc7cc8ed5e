// What a proxy's HTTP connection managers log and trace, as istiod computes it from Telemetry objects and the mesh
// config (pilot/pkg/model/telemetry.go): the root namespace's Telemetry without a selector, then the proxy's
// namespace's, then those selecting its workload (oldest first), later ones overriding earlier ones, for one side of
// its traffic: CLIENT (outbound listeners and gateways) or SERVER (inbound). Pure.
//   Access logs: the providers the last entry naming any chose (else defaultProviders.accessLogging), each on or off
//   by the last entry naming it; none at all → the legacy accessLogFile. Tracing: sampling and span reporting by the
//   last entry setting them; a provider other than the mesh's tracer is reported and reports no spans.
import type { ConfigModel, Named } from "../model/config.js";
import type { Telemetry, WorkloadMode } from "../model/istio.js";
import { DEFAULT_MESH, type MeshSettings } from "../model/mesh.js";
import type { AccessLogFormat } from "../model/mesh-logging.js";
import type { TracingProvider } from "../model/mesh-tracing.js";
import { byAge } from "./scope.js";

/** What one side of a proxy logs and traces. */
export interface Observing {
  /** The access log's format (a file access log on /dev/stdout), or none. */
  log: AccessLogFormat | undefined;
  /** The mesh's accessLogEncoding, for the `mesh` format. */
  encoding: "JSON" | "TEXT";
  /** Percent of requests that start a sampled trace. */
  sampling: number;
  /** Where spans go; none: trace headers are propagated only. */
  tracer: TracingProvider | undefined;
}

export type Side = Exclude<WorkloadMode, "CLIENT_AND_SERVER">;

/** A translation's view of its proxy's telemetry, per side. */
export interface Observes {
  observe(side: Side): Observing | undefined;
}
type Dated = Named<Telemetry> & { created?: string };

const selects = (t: Telemetry): boolean => Object.keys(t.selector?.matchLabels ?? {}).length > 0;
const applies = (match: { mode?: WorkloadMode } | undefined, side: Side): boolean =>
  !match?.mode || match.mode === "CLIENT_AND_SERVER" || match.mode === side;
const names = (providers: { name: string }[] | undefined): string[] => (providers ?? []).map((p) => p.name);

/** The Telemetry objects that apply to a workload, the least specific first. */
export function applicableTelemetry(model: ConfigModel, namespace: string, labels: Record<string, string>): Dated[] {
  const all = byAge(model.telemetries ?? []);
  if (!all.length) return [];
  const root = model.mesh?.rootNamespace ?? DEFAULT_MESH.rootNamespace;
  const wide = (ns: string) => all.find((t) => t.namespace === ns && !selects(t.spec));
  const out: Dated[] = [];
  const rootWide = wide(root);
  if (rootWide) out.push(rootWide);
  const nsWide = namespace !== root ? wide(namespace) : undefined;
  if (nsWide) out.push(nsWide);
  for (const t of all)
    if (
      t.namespace === namespace &&
      selects(t.spec) &&
      Object.entries(t.spec.selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v)
    )
      out.push(t);
  return out;
}

/** Istio's mergeLogs: each access log provider in scope, on (false) or off (true). */
function mergeLogs(logs: Dated[], defaults: readonly string[], side: Side): Map<string, boolean> {
  const out = new Map<string, boolean>();
  if (!logs.length) {
    for (const d of defaults) out.set(d, false);
    return out;
  }
  let chosen: readonly string[] = defaults;
  for (const t of logs) {
    const named = new Set<string>();
    for (const l of t.spec.accessLogging ?? [])
      if (applies(l.match, side)) for (const n of names(l.providers)) named.add(n);
    if (named.size) chosen = [...named];
  }
  const inScope = new Set(chosen);
  let parent: readonly string[] = defaults;
  for (const t of logs)
    for (const l of t.spec.accessLogging ?? []) {
      const listed = names(l.providers);
      const providers = listed.length ? listed : parent;
      parent = providers;
      if (!applies(l.match, side)) continue;
      for (const p of providers) if (inScope.has(p)) out.set(p, l.disabled === true);
    }
  return out;
}

function accessLog(
  mesh: MeshSettings,
  telemetry: Dated[],
  side: Side,
  warn: (m: string) => void,
): AccessLogFormat | undefined {
  const logs = telemetry.filter((t) => t.spec.accessLogging?.length);
  const merged = mergeLogs(logs, mesh.logging.defaults, side);
  const found: { name: string; format: AccessLogFormat; off: boolean }[] = [];
  for (const [name, off] of [...merged].sort(([a], [b]) => a.localeCompare(b))) {
    const p = mesh.logging.providers.get(name.toLowerCase());
    if (!p) warn(`Telemetry: access log provider "${name}" is not defined in meshConfig.extensionProviders: no log`);
    else if ("unsupported" in p)
      warn(
        `Telemetry: access log provider "${name}" is an ${p.unsupported} provider, which Weft doesn't implement: no log`,
      );
    else found.push({ name: p.name, format: p.format, off });
  }
  // None found: the legacy setting, as istiod falls back to it.
  if (!found.length) return mesh.accessLog ? { kind: "mesh" } : undefined;
  const on = found.filter((f) => !f.off);
  if (on.length > 1)
    warn(
      `Telemetry: access log providers ${on.map((f) => `"${f.name}"`).join(", ")} are on together; Weft's proxy writes one log per listener, with "${on[0]?.name}"`,
    );
  return on[0]?.format;
}

function tracing(mesh: MeshSettings, telemetry: Dated[], side: Side, warn: (m: string) => void) {
  let sampling = mesh.tracingSampling;
  let tracer = mesh.tracer;
  let reporting = true;
  for (const t of telemetry)
    for (const tr of t.spec.tracing ?? []) {
      if (!applies(tr.match, side)) continue;
      const [name] = names(tr.providers);
      if (name !== undefined) {
        const ours = mesh.tracer?.name !== undefined && mesh.tracer.name.toLowerCase() === name.toLowerCase();
        if (!ours)
          warn(
            `Telemetry/${t.namespace}/${t.name}: tracing provider "${name}" is not the mesh's tracer (defaultProviders.tracing): no spans are reported`,
          );
        tracer = ours ? mesh.tracer : undefined;
      }
      if (tr.disableSpanReporting !== undefined) reporting = !tr.disableSpanReporting;
      if (tr.randomSamplingPercentage !== undefined) sampling = tr.randomSamplingPercentage;
    }
  return { sampling, tracer: reporting ? tracer : undefined };
}

/**
 * What a workload's side logs and traces. Undefined where the model has no mesh config and no Telemetry (the
 * connection managers then carry neither).
 */
export function observing(
  model: ConfigModel,
  namespace: string,
  labels: Record<string, string>,
  side: Side,
  warn: (m: string) => void,
): Observing | undefined {
  const telemetry = applicableTelemetry(model, namespace, labels);
  if (!model.mesh && !telemetry.length) return undefined;
  const mesh = model.mesh ?? DEFAULT_MESH;
  return {
    log: accessLog(mesh, telemetry, side, warn),
    encoding: mesh.accessLog?.encoding ?? mesh.accessLogEncoding,
    ...tracing(mesh, telemetry, side, warn),
  };
}
