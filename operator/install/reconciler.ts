// The MeshInstallation reconciler: normalise the spec, render the control plane, apply it
// with server-side apply, then write determineStatus(observed) only if it changed.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type {
  KubeConfig,
  KubernetesObject,
  V1ConfigMap,
  V1Deployment,
  V1Namespace,
  V1Pod,
  V1Secret,
} from "@kubernetes/client-node";
import type { Logger } from "pino";
import { normalizeSpec, SpecError } from "../api/spec.js";
import { findVersion, VERSIONS } from "../api/versions.js";
import { API_VERSION, GROUP, PLURAL, type MeshInstallation, type MeshSpec } from "../api/types.js";
import type { Applier } from "../runtime/apply.js";
import type { Informer } from "../runtime/informer.js";
import type { Reconciler } from "../runtime/controller.js";
import { errorMessage, isNotFound } from "../runtime/kube.js";
import { render } from "./render.js";
import { meshConfigProblem } from "./render-mesh.js";
import { determineStatus, sameStatus, type Observed, type ProxyReport } from "./status.js";
import { CaKeeper } from "./ca.js";
import { reportFromData } from "./proxy-report.js";
import type { Progress } from "./upgrade-plan.js";
import { ProxyUpgrades, injectedPod } from "./upgrades.js";
import {
  CA_SECRET,
  CREATED_BY_ANNOTATION,
  DISCOVERY,
  FINALIZER,
  MESH_LABEL,
  PROXY_STATUS_CONFIGMAP,
  meshLabels,
} from "./labels.js";
import { imagePullFailures } from "./image-pulls.js";
import { publishedNamespaces, rootBundle, rootCertPublisher, rootCertsToApply } from "./root-cert.js";
import { ROOT_CERT_CONFIGMAP } from "../api/roles.js";

export interface Caches {
  meshes: Informer<MeshInstallation>;
  deployments: Informer<V1Deployment>;
  secrets: Informer<V1Secret>;
  configMaps: Informer<V1ConfigMap>;
  namespaces: Informer<V1Namespace>;
  /** Injected pods (INJECTED_SELECTOR), every namespace. */
  pods: Informer<V1Pod>;
  /** weftd's pods (app=weftd, with the mesh label), every namespace. */
  controlPlanePods: Informer<V1Pod>;
}

class ReconcileError extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly retry: boolean,
  ) {
    super(message);
  }
}

/** The spec, defaulted, or the reason it can't be installed. Pure. */
export function checkSpec(raw: unknown): MeshSpec {
  let spec: MeshSpec;
  try {
    spec = normalizeSpec(raw);
  } catch (err) {
    if (err instanceof SpecError) throw new ReconcileError("InvalidSpec", err.message, false);
    throw err;
  }
  if (!findVersion(spec.version)) {
    const known = VERSIONS.map((v) => v.version).join(", ");
    throw new ReconcileError(
      "UnknownVersion",
      `spec.version: ${spec.version} is not a version this operator can install (known: ${known})`,
      false,
    );
  }
  const mesh = meshConfigProblem(spec);
  if (mesh) throw new ReconcileError("InvalidSpec", mesh, false);
  if (spec.updateStrategy.type === "RevisionBased") {
    throw new ReconcileError(
      "UnsupportedUpdateStrategy",
      "spec.updateStrategy.type: RevisionBased is not supported yet; use InPlace",
      false,
    );
  }
  return spec;
}

/** Every weftd replica's report in the ConfigMap, added up (proxy-report.ts). */
export function parseProxyReport(cm: V1ConfigMap | undefined): ProxyReport | undefined {
  return reportFromData(cm?.data);
}

export class MeshReconciler implements Reconciler<MeshInstallation> {
  readonly name = "meshinstallation";
  readonly finalizer = FINALIZER;
  private readonly custom: CustomObjectsApi;
  private readonly ca: CaKeeper;
  private readonly upgrades: ProxyUpgrades;

  constructor(
    kc: KubeConfig,
    private readonly applier: Applier,
    private readonly caches: Caches,
    private readonly log: Logger,
  ) {
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.ca = new CaKeeper(log);
    this.upgrades = new ProxyUpgrades(kc, caches.pods, log);
  }

  async reconcile(mesh: MeshInstallation): Promise<void> {
    const name = mesh.metadata?.name ?? "";
    let deployment: V1Deployment | undefined;
    let failure: ReconcileError | undefined;
    let namespace = typeof mesh.spec?.namespace === "string" ? mesh.spec.namespace : undefined;
    let upgrade: Progress | undefined;
    const proxyReport = () =>
      namespace ? parseProxyReport(this.caches.configMaps.get(PROXY_STATUS_CONFIGMAP, namespace)) : undefined;
    try {
      const spec = checkSpec(mesh.spec);
      namespace = spec.namespace;
      deployment = await this.install(mesh, spec);
      await this.publishRootCert(mesh, spec);
      upgrade = await this.upgrades.step(spec, proxyReport());
    } catch (err) {
      failure = err instanceof ReconcileError ? err : new ReconcileError("ApplyFailed", errorMessage(err), true);
      this.log.warn({ mesh: name, reason: failure.reason, err: failure.message }, "reconcile did not converge");
      deployment = namespace ? this.caches.deployments.get(DISCOVERY, namespace) : undefined;
    }
    const observed: Observed = {
      generation: mesh.metadata?.generation ?? 0,
      reconcileError: failure && { reason: failure.reason, message: failure.message },
      deployment,
      proxyReport: proxyReport(),
      upgrade,
      ...(namespace ? this.imagePulls(name, namespace) : {}),
      previous: mesh.status ?? {},
      now: new Date(),
    };
    await this.writeStatus(mesh, determineStatus(observed));
    if (failure?.retry) throw failure; // back off and try again
  }

