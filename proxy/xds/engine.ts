// The proxy engine an agent should run, and the one it reports running: the contract between the operator (which
// decides, per pod), discovery (which tells each agent over ADS) and the agent (which hot-restarts and reports).
//
// - Desired: the operator writes pod annotation `weft.dev/engine` = {"version","binaryPath"}. Discovery serves it to
//   that pod's agent as the one resource of type `weft.v1.ProxyEngine` on the agent's ADS stream, the way istiod
//   serves its own types (NDS) to istio-agent. No annotation: no resource, and the agent keeps what it runs.
// - Where the bits are: `<enginesDir>/<version>/<binaryPath>` (enginesDir /var/lib/weft/engines in pods, filled by
//   the engine carrier container; a local directory for process agents).
// - Reported: the agent puts its EngineReport, as JSON, in node.metadata `WEFT_ENGINE` of every DiscoveryRequest,
//   and sends one more request when it changes; discovery adds them up into the proxy report. Pure.
import { join, normalize } from "node:path";

export const ENGINE_TYPE = "type.googleapis.com/weft.v1.ProxyEngine";
export const ENGINE_ANNOTATION = "weft.dev/engine";
export const ENGINE_METADATA = "WEFT_ENGINE";

export interface EngineTarget {
  /** The engine bundle: a directory under the engines directory, named by the proxy image's version (its tag). */
  version: string;
  /** The engine inside the bundle, as an absolute path in the proxy image. */
  binaryPath: string;
}

export type EnginePhase = "Running" | "Waiting" | "Failed";

export interface EngineReport extends EngineTarget {
  /** The version the running engine itself announces. */
  engine: string;
  /** Running: on the target (or no target). Waiting: the target's bits are not there yet. Failed: refused. */
  phase: EnginePhase;
  /** The target asked for, when the agent is not on it. */
  target?: EngineTarget;
  error?: string;
}

const VERSION = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** An engine version: an image tag's characters, so it is a plain directory name. */
export const isEngineVersion = (v: string): boolean => VERSION.test(v);

/** A target from untrusted text (an annotation, a resource): version a plain name, binaryPath absolute, no `..`. */
export function parseTarget(value: unknown): EngineTarget | undefined {
  let v = value;
  if (typeof v === "string") {
    try {
      v = JSON.parse(v);
    } catch {
      return undefined;
    }
  }
  if (typeof v !== "object" || v === null) return undefined;
  const { version, binaryPath } = v as Record<string, unknown>;
  if (typeof version !== "string" || !VERSION.test(version)) return undefined;
  if (
    typeof binaryPath !== "string" ||
    !binaryPath.startsWith("/") ||
    normalize(binaryPath) !== binaryPath ||
    binaryPath.includes("\0")
  )
    return undefined;
  return { version, binaryPath };
}

export const sameTarget = (a: EngineTarget | undefined, b: EngineTarget | undefined): boolean =>
  a !== undefined && b !== undefined && a.version === b.version && a.binaryPath === b.binaryPath;

export const targetText = (t: EngineTarget): string => `${t.version} ${t.binaryPath}`;

/** Where a target's engine lives under the engines directory. */
export const enginePath = (enginesDir: string, t: EngineTarget): string => join(enginesDir, t.version, t.binaryPath);

/** The resource discovery serves (proto3 JSON, as the codec takes it). */
export const engineResource = (t: EngineTarget) => ({
  "@type": ENGINE_TYPE,
  name: "engine",
  version: t.version,
  binary_path: t.binaryPath,
});

/** node.metadata carrying a report (a google.protobuf.Struct in protobufjs' form). */
export const reportMetadata = (r: EngineReport) => ({
  fields: { [ENGINE_METADATA]: { stringValue: JSON.stringify(r) } },
});

/** The report in a request's node.metadata, checked field by field (it comes from a proxy). */
export function reportFromMetadata(metadata: unknown): EngineReport | undefined {
  const raw = (metadata as { fields?: Record<string, { stringValue?: unknown }> } | undefined)?.fields?.[
    ENGINE_METADATA
  ]?.stringValue;
  if (typeof raw !== "string" || raw.length > 4096) return undefined;
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const running = parseTarget(v);
  if (!running || typeof v.engine !== "string" || !["Running", "Waiting", "Failed"].includes(String(v.phase)))
    return undefined;
  const target = v.target === undefined ? undefined : parseTarget(v.target);
  return {
    ...running,
    engine: v.engine.slice(0, 128),
    phase: v.phase as EnginePhase,
    ...(target ? { target } : {}),
    ...(typeof v.error === "string" ? { error: v.error.slice(0, 512) } : {}),
  };
}
