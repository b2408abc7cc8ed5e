// The Kubernetes source: informers over Services, EndpointSlices, Pods, Namespaces, TLS Secrets (for gateways'
// credentialName), the Istio networking kinds and AuthorizationPolicy,
// folded by the same normalise() as the directory source, so translate never knows where config came from.
// Each event updates the incremental model (model/incremental.ts) at once, touching only what it changes; the
// changes, debounced, yield a snapshot when the model (or what admission says) changed.
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { Informer } from "../../runtime/informer.js";
import type { InformerSource } from "../../runtime/informer.js";
import { emptyModel } from "../model/config.js";
import type { KubeObject } from "../model/kube.js";
import { IncrementalModel } from "../model/incremental.js";
import { CREDENTIAL_KEYS, SECRET_TYPES } from "../model/credentials.js";
import { isIstioObject } from "../validate/index.js";
import { admit, objectKey, rejectionMessage } from "./admission.js";
import type { Rejection } from "./admission.js";
import type { DirSnapshot as SourceSnapshot } from "./dir.js";

export interface KubeSourceOptions {
  kc: KubeConfig;
  log: Logger;
  /** Watch only this namespace (Namespaces themselves are cluster-scoped); all namespaces when unset. */
  namespace?: string;
  debounceMs?: number;
  domainSuffix?: string;
  onChange(snapshot: SourceSnapshot): void;
  /** After every batch of events, model changed or not (a pod's annotations, say). */
  onEvents?(): void;
}

type Kind = Omit<InformerSource, "namespace">;

