// Sidecar upgrades, the I/O half (upgrade-plan.ts decides): reads the mesh's injected pods from an informer and their
// workloads' rollouts, then writes what the plan says: pod annotations and carrier images (HotRestart) or a
// pod-template annotation (RollingRestart). Nothing is written when the plan is empty, so a mesh at rest costs none.
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { KubeConfig, V1Deployment, V1Pod } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { MeshSpec } from "../api/types.js";
import { ENGINE_ANNOTATION } from "../../proxy/xds/engine.js";
import { PROXY_CONTAINER, STATUS, discoveryHost } from "../injector/patch.js";
import type { Informer } from "../runtime/informer.js";
import { isNotFound } from "../runtime/kube.js";
import { desiredEngine, proxyImage } from "./render-injector.js";
import type { ProxyReport } from "./status.js";
import {
  CARRIER_CONTAINER,
  RESTARTED_AT,
  RESTARTED_FOR,
  planUpgrade,
  type InjectedPod,
  type Progress,
  type Workload,
} from "./upgrade-plan.js";
import { FIELD_MANAGER } from "./labels.js";

/** What the operator's pod informer selects: the label injection puts on every injected pod. */
export const INJECTED_SELECTOR = "security.istio.io/tlsMode=istio";

const strategic = setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch);

/** Whether the pod's proxy talks to the control plane in `namespace`, live or not. */
export function proxiedBy(pod: V1Pod, namespace: string): boolean {
  const proxy = pod.spec?.containers.find((c) => c.name === PROXY_CONTAINER);
  const discovery = discoveryHost(namespace);
  return (
    !!proxy &&
    ((proxy.args ?? []).some((a) => a.includes(discovery)) ||
      (proxy.env ?? []).some((e) => e.value?.includes(discovery)))
  );
}

/** The pod's view for planning, when it is a live injected pod of the mesh whose control plane is in `namespace`. */
export function injectedPod(pod: V1Pod, namespace: string): InjectedPod | undefined {
  const meta = pod.metadata ?? {};
  if (meta.deletionTimestamp || !meta.annotations?.[STATUS]) return undefined;
  if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") return undefined;
  if (!proxiedBy(pod, namespace)) return undefined;
  const owner = meta.ownerReferences?.find((o) => o.controller);
  const hash = meta.labels?.["pod-template-hash"];
  const workload =
    owner?.kind === "ReplicaSet" && hash && owner.name.endsWith(`-${hash}`)
      ? owner.name.slice(0, -hash.length - 1)
      : undefined;
  const carrier = pod.spec?.containers.find((c) => c.name === CARRIER_CONTAINER);
  return {
    namespace: meta.namespace ?? "",
    name: meta.name ?? "",
    annotations: meta.annotations ?? {},
    ...(workload ? { workload } : {}),
    ...(carrier?.image ? { carrierImage: carrier.image } : {}),
  };
}

export function workloadOf(d: V1Deployment): Workload {
  const replicas = d.spec?.replicas ?? 1;
  const st = d.status ?? {};
  const complete =
    (st.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
    (st.updatedReplicas ?? 0) === replicas &&
    (st.replicas ?? 0) === replicas &&
    (st.availableReplicas ?? 0) === replicas;
  const restartedFor = d.spec?.template?.metadata?.annotations?.[RESTARTED_FOR];
  return {
    namespace: d.metadata?.namespace ?? "",
    name: d.metadata?.name ?? "",
    rolling: !complete,
    ...(restartedFor ? { restartedFor } : {}),
  };
}

export class ProxyUpgrades {
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;

  constructor(
    kc: KubeConfig,
    private readonly pods: Informer<V1Pod>,
    private readonly log: Logger,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.apps = kc.makeApiClient(AppsV1Api);
  }

  /** One step towards the mesh's engine on every injected pod; returns where the upgrade stands. */
  async step(spec: MeshSpec, report: ProxyReport | undefined): Promise<Progress> {
    const pods = this.pods.list().flatMap((p) => injectedPod(p, spec.namespace) ?? []);
    const policy = spec.proxy.restartPolicy;
    const workloads = policy === "RollingRestart" ? await this.workloads(pods) : [];
    const plan = planUpgrade({
      policy,
      target: desiredEngine(spec),
      image: proxyImage(spec),
      maxUnavailable: spec.proxy.maxUnavailable,
      pods,
      reports: report?.engines ?? {},
      workloads,
    });
    for (const p of plan.patches) {
      const body = {
        metadata: { annotations: { [ENGINE_ANNOTATION]: p.annotation } },
        ...(p.carrierImage ? { spec: { containers: [{ name: CARRIER_CONTAINER, image: p.carrierImage }] } } : {}),
      };
      try {
        await this.core.patchNamespacedPod(
          { name: p.name, namespace: p.namespace, body, fieldManager: FIELD_MANAGER },
          strategic,
        );
        this.log.info(
          { pod: `${p.namespace}/${p.name}`, engine: p.annotation, carrierImage: p.carrierImage },
          "proxy upgrade asked",
        );
      } catch (err) {
        if (!isNotFound(err)) throw err; // a pod that is gone is no longer ours to upgrade
      }
    }
    if (plan.restart) {
      const { namespace, name, restartedFor } = plan.restart;
      const body = {
        spec: {
          template: {
            metadata: { annotations: { [RESTARTED_FOR]: restartedFor, [RESTARTED_AT]: new Date().toISOString() } },
          },
        },
      };
      await this.apps.patchNamespacedDeployment({ name, namespace, body, fieldManager: FIELD_MANAGER }, strategic);
      this.log.info({ deployment: `${namespace}/${name}`, engine: restartedFor }, "workload restarted for its proxies");
    }
    return plan.progress;
  }

  /** Every Deployment of the mesh's injected pods, with its rollout state. */
  private async workloads(pods: InjectedPod[]): Promise<Workload[]> {
    const names = [...new Set(pods.flatMap((p) => (p.workload ? [`${p.namespace}/${p.workload}`] : [])))].sort();
    const out: Workload[] = [];
    for (const n of names) {
      const [namespace = "", name = ""] = n.split("/");
      try {
        out.push(workloadOf(await this.apps.readNamespacedDeployment({ name, namespace })));
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return out;
  }
}