  /** The mesh's pods (weftd's, and the injected ones) that can't start an image. */
  private imagePulls(mesh: string, namespace: string): Pick<Observed, "controlPlaneImages" | "proxyImages"> {
    const controlPlane = this.caches.controlPlanePods
      .list()
      .filter((p) => p.metadata?.namespace === namespace && p.metadata?.labels?.[MESH_LABEL] === mesh);
    const injected = this.caches.pods.list().filter((p) => injectedPod(p, namespace));
    return { controlPlaneImages: imagePullFailures(controlPlane), proxyImages: imagePullFailures(injected) };
  }

  private async install(mesh: MeshInstallation, spec: MeshSpec): Promise<V1Deployment | undefined> {
    const name = mesh.metadata?.name ?? "";
    const ca = await this.ca.ensure(spec.namespace, this.caches.secrets.get(CA_SECRET, spec.namespace));
    const { namespace, objects } = render(spec, { name, uid: mesh.metadata?.uid ?? "", ca });
    await this.ensureNamespace(namespace, name);
    let deployment: V1Deployment | undefined;
    for (const obj of objects) {
      try {
        const applied = await this.applier.apply(obj);
        if (obj.kind === "Deployment") deployment = applied as V1Deployment;
      } catch (err) {
        throw new ReconcileError("ApplyFailed", `${obj.kind} ${describe(obj)}: ${errorMessage(err)}`, true);
      }
    }
    return deployment;
  }

  /** istio-ca-root-cert in every namespace (root-cert.ts), when this mesh is the one that publishes it. */
  private async publishRootCert(mesh: MeshInstallation, spec: MeshSpec): Promise<void> {
    const name = mesh.metadata?.name ?? "";
    if (rootCertPublisher(this.caches.meshes.list()) !== name) return;
    const secret = this.caches.secrets.get(CA_SECRET, spec.namespace);
    const ca = await this.ca.ensure(spec.namespace, secret);
    const namespaces = publishedNamespaces(this.caches.namespaces.list());
    const stale = rootCertsToApply(
      namespaces,
      (ns) => this.caches.configMaps.get(ROOT_CERT_CONFIGMAP, ns),
      name,
      rootBundle(secret?.data, ca.certPem),
      mesh.metadata?.uid ?? "",
    );
    for (const cm of stale) {
      try {
        await this.applier.apply(cm);
      } catch (err) {
        // A namespace deleted meanwhile refuses it; the next event on it settles the rest.
        if ((err as { code?: number }).code === 403 || isNotFound(err)) continue;
        throw new ReconcileError("ApplyFailed", `ConfigMap ${describe(cm)}: ${errorMessage(err)}`, true);
      }
    }
    if (stale.length) this.log.info({ mesh: name, namespaces: stale.length }, `${ROOT_CERT_CONFIGMAP} published`);
  }

  /** Creates the namespace if it is missing, marked so that finalize may delete it; never takes over an existing one. */
  private async ensureNamespace(ns: KubernetesObject, mesh: string): Promise<void> {
    const name = ns.metadata?.name ?? "";
    if (this.caches.namespaces.get(name)) return;
    const body = {
      ...ns,
      metadata: { ...ns.metadata, labels: meshLabels(mesh), annotations: { [CREATED_BY_ANNOTATION]: mesh } },
    };
    try {
      await this.applier.create(body);
      this.log.info({ namespace: name }, "created namespace");
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
  }

  private async writeStatus(mesh: MeshInstallation, status: MeshInstallation["status"]): Promise<void> {
    if (sameStatus(status, mesh.status)) return;
    await this.custom.patchClusterCustomObjectStatus(
      {
        group: GROUP,
        version: API_VERSION,
        plural: PLURAL,
        name: mesh.metadata?.name ?? "",
        body: [{ op: "add", path: "/status", value: status }],
      },
      setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
    );
    this.log.info({ mesh: mesh.metadata?.name, state: status?.state, version: status?.version }, "status updated");
  }

  async finalize(mesh: MeshInstallation): Promise<void> {
    const name = mesh.metadata?.name ?? "";
    let spec: MeshSpec;
    try {
      spec = normalizeSpec(mesh.spec);
    } catch {
      return; // never installed anything: the spec never passed
    }
    const placeholderCa = { certPem: "", keyPem: "" };
    const { objects } = render(spec, { name, uid: mesh.metadata?.uid ?? "", ca: placeholderCa });
    for (const obj of objects.reverse()) {
      if (await this.applier.delete(obj)) this.log.info({ object: `${obj.kind} ${describe(obj)}` }, "deleted");
    }
    for (const cm of this.caches.configMaps.list())
      if (cm.metadata?.name === ROOT_CERT_CONFIGMAP && cm.metadata.labels?.[MESH_LABEL] === name)
        await this.applier.delete(cm);
    const ns = this.caches.namespaces.get(spec.namespace);
    if (ns?.metadata?.annotations?.[CREATED_BY_ANNOTATION] === name) {
      try {
        await this.applier.delete({ apiVersion: "v1", kind: "Namespace", metadata: { name: spec.namespace } });
        this.log.info({ namespace: spec.namespace }, "deleted namespace");
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }
}

const describe = (o: KubernetesObject) =>
  o.metadata?.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : (o.metadata?.name ?? "");
