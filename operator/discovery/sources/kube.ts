// The Kubernetes source: informers over Services, EndpointSlices, Pods, Namespaces, the Istio networking kinds and AuthorizationPolicy,
// folded by the same normalise() as the directory source, so translate never knows where config came from.
// Every change, debounced, yields a fresh snapshot of everything the informers hold.
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { Informer } from "../../runtime/informer.js";
import type { InformerSource } from "../../runtime/informer.js";
import type { KubeObject } from "../model/kube.js";
import { normalise } from "../model/normalise.js";
import { admit, rejectionMessage } from "./admission.js";
import type { DirSnapshot as SourceSnapshot } from "./dir.js";

export interface KubeSourceOptions {
  kc: KubeConfig;
  log: Logger;
  /** Watch only this namespace (Namespaces themselves are cluster-scoped); all namespaces when unset. */
  namespace?: string;
  debounceMs?: number;
  domainSuffix?: string;
  onChange(snapshot: SourceSnapshot): void;
}

type Kind = Omit<InformerSource, "namespace">;

/** What discovery watches. The Istio kinds are read at v1, which the CRDs in crds/ serve. */
export const WATCHED: readonly (Kind & { clusterScoped?: boolean })[] = [
  { apiVersion: "v1", kind: "Service", plural: "services" },
  { apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", plural: "endpointslices" },
  { apiVersion: "v1", kind: "Pod", plural: "pods" },
  { apiVersion: "v1", kind: "Namespace", plural: "namespaces", clusterScoped: true },
  ...[
    ["VirtualService", "virtualservices"],
    ["DestinationRule", "destinationrules"],
    ["Gateway", "gateways"],
    ["ServiceEntry", "serviceentries"],
    ["WorkloadEntry", "workloadentries"],
  ].map(([kind = "", plural = ""]) => ({ apiVersion: "networking.istio.io/v1", kind, plural })),
  { apiVersion: "security.istio.io/v1", kind: "AuthorizationPolicy", plural: "authorizationpolicies" },
  { apiVersion: "security.istio.io/v1", kind: "PeerAuthentication", plural: "peerauthentications" },
];

/** A listed object with its apiVersion and kind filled in (list items come without them). Pure. */
export function typed(source: Kind, obj: KubernetesObject): KubeObject {
  return { ...(obj as KubeObject), apiVersion: source.apiVersion, kind: source.kind };
}

export class KubeSource {
  private readonly informers: Informer<KubernetesObject>[];
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private last: SourceSnapshot | undefined;
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
    for (const informer of this.informers) informer.on(() => this.schedule());
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

  private schedule(): void {
    if (!this.running || !this.last) return; // start() reports the first, complete, snapshot
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.running) this.options.onChange(this.read());
    }, this.options.debounceMs ?? 20);
  }

  read(): SourceSnapshot {
    const listed = this.informers.flatMap((i) => i.list().map((o) => ({ object: typed(i.source, o), origin: "" })));
    // The webhook's checks again (it fails open): an invalid object is skipped, named, and its last good version stays.
    const admitted = admit(listed, this.good);
    this.good = admitted.good;
    const result = normalise(admitted.objects, { domainSuffix: this.options.domainSuffix });
    const warnings = [...admitted.rejected.map(rejectionMessage), ...result.warnings];
    this.last = { model: result.model, warnings, objects: admitted.objects, rejected: admitted.rejected };
    return this.last;
  }
}
