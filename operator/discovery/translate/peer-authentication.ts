// PeerAuthentication → the mutual TLS mode of each of a workload's inbound ports, composed as istiod's
// ComposePeerAuthentication does: the mesh-wide policy (root namespace, no selector), then the namespace's (no
// selector), then the workload's (selector in its own namespace; a selector policy in the root namespace applies to
// nothing else), each level overriding the one before unless UNSET; of several policies at one level the oldest wins
// (then the name). Port-level modes come from the workload's policy, UNSET inheriting its mode. Without any policy,
// the mesh default is meshConfig.mtls.mode (PERMISSIVE when unset). Pure.
import type { ConfigModel, Named } from "../model/config.js";
import { labelsMatch } from "../model/config.js";
import { DEFAULT_ROOT_NAMESPACE, type PeerAuthentication, type PeerMtlsMode } from "../model/security.js";

export type MtlsMode = Exclude<PeerMtlsMode, "UNSET">;

export interface WorkloadMtls {
  mode: MtlsMode;
  /** Modes set for a workload port (the container port the app listens on). */
  perPort: ReadonlyMap<number, MtlsMode>;
}

type Policy = Named<PeerAuthentication> & { created?: string };

const set = (m: PeerMtlsMode | undefined): m is MtlsMode => m !== undefined && m !== "UNSET";

/** The oldest policy first (creation time, then namespace and name), as istiod breaks ties. */
function older(a: Policy, b: Policy): number {
  const ca = a.created ?? "";
  const cb = b.created ?? "";
  if (ca !== cb) return ca < cb ? -1 : 1;
  return `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`);
}

export function composePeerAuthentication(
  policies: readonly Policy[],
  namespace: string,
  labels: Record<string, string>,
  rootNamespace: string,
  meshDefault: MtlsMode = "PERMISSIVE",
): WorkloadMtls {
  let mesh: Policy | undefined;
  let ns: Policy | undefined;
  let workload: Policy | undefined;
  const first = (cur: Policy | undefined, p: Policy) => (!cur || older(p, cur) < 0 ? p : cur);
  for (const p of policies) {
    const selector = p.spec.selector?.matchLabels ?? {};
    if (Object.keys(selector).length === 0) {
      if (p.namespace === rootNamespace) mesh = first(mesh, p);
      else if (p.namespace === namespace) ns = first(ns, p);
    } else if (p.namespace === namespace && p.namespace !== rootNamespace && labelsMatch(selector, labels)) {
      workload = first(workload, p);
    }
  }
  let mode = meshDefault;
  for (const level of [mesh, ns, workload]) {
    const m = level?.spec.mtls?.mode;
    if (set(m)) mode = m;
  }
  const perPort = new Map<number, MtlsMode>();
  for (const [port, m] of Object.entries(workload?.spec.portLevelMtls ?? {}))
    perPort.set(Number(port), set(m.mode) ? m.mode : mode);
  return { mode, perPort };
}

/** The mTLS mode of each inbound port of the workload (namespace, labels) under the model's policies. */
export function workloadMtls(model: ConfigModel, namespace: string, labels: Record<string, string>): WorkloadMtls {
  return composePeerAuthentication(
    model.peerAuthentications ?? [],
    namespace,
    labels,
    model.mesh?.rootNamespace ?? DEFAULT_ROOT_NAMESPACE,
    model.mesh?.mtlsMode ?? "PERMISSIVE",
  );
}

export function portMode(m: WorkloadMtls, port: number): MtlsMode {
  return m.perPort.get(port) ?? m.mode;
}