/** What discovery watches. The Istio kinds are read at v1, which the CRDs in crds/ serve. */
export const WATCHED: readonly (Kind & { clusterScoped?: boolean })[] = [
  { apiVersion: "v1", kind: "Service", plural: "services" },
  { apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", plural: "endpointslices" },
  // Pods' localities (topology labels: model/pod-locality.ts); listed before the pods, so each is read once.
  { apiVersion: "v1", kind: "Node", plural: "nodes", clusterScoped: true },
  { apiVersion: "v1", kind: "Pod", plural: "pods" },
  { apiVersion: "v1", kind: "Namespace", plural: "namespaces", clusterScoped: true },
  ...[
    ["VirtualService", "virtualservices"],
    ["DestinationRule", "destinationrules"],
    ["Gateway", "gateways"],
    ["ServiceEntry", "serviceentries"],
    ["WorkloadEntry", "workloadentries"],
    ["Sidecar", "sidecars"],
  ].map(([kind = "", plural = ""]) => ({ apiVersion: "networking.istio.io/v1", kind, plural })),
  { apiVersion: "security.istio.io/v1", kind: "AuthorizationPolicy", plural: "authorizationpolicies" },
  { apiVersion: "security.istio.io/v1", kind: "PeerAuthentication", plural: "peerauthentications" },
  { apiVersion: "security.istio.io/v1", kind: "RequestAuthentication", plural: "requestauthentications" },
  { apiVersion: "telemetry.istio.io/v1", kind: "Telemetry", plural: "telemetries" },
  // Gateways' credentialName: only the Secret types model/credentials.ts reads, each by a field selector, so the
  // API server never sends the others (tokens, docker configs, Helm releases).
  ...SECRET_TYPES.map((type) => ({
    apiVersion: "v1",
    kind: "Secret",
    plural: "secrets",
    fieldSelector: `type=${type}`,
  })),
];

/**
 * A Secret as the informer's cache keeps it: only the keys a gateway's credential may use, and without
 * `kubectl.kubernetes.io/last-applied-configuration` (kubectl apply copies the whole Secret, data and all, into it).
 * In place, as the informer drops managedFields: the cache holds this very object.
 */
export function trimSecret(o: KubernetesObject): void {
  const s = o as KubernetesObject & { data?: Record<string, unknown>; stringData?: unknown };
  for (const k of Object.keys(s.data ?? {})) if (!CREDENTIAL_KEYS.has(k)) delete s.data?.[k];
  delete s.stringData;
  delete s.metadata?.annotations?.[LAST_APPLIED];
}
const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

/** A listed object with its apiVersion and kind filled in (list items come without them). Pure. */
export function typed(source: Kind, obj: KubernetesObject): KubeObject {
  return { ...(obj as KubeObject), apiVersion: source.apiVersion, kind: source.kind };
}

export class KubeSource {
  private readonly informers: Informer<KubernetesObject>[];
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private last: SourceSnapshot | undefined;
  private model: IncrementalModel | undefined;
  /** The Istio objects admitted (or their last good versions), by key: what the model holds of them. */
  private admitted = new Map<string, KubeObject>();
  private rejected: Rejection[] = [];
  private rejectedText = "";
  /** The versions of Istio objects in use: one that got past the webhook invalid keeps its previous version. */
  private good = new Map<string, KubeObject>();

  constructor(private readonly options: KubeSourceOptions) {
    this.informers = WATCHED.map(
      ({ clusterScoped, ...kind }) =>
        new Informer<KubernetesObject>(
          options.kc,
          { ...kind, namespace: clusterScoped ? undefined : options.namespace },
          options.log,
        ),
    );
    for (const informer of this.informers)
      informer.on((type, obj) => {
        if (informer.source.kind === "Secret") trimSecret(obj);
        this.onEvent(typed(informer.source, obj), type === "delete");
      });
  }

  /** Lists everything once (every informer synced), reports it, then follows the watches. */
  async start(): Promise<SourceSnapshot> {
    this.running = true;
    await Promise.all(this.informers.map((i) => i.start()));
    // A kind the API server doesn't serve (CRDs missing) or RBAC denies keeps discovery from starting: say which.
    const pending = new Set(this.informers.map((i) => i.source.kind));
    const waiting = setInterval(
      () => this.options.log.warn({ kinds: [...pending] }, "waiting for the first list"),
      10_000,
    );
    try {
      await Promise.all(this.informers.map((i) => i.synced.then(() => pending.delete(i.source.kind))));
    } finally {
      clearInterval(waiting);
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    // Built once from the caches; from here on each event updates it.
    this.model = new IncrementalModel({ domainSuffix: this.options.domainSuffix });
    for (const i of this.informers)
      for (const o of i.list()) {
        const object = typed(i.source, o);
        if (!isIstioObject(object)) this.model.apply(object);
      }
    this.readmit();
    const snapshot = this.read();
    this.options.onChange(snapshot);
    return snapshot;
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    for (const informer of this.informers) informer.stop();
  }

  /** A pod the informers hold. */
  pod(namespace: string, name: string): KubernetesObject | undefined {
    return this.informers.find((i) => i.source.kind === "Pod")?.get(name, namespace);
  }

  /** The latest snapshot reported. */
  get snapshot(): SourceSnapshot | undefined {
    return this.last;
  }

  private onEvent(object: KubeObject, deleted: boolean): void {
    if (!this.model) return; // start() builds the model from the caches
    if (isIstioObject(object)) this.readmit(deleted ? objectKey(object) : undefined);
    else this.model.apply(object, deleted);
    this.schedule();
  }

  /**
   * The webhook's checks again (it fails open): an invalid object is skipped, named, and its last good version
   * stays. Run over the Istio objects (a few hundred) on each Istio event, as a DestinationRule's subsets decide
   * whether a VirtualService is admitted; only the objects whose admitted version changed reach the model.
   */
  private readmit(gone?: string): void {
    const model = this.model;
    if (!model) return;
    const listed = this.informers
      .filter((i) => i.source.apiVersion.includes("istio.io"))
      .flatMap((i) => i.list().map((o) => ({ object: this.typedOnce(i.source, o), origin: "" })))
      // A relist calls back before its cache drops the object.
      .filter((c) => gone === undefined || objectKey(c.object) !== gone);
    const result = admit(listed, this.good);
    this.good = result.good;
    this.rejected = result.rejected;
    const next = new Map(result.objects.map((o) => [objectKey(o), o]));
    for (const [key, o] of this.admitted) if (!next.has(key)) model.apply(o, true);
    for (const [key, o] of next) if (this.admitted.get(key) !== o) model.apply(o);
    this.admitted = next;
  }

  /** One typed copy per cached object, so that an unchanged object is the same object next time. */
  private readonly copies = new WeakMap<KubernetesObject, KubeObject>();
  private typedOnce(source: Kind, o: KubernetesObject): KubeObject {
    let copy = this.copies.get(o);
    if (!copy) this.copies.set(o, (copy = typed(source, o)));
    return copy;
  }

  private schedule(): void {
    if (!this.running || !this.last) return; // start() reports the first, complete, snapshot
    if (this.timer) clearTimeout(this.timer);
    const changedAt = Date.now();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.running) return;
      const rejectedText = JSON.stringify(this.rejected);
      if (this.model?.changed || rejectedText !== this.rejectedText)
        this.options.onChange(Object.assign(this.read(), { changedAt })); // not a spread: `objects` is a getter
      this.options.onEvents?.();
    }, this.options.debounceMs ?? 20);
  }

  read(): SourceSnapshot {
    const { model, warnings } = this.model?.model() ?? { model: emptyModel(), warnings: [] };
    this.rejectedText = JSON.stringify(this.rejected);
    const rejected = this.rejected;
    const informers = this.informers;
    const admitted = this.admitted;
    this.last = {
      model,
      warnings: [...rejected.map(rejectionMessage), ...warnings],
      // What is in use, made only when asked (it is every object in the cluster).
      get objects(): KubeObject[] {
        return informers.flatMap((i) =>
          // Secrets are read for their certificates only, never shown.
          (i.source.kind === "Secret" ? [] : i.list()).flatMap((o) => {
            const object = typed(i.source, o);
            if (!isIstioObject(object)) return [object];
            const used = admitted.get(objectKey(object));
            return used ? [used] : [];
          }),
        );
      },
      rejected,
    };
    return this.last;
  }
}
