// A Pod as the model sees it: its workload (address, labels, named ports, identity, locality), and whether it serves
// by its own status. Pure.
import { CARRIER_CONTAINER } from "../../injector/patch.js";
import type { Workload } from "./config.js";
import type { KubeObject, PodSpec, PodStatus } from "./kube.js";
import { podLocality } from "./pod-locality.js";

export const withLocality = (locality: string | undefined): { locality?: string } => (locality ? { locality } : {});

/** A Pod as a workload: only once it has an IP. `ofNode`: a node's locality by name. */
export function podWorkload(
  p: KubeObject,
  defaultNs = "default",
  ofNode: (name: string) => string | undefined = () => undefined,
): Workload | undefined {
  const ip = (p.status as PodStatus | undefined)?.podIP;
  if (!ip) return undefined;
  const ports: Record<string, number> = {};
  const spec = p.spec as PodSpec | undefined;
  for (const c of spec?.containers ?? [])
    for (const cp of c.ports ?? []) if (cp.name) ports[cp.name] = cp.containerPort;
  return {
    name: p.metadata?.name ?? "",
    namespace: p.metadata?.namespace ?? defaultNs,
    address: ip,
    labels: p.metadata?.labels ?? {},
    ports,
    serviceAccount: spec?.serviceAccountName || "default",
    ...withLocality(podLocality(p, ofNode)),
    pod: true,
  };
}

/**
 * Whether a pod serves by its own status: not being deleted, every container but the engine carrier ready, every
 * readiness gate True. An EndpointSlice that calls such a pod not ready is about the carrier, or behind the pod:
 * - the carrier carries no traffic, but an in-place proxy upgrade restarts it and the kubelet counts it in the pod's
 *   Ready, so a one-replica workload would drop out of every route for the restart;
 * - the EndpointSlice controller writes after the pod's status changed (a second or more under load): the pod ready
 *   again, its slice still saying not ready, would drop the endpoint until the slice caught up.
 * So a not-ready endpoint is dropped only when its pod agrees (or is unknown). Pure.
 */
export function podServes(pod: KubeObject): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  const status = pod.status as PodStatus | undefined;
  const statuses = status?.containerStatuses ?? [];
  const spec = pod.spec as PodSpec | undefined;
  const names = spec?.containers?.length ? spec.containers.map((c) => c.name ?? "") : statuses.map((c) => c.name);
  const app = names.filter((n) => n !== CARRIER_CONTAINER);
  if (app.length === 0) return false;
  if (!app.every((n) => statuses.some((c) => c.name === n && c.ready === true))) return false;
  const conditions = status?.conditions ?? [];
  return (spec?.readinessGates ?? []).every((g) =>
    conditions.some((c) => c.type === g.conditionType && c.status === "True"),
  );
}
