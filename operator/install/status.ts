// determineStatus(observed) → MeshInstallation.status. Pure, one function per condition,
// in the manner of sail-operator: `state` is the reason of the first condition that isn't
// True (Healthy otherwise), transition times are kept while a status holds and truncated
// to the second, so an unchanged world yields an identical status and no write.
import type { V1Deployment } from "@kubernetes/client-node";
import { targetText, type EngineReport } from "../../proxy/xds/engine.js";
import { describeImagePulls, type ImagePullFailure } from "./image-pulls.js";
import type { Progress } from "./upgrade-plan.js";
import type { Condition, ConditionStatus, ConditionType, MeshStatus, ProxyStatus } from "../api/types.js";

export interface ProxyReport extends ProxyStatus {
  nacks?: { node: string; type: string; error: string }[];
  /** Proxy count per config generation (versions counts engine versions). */
  configVersions?: Record<string, number>;
  /** What each proxy reports running, by pod (`<namespace>/<pod>`). */
  engines?: Record<string, EngineReport>;
}

export interface Observed {
  generation: number;
  /** Why reconciling failed, if it did (an unknown version, a rejected apply). */
  reconcileError?: { reason: string; message: string };
  deployment?: V1Deployment;
  /** weftd's summary of its sync tracker; undefined until weftd has written one. */
  proxyReport?: ProxyReport;
  /** How far the proxies are on the mesh's engine (upgrade-plan.ts); undefined when it couldn't be worked out. */
  upgrade?: Progress;
  /** weftd's pods that can't start an image. */
  controlPlaneImages?: ImagePullFailure[];
  /** The mesh's injected pods that can't start an image (the sidecar's, or any other). */
  proxyImages?: ImagePullFailure[];
  previous: MeshStatus;
  now: Date;
}

type Verdict = Pick<Condition, "status" | "reason" | "message">;
const verdict = (status: ConditionStatus, reason: string, message: string): Verdict => ({ status, reason, message });
const VERSION_LABEL = "app.kubernetes.io/version";

