// Planning sidecar upgrades (pure): from the injected pods, what their agents report (the proxy report) and the
// mesh's desired engine, which pods to move now and how far along the upgrade is. The controller (upgrades.ts) does
// the writes; status.ts turns the progress into ProxiesUpgraded.
//
// - HotRestart: a pod is moved by annotating it with its desired engine (weft.dev/engine, which discovery serves to
//   its agent) and setting its engine carrier's image. At most maxUnavailable pods are in flight at once: asked and
//   not yet reporting the target (a Failed one stays in flight, so a bad version never spreads past that).
// - RollingRestart: the workloads of outdated pods get a pod-template annotation, as `kubectl rollout restart` does,
//   one workload at a time: the next only once the last one's rollout is complete.
// - Never: nothing moves; the outdated are counted.
// Pods whose sidecar.istio.io/proxyImage or proxy.istio.io/config binaryPath pins the proxy are left alone and
// counted apart.
import { parse } from "yaml";
import type { RestartPolicy } from "../api/types.js";
import {
  ENGINE_ANNOTATION,
  parseTarget,
  sameTarget,
  targetText,
  type EngineReport,
  type EngineTarget,
} from "../../proxy/xds/engine.js";

export { CARRIER_CONTAINER } from "../injector/patch.js";
export const RESTARTED_FOR = "weft.dev/restarted-for";
export const RESTARTED_AT = "kubectl.kubernetes.io/restartedAt";

export interface InjectedPod {
  namespace: string;
  name: string;
  annotations: Record<string, string>;
  /** The Deployment it belongs to, when it does. */
  workload?: string;
  /** The engine carrier's image, when the pod has one. */
  carrierImage?: string;
}

export interface Workload {
  namespace: string;
  name: string;
  /** Its rollout is not complete. */
  rolling: boolean;
  /** The target a restart was last asked for (RESTARTED_FOR on its pod template). */
  restartedFor?: string;
}

export interface PlanInput {
  policy: RestartPolicy;
  target: EngineTarget;
  /** The proxy image the carriers should run. */
  image: string;
  maxUnavailable: number | string;
  pods: InjectedPod[];
  /** By `<namespace>/<pod>`. */
  reports: Record<string, EngineReport>;
  workloads: Workload[];
}

export interface PodPatch {
  namespace: string;
  name: string;
  annotation: string;
  carrierImage?: string;
}

export interface Progress {
  /** Injected pods that follow the mesh (not pinned). */
  total: number;
  upgraded: number;
  pinned: number;
  failed: { pod: string; error: string }[];
  target: EngineTarget;
  policy: RestartPolicy;
}

export interface Plan {
  patches: PodPatch[];
  restart?: { namespace: string; name: string; restartedFor: string };
  progress: Progress;
}

/** maxUnavailable of total, as Deployments resolve it for maxUnavailable: a count, or a percentage rounded up; ≥ 1. */
export function resolveMaxUnavailable(v: number | string, total: number): number {
  if (typeof v === "number") return Math.max(1, v);
  const m = /^(\d+)%$/.exec(v);
  const pct = m ? Number(m[1]) : 25;
  return Math.max(1, Math.ceil((total * pct) / 100));
}

/** The pod pins its proxy: Istio's and MOSN's per-pod overrides. */
export function pinned(annotations: Record<string, string>): boolean {
  if (annotations["sidecar.istio.io/proxyImage"]) return true;
  const text = annotations["proxy.istio.io/config"];
  if (!text) return false;
  try {
    const doc: unknown = parse(text);
    return typeof doc === "object" && doc !== null && typeof (doc as { binaryPath?: unknown }).binaryPath === "string";
  } catch {
    return false;
  }
}

const key = (p: { namespace: string; name: string }) => `${p.namespace}/${p.name}`;

export function planUpgrade(i: PlanInput): Plan {
  const follow = i.pods.filter((p) => !pinned(p.annotations)).sort((a, b) => key(a).localeCompare(key(b)));
  const upgraded = (p: InjectedPod) => {
    const r = i.reports[key(p)];
    return r !== undefined && r.phase === "Running" && sameTarget(r, i.target);
  };
  const failed = follow.flatMap((p) => {
    const r = i.reports[key(p)];
    return r?.phase === "Failed" && sameTarget(r.target, i.target) ? [{ pod: key(p), error: r.error ?? "failed" }] : [];
  });
  const done = follow.filter(upgraded);
  const progress: Progress = {
    total: follow.length,
    upgraded: done.length,
    pinned: i.pods.length - follow.length,
    failed,
    target: i.target,
    policy: i.policy,
  };
  const outdated = follow.filter((p) => !upgraded(p));
  const patches: PodPatch[] = [];
  let restart: Plan["restart"];
  const wanted = JSON.stringify(i.target);

  if (i.policy === "HotRestart") {
    const asked = (p: InjectedPod) => sameTarget(parseTarget(p.annotations[ENGINE_ANNOTATION]), i.target);
    const carrierBehind = (p: InjectedPod) => p.carrierImage !== undefined && p.carrierImage !== i.image;
    const inFlight = outdated.filter(asked).length;
    let budget = resolveMaxUnavailable(i.maxUnavailable, follow.length) - inFlight;
    for (const p of follow) {
      // An upgraded pod whose annotation or carrier lags (injected before the change, or moved by hand) is set
      // straight; it is not in flight, so it costs no budget.
      const behind = !asked(p) || carrierBehind(p);
      if (!behind) continue;
      if (!upgraded(p)) {
        if (budget <= 0) continue;
        budget--;
      }
      patches.push({
        namespace: p.namespace,
        name: p.name,
        annotation: wanted,
        ...(carrierBehind(p) ? { carrierImage: i.image } : {}),
      });
    }
  } else if (i.policy === "RollingRestart") {
    const rolling = i.workloads.some((w) => w.rolling);
    if (!rolling) {
      const names = [...new Set(outdated.flatMap((p) => (p.workload ? [`${p.namespace}/${p.workload}`] : [])))].sort();
      const next = names
        .map((n) => i.workloads.find((w) => key(w) === n))
        .find((w) => w !== undefined && w.restartedFor !== targetText(i.target));
      if (next) restart = { namespace: next.namespace, name: next.name, restartedFor: targetText(i.target) };
    }
  }
  return { patches, ...(restart ? { restart } : {}), progress };
}
