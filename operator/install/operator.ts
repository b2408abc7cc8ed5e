// `weft operator`: informers → work queue → MeshReconciler, behind leader election, with
// /healthz, /readyz and /metrics. Informers run on every replica, so a standby that takes
// over has a warm cache; only the leader reconciles.
import type {
  KubeConfig,
  KubernetesObject,
  V1ConfigMap,
  V1Deployment,
  V1Namespace,
  V1Pod,
  V1Secret,
} from "@kubernetes/client-node";
import type { Server } from "node:http";
import type { Logger } from "pino";
import { API_VERSION, GROUP, KIND, PLURAL, type MeshInstallation } from "../api/types.js";
import { Applier } from "../runtime/apply.js";
import { Controller } from "../runtime/controller.js";
import { close, healthRoutes, metricsRoutes, serve } from "../runtime/http.js";
import { Informer, type InformerSource } from "../runtime/informer.js";
import { LeaderElector, type LeaderOptions } from "../runtime/leader.js";
import { RuntimeMetrics } from "../runtime/metrics.js";
import { DISCOVERY, FIELD_MANAGER, MESH_LABEL } from "./labels.js";
import { MeshReconciler } from "./reconciler.js";
import { namespaceNeedsBundle, rootCertPublisher } from "./root-cert.js";
import { ROOT_CERT_CONFIGMAP } from "../api/roles.js";
import { normalizeSpec } from "../api/spec.js";
import { INJECTED_SELECTOR, proxiedBy } from "./upgrades.js";

export interface OperatorOptions {
  metricsAddr: string;
  healthAddr: string;
  resyncMs: number;
  /** Undefined: no leader election (a single replica). */
  leader?: Omit<LeaderOptions, "name"> & { name?: string };
}

const owned = (apiVersion: string, kind: string, plural: string): InformerSource => ({
  apiVersion,
  kind,
  plural,
  labelSelector: MESH_LABEL,
});

/** Everything the operator applies carries the mesh label; events on them requeue that mesh. */
const OWNED: InformerSource[] = [
  owned("v1", "ServiceAccount", "serviceaccounts"),
  owned("v1", "Service", "services"),
  owned("rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles"),
  owned("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebindings"),
  owned("rbac.authorization.k8s.io/v1", "Role", "roles"),
  owned("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings"),
  owned("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations"),
  owned("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations"),
];

/** Where the mesh's control plane runs; undefined for a spec the reconciler rejects (its status says why). */
function controlPlaneNamespace(mesh: MeshInstallation): string | undefined {
  try {
    return normalizeSpec(mesh.spec).namespace;
  } catch {
    return undefined;
  }
}

export class Operator {
  private readonly metrics = new RuntimeMetrics();
  private readonly informers: Informer<KubernetesObject>[] = [];
  private readonly servers: Server[] = [];
  private controller?: Controller<MeshInstallation>;
  private elector?: LeaderElector;
  private synced = false;
  private stopping = false;

  constructor(
    private readonly kc: KubeConfig,
    private readonly opts: OperatorOptions,
    private readonly log: Logger,
  ) {}

  private informer<T extends KubernetesObject>(source: InformerSource): Informer<T> {
    const i = new Informer<T>(this.kc, source, this.log);
    this.informers.push(i as unknown as Informer<KubernetesObject>);
    return i;
  }

  async start(onLostLeadership: () => void): Promise<void> {
    this.servers.push(await serve(this.opts.metricsAddr, metricsRoutes(this.metrics.registry)));
    this.servers.push(
      await serve(
        this.opts.healthAddr,
        healthRoutes(() => (this.synced ? undefined : "informers not synced")),
      ),
    );

    const meshes = this.informer<MeshInstallation>({
      apiVersion: `${GROUP}/${API_VERSION}`,
      kind: KIND,
      plural: PLURAL,
    });
    const caches = {
      meshes,
      deployments: this.informer<V1Deployment>(owned("apps/v1", "Deployment", "deployments")),
      secrets: this.informer<V1Secret>(owned("v1", "Secret", "secrets")),
      configMaps: this.informer<V1ConfigMap>(owned("v1", "ConfigMap", "configmaps")),
      namespaces: this.informer<V1Namespace>({ apiVersion: "v1", kind: "Namespace", plural: "namespaces" }),
      pods: this.informer<V1Pod>({ apiVersion: "v1", kind: "Pod", plural: "pods", labelSelector: INJECTED_SELECTOR }),
      controlPlanePods: this.informer<V1Pod>({
        apiVersion: "v1",
        kind: "Pod",
        plural: "pods",
        labelSelector: `app=${DISCOVERY},${MESH_LABEL}`,
      }),
    };
    const applier = new Applier(this.kc, FIELD_MANAGER);
    const reconciler = new MeshReconciler(this.kc, applier, caches, this.log);
    const controller = new Controller(meshes, reconciler, applier, this.metrics, this.log, this.opts.resyncMs);
    // An object carrying the label of a mesh that doesn't exist (another weftd's report, a mesh already gone) wakes
    // nothing: there is nothing to reconcile.
    const toMesh = (o: KubernetesObject) => {
      const mesh = o.metadata?.labels?.[MESH_LABEL];
      return mesh && meshes.get(mesh) ? [mesh] : [];
    };
    for (const i of [caches.deployments, caches.secrets, caches.configMaps, caches.controlPlanePods])
      controller.watches(i, toMesh);
    for (const source of OWNED) controller.watches(this.informer(source), toMesh);
    // istio-ca-root-cert (root-cert.ts): a namespace that appears without it gets it from the mesh that publishes it (its
    // ConfigMap carries the mesh label, so an edit or a delete requeues that mesh through the ConfigMap informer).
    // When the publisher goes, the next oldest mesh takes over.
    const publisher = () => {
      const name = rootCertPublisher(meshes.list());
      return name ? [name] : [];
    };
    controller.watches(caches.namespaces, (ns) =>
      namespaceNeedsBundle(ns, caches.configMaps.get(ROOT_CERT_CONFIGMAP, ns.metadata?.name) !== undefined)
        ? publisher()
        : [],
    );
    controller.watches(meshes, publisher);
    // An injected pod's change (created, its carrier restarted, deleted) may move its mesh's upgrade along and changes
    // its counts: the mesh whose control plane the pod's proxy talks to looks. Another mesh's pods wake nothing.
    controller.watches(caches.pods, (pod) =>
      meshes.list().flatMap((m) => {
        const name = m.metadata?.name;
        const namespace = controlPlaneNamespace(m);
        return name && namespace && proxiedBy(pod, namespace) ? [name] : [];
      }),
    );
    this.controller = controller;

    await Promise.all(this.informers.map((i) => i.start()));
    await Promise.all(this.informers.map((i) => i.synced));
    this.synced = true;
    this.log.info({ informers: this.informers.length }, "caches synced");

    if (!this.opts.leader) {
      this.metrics.leader.set(1);
      controller.start();
      return;
    }
    this.elector = new LeaderElector(this.kc, { name: "weft-operator", ...this.opts.leader }, this.log, {
      onStartedLeading: () => {
        this.metrics.leader.set(1);
        controller.start();
      },
      onStoppedLeading: () => {
        this.metrics.leader.set(0);
        if (!this.stopping) onLostLeadership();
      },
    });
    await this.elector.start();
  }

  /** Graceful: finish the reconcile in flight, hand the lease back, close the servers. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.controller?.stop();
    await this.elector?.stop();
    for (const i of this.informers) i.stop();
    await Promise.all(this.servers.map(close));
  }
}