export function rollout(d: V1Deployment): {
  complete: boolean;
  version?: string;
  replicas: number;
  updated: number;
  available: number;
} {
  const replicas = d.spec?.replicas ?? 1;
  const st = d.status ?? {};
  const updated = st.updatedReplicas ?? 0;
  const available = st.availableReplicas ?? 0;
  const complete =
    (st.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
    updated === replicas &&
    (st.replicas ?? 0) === replicas &&
    available === replicas;
  return { complete, version: d.spec?.template?.metadata?.labels?.[VERSION_LABEL], replicas, updated, available };
}

export function reconciled(o: Observed): Verdict {
  if (o.reconcileError) return verdict("False", o.reconcileError.reason, o.reconcileError.message);
  return verdict("True", "ReconcileSucceeded", "all control-plane objects are applied");
}

export function controlPlaneReady(o: Observed): Verdict {
  if (!o.deployment) return verdict("False", "NotDeployed", "the weftd Deployment does not exist yet");
  const r = rollout(o.deployment);
  if (r.complete)
    return verdict(
      "True",
      "Available",
      `${r.available}/${r.replicas} weftd replicas available at version ${r.version}`,
    );
  const progress = `${r.updated}/${r.replicas} updated, ${r.available}/${r.replicas} available`;
  if (o.controlPlaneImages?.length)
    return verdict("False", "ImagePullFailed", `weftd ${progress}: ${describeImagePulls(o.controlPlaneImages)}`);
  const from = o.previous.version;
  if (from && r.version && from !== r.version)
    return verdict("False", "Upgrading", `rolling weftd from ${from} to ${r.version}: ${progress}`);
  return verdict("False", "Deploying", `waiting for weftd ${r.version ?? ""}: ${progress}`.replace("  ", " "));
}

export function proxiesSynced(o: Observed): Verdict {
  // A pod that can't start never connects: the counts alone would hide it.
  if (o.proxyImages?.length) return verdict("False", "ImagePullFailed", describeImagePulls(o.proxyImages));
  const p = o.proxyReport;
  if (!p) return verdict("Unknown", "NoReport", "weftd has not reported proxy state yet");
  if (p.nacked > 0) {
    const first = p.nacks?.[0];
    const detail = first ? `: ${first.node} rejected ${first.type}: ${first.error}` : "";
    return verdict(
      "False",
      "ConfigRejected",
      `${p.nacked} of ${p.connected} proxies rejected the latest config${detail}`,
    );
  }
  if (p.synced < p.connected)
    return verdict("False", "Syncing", `${p.synced} of ${p.connected} proxies have the latest config`);
  return verdict("True", "Synced", `${p.synced} of ${p.connected} proxies have the latest config`);
}

/** From what the agents report: how many run the mesh's engine, who refused it and why. */
export function proxiesUpgraded(o: Observed): Verdict {
  const u = o.upgrade;
  if (!u) return verdict("Unknown", "NoReport", "the injected pods are not known yet");
  const pinned = u.pinned ? `; ${u.pinned} pinned by annotation, left alone` : "";
  const n = `${u.upgraded}/${u.total} upgraded to ${targetText(u.target)}${pinned}`;
  if (u.upgraded === u.total) return verdict("True", "Completed", n);
  if (u.policy === "Never")
    return verdict(
      "False",
      "Outdated",
      `${u.total - u.upgraded} of ${u.total} proxies run an outdated engine (restartPolicy Never)${pinned}`,
    );
  if (u.failed.length > 0) {
    const named = u.failed
      .slice(0, 5)
      .map((f) => `${f.pod}: ${f.error}`)
      .join("; ");
    const more = u.failed.length > 5 ? `; and ${u.failed.length - 5} more` : "";
    return verdict("False", "Failed", `${n}; paused, ${u.failed.length} failed: ${named}${more}`);
  }
  return verdict("False", "InProgress", n);
}

/** Ready means the control plane serves the requested spec; proxy sync is reported apart. */
export function ready(conditions: Record<"Reconciled" | "ControlPlaneReady", Verdict>): Verdict {
  for (const c of [conditions.Reconciled, conditions.ControlPlaneReady]) {
    if (c.status !== "True") return verdict("False", c.reason, c.message);
  }
  return verdict("True", "Ready", "the control plane is installed and available");
}

export const truncatedToSecond = (d: Date) =>
  new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString().replace(".000Z", "Z");

export function determineStatus(o: Observed): MeshStatus {
  const base = { Reconciled: reconciled(o), ControlPlaneReady: controlPlaneReady(o) };
  const verdicts: [ConditionType, Verdict][] = [
    ["Reconciled", base.Reconciled],
    ["ControlPlaneReady", base.ControlPlaneReady],
    ["ProxiesSynced", proxiesSynced(o)],
    ["ProxiesUpgraded", proxiesUpgraded(o)],
    ["Ready", ready(base)],
  ];
  const previous = new Map((o.previous.conditions ?? []).map((c) => [c.type, c]));
  const conditions = verdicts.map(([type, v]): Condition => {
    const before = previous.get(type);
    const lastTransitionTime =
      before && before.status === v.status ? before.lastTransitionTime : truncatedToSecond(o.now);
    return { type, ...v, lastTransitionTime, observedGeneration: o.generation };
  });
  const blocking = conditions.find((c) =>
    c.type === "ProxiesSynced" || c.type === "ProxiesUpgraded" ? c.status === "False" : c.status !== "True",
  );
  const status: MeshStatus = { observedGeneration: o.generation, state: blocking?.reason ?? "Healthy", conditions };
  const r = o.deployment ? rollout(o.deployment) : undefined;
  const version = r?.complete ? r.version : o.previous.version;
  if (version) status.version = version;
  if (o.proxyReport) {
    const { connected, synced, nacked, versions } = o.proxyReport;
    status.proxies = { connected, synced, nacked, ...(versions ? { versions } : {}) };
  }
  if (o.upgrade && (status.proxies || o.upgrade.total > 0)) {
    status.proxies = {
      ...(status.proxies ?? { connected: 0, synced: 0, nacked: 0 }),
      upgraded: `${o.upgrade.upgraded}/${o.upgrade.total}`,
    };
  }
  return status;
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.entries(v)
        .filter(([, x]) => x !== undefined)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, x]) => [k, canonical(x)]),
    );
  }
  return v;
}

export const sameStatus = (a: MeshStatus | undefined, b: MeshStatus | undefined) =>
  JSON.stringify(canonical(a ?? {})) === JSON.stringify(canonical(b ?? {}));
