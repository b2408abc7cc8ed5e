// The config model kept up to date one object at a time, for the Kubernetes source: an event recomputes only the
// Services it touches, so its cost grows with what changed, not with the cluster. Pods are indexed by namespace, by
// label and by IP once; a Service's endpoints are recomputed only when its EndpointSlices, or the Pods they or its
// selector name, change. normalise() over the same objects, in the same order, is the reference: model() always
// equals it (incremental.test.ts checks that over random event sequences). Pure: no I/O.
import { mergeDelegates } from "./delegate.js";
import { DEFAULT_DOMAIN_SUFFIX, labelsMatch } from "./config.js";
import type { ConfigModel, Named, Service, Workload } from "./config.js";
import type { Gateway, ServiceEntry, VirtualService, WorkloadEntry } from "./istio.js";
import type { KubeObject, ServiceSpec } from "./kube.js";
import {
  byHostname,
  entryServices,
  entryWorkload,
  kubeService,
  podServes,
  podWorkload,
  sliceService,
  withCreated,
  type ServiceInputs,
} from "./normalise.js";
import type { AuthorizationPolicy, RequestAuthentication } from "./security.js";
import { Index, Ordered } from "./ordered.js";
import { NodeLocalities } from "./pod-locality.js";
import { credentialOf, type Credential } from "./credentials.js";
import { kindOf, type ListKind } from "./kinds.js";
import { sameWorkload } from "./same-workload.js";

const named = <T>(o: KubeObject, ns: string): Named<T> => ({
  name: o.metadata?.name ?? "",
  namespace: ns,
  spec: (o.spec ?? {}) as T,
});

export class IncrementalModel {
  private readonly suffix: string;
  // The objects, each kind in the order first seen (an update keeps its place): the order normalise() is given.
  private readonly services = new Ordered<KubeObject>();
  private readonly slices = new Ordered<KubeObject>();
  private readonly pods = new Ordered<Workload | undefined>();
  /** Nodes' localities and the pods on each (a node's labels are its pods' locality). */
  private readonly nodes = new NodeLocalities();
  private readonly podObjects = new Map<string, KubeObject>();
  /** The pods (with an IP) that serve by their own status (podServes). */
  private readonly serving = new Set<string>();
  private readonly entries = new Ordered<Named<WorkloadEntry>>();
  private readonly serviceEntries = new Ordered<Named<ServiceEntry>>();
  private readonly lists = new Map<ListKind, Ordered<Named<unknown> | Credential>>();
  // Indexes, kept as objects come and go.
  private readonly slicesOf = new Index(); // ns/service → slice keys
  private readonly podsByIp = new Index(); // ip → pod keys
  private readonly podsByLabel = new Index(); // ns\0label\0value → pod keys
  private readonly podsByNs = new Index(); // ns → pod keys
  private readonly entriesByNs = new Index(); // ns → WorkloadEntry keys
  private readonly servicesByNs = new Index(); // ns → Service keys
  private readonly servicesBySelector = new Index(); // ns\0label\0value (the selector's first pair) → Service keys
  private readonly serviceEntriesByNs = new Index(); // ns → ServiceEntry keys
  private readonly refsByName = new Index(); // ns/pod → Services whose slices name it
  private readonly refsByIp = new Index(); // ip → Services whose slices list it
  private readonly refsOf = new Map<string, { names: string[]; ips: string[] }>();
  // Results: a Service per Service, the services per ServiceEntry, and what changed since model().
  private readonly built = new Map<string, Service>();
  private readonly builtEntries = new Map<string, { services: Service[]; warning?: string }>();
  private readonly dirtyServices = new Set<string>();
  private readonly dirtyEntries = new Set<string>();
  private dirtyWorkloads = false;
  private readonly dirtyLists = new Set<ListKind>();
  private last: ConfigModel;
  private lastWarnings: string[] = [];
  /** Roots whose delegate is missing or not exported to them (model/delegate.ts): kept with the VirtualService list. */
  private delegateWarnings: string[] = [];
  private serviceOrderChanged = false;
  /** Where each kube Service sits in the last model's list. */
  private readonly position = new Map<Service, number>();

  constructor(options: { domainSuffix?: string } = {}) {
    this.suffix = options.domainSuffix ?? DEFAULT_DOMAIN_SUFFIX;
    this.last = {
      domainSuffix: this.suffix,
      services: [],
      workloads: [],
      virtualServices: [],
      destinationRules: [],
      gateways: [],
    };
  }

  /** An object added or changed (`deleted` false), or deleted. Objects of kinds the model ignores are ignored. */
  apply(object: KubeObject, deleted = false): void {
    const kind = kindOf(object);
    const ns = object.metadata?.namespace ?? "default";
    const name = object.metadata?.name ?? "";
    if (!kind || !name) return;
    const key = `${ns}/${name}`;
    switch (kind) {
      case "Service":
        return this.service(key, ns, deleted ? undefined : object);
      case "EndpointSlice":
        return this.slice(key, ns, deleted ? undefined : object);
      case "Pod": {
        this.nodes.pod(key, deleted ? undefined : object, this.podObjects.get(key));
        if (deleted) this.podObjects.delete(key);
        else this.podObjects.set(key, object);
        const workload = deleted ? undefined : podWorkload(object, "default", this.nodes.of);
        return this.pod(key, ns, !deleted, workload, workload !== undefined && podServes(object));
      }
      case "Node":
        for (const pod of this.nodes.node(name, deleted ? undefined : object)) this.apply(pod);
        return;
      case "WorkloadEntry":
        return this.entry(key, ns, deleted ? undefined : named<WorkloadEntry>(object, ns));
      case "ServiceEntry":
        return this.serviceEntry(key, ns, deleted ? undefined : named<ServiceEntry>(object, ns));
      default: {
        const list = this.lists.get(kind) ?? new Ordered<Named<unknown> | Credential>();
        this.lists.set(kind, list);
        const credential = kind === "Secret" && !deleted ? credentialOf(object, ns) : undefined;
        if (deleted || (kind === "Secret" && !credential)) list.delete(key);
        else
          list.set(
            key,
            credential ??
              (kind === "PeerAuthentication" || kind === "Sidecar" || kind === "Telemetry" || kind === "DestinationRule"
                ? withCreated(object, ns)
                : named(object, ns)),
          );
        this.dirtyLists.add(kind);
      }
    }
  }

  /** Whether anything changed since the last model(). */
  get changed(): boolean {
    return this.dirtyServices.size > 0 || this.dirtyEntries.size > 0 || this.dirtyWorkloads || this.dirtyLists.size > 0;
  }

  /** The model as of now: a new object when anything changed (the previous one stays as it was). */
  model(): { model: ConfigModel; warnings: string[] } {
    if (!this.changed) return { model: this.last, warnings: this.lastWarnings };
    const next: ConfigModel = { ...this.last };
    const replaced: [Service | undefined, Service | undefined][] = [];
    for (const key of this.dirtyServices) replaced.push([this.built.get(key), this.rebuildService(key)]);
    for (const key of this.dirtyEntries) this.rebuildEntry(key);
    this.dirtyServices.clear();
    this.dirtyEntries.clear();
    if (this.serviceOrderChanged) next.services = this.serviceList();
    else if (replaced.length) {
      // The same services in the same order, some recomputed: swap those in place.
      next.services = this.last.services.slice();
      for (const [old, now] of replaced) {
        if (!old && !now) continue; // came and went between two models
        const at = old && now ? this.position.get(old) : undefined;
        if (at === undefined || !now) throw new Error("incremental model: a service changed without a place");
        next.services[at] = now;
        this.position.delete(old as Service);
        this.position.set(now, at);
      }
    }
    if (this.dirtyWorkloads) {
      next.workloads = [
        ...this.pods.values().filter((w): w is Workload => w !== undefined),
        ...this.entries.values().flatMap((w) => entryWorkload(w) ?? []),
      ];
      this.dirtyWorkloads = false;
    }
    for (const kind of this.dirtyLists) {
      const list = this.lists.get(kind)?.values() ?? [];
      if (kind === "AuthorizationPolicy") {
        if (list.length) next.authorizationPolicies = list as Named<AuthorizationPolicy>[];
        else delete next.authorizationPolicies;
      } else if (kind === "RequestAuthentication") {
        if (list.length) next.requestAuthentications = list as Named<RequestAuthentication>[];
        else delete next.requestAuthentications;
      } else if (kind === "PeerAuthentication") {
        if (list.length) next.peerAuthentications = list as NonNullable<ConfigModel["peerAuthentications"]>;
        else delete next.peerAuthentications;
      } else if (kind === "Sidecar") {
        if (list.length) next.sidecars = list as NonNullable<ConfigModel["sidecars"]>;
        else delete next.sidecars;
      } else if (kind === "Telemetry") {
        if (list.length) next.telemetries = list as NonNullable<ConfigModel["telemetries"]>;
        else delete next.telemetries;
      } else if (kind === "Secret") {
        if (list.length) next.credentials = list as Credential[];
        else delete next.credentials;
      } else if (kind === "VirtualService") {
        const warnings: string[] = [];
        next.virtualServices = mergeDelegates(list as Named<VirtualService>[], (w) => warnings.push(w));
        this.delegateWarnings = warnings;
      } else if (kind === "DestinationRule") next.destinationRules = list as ConfigModel["destinationRules"];
      else next.gateways = list as Named<Gateway>[];
    }
    this.dirtyLists.clear();
    this.last = next;
    this.lastWarnings = [
      ...this.serviceEntries.keys().flatMap((k) => this.builtEntries.get(k)?.warning ?? []),
      ...this.delegateWarnings,
    ];
    return { model: next, warnings: this.lastWarnings };
  }

  private service(key: string, ns: string, object: KubeObject | undefined): void {
    const before = this.services.get(key);
    if (before) this.servicesBySelector.remove(selectorKey(ns, before), key);
    if (object) {
      this.services.set(key, object);
      this.servicesByNs.add(ns, key);
      this.servicesBySelector.add(selectorKey(ns, object), key);
    } else {
      this.services.delete(key);
      this.servicesByNs.remove(ns, key);
    }
    this.dirtyServices.add(key);
  }

  private slice(key: string, ns: string, object: KubeObject | undefined): void {
    const before = this.slices.get(key);
    const was = before && sliceService(before);
    if (was !== undefined) this.slicesOf.remove(`${ns}/${was}`, key);
    if (object) this.slices.set(key, object);
    else this.slices.delete(key);
    const now = object && sliceService(object);
    if (now !== undefined) this.slicesOf.add(`${ns}/${now}`, key);
    if (was !== undefined) this.dirtyServices.add(`${ns}/${was}`);
    if (now !== undefined) this.dirtyServices.add(`${ns}/${now}`);
  }

  /** A pod without an IP is held (undefined) so that it keeps its place in the model's order once it has one. */
  private pod(key: string, ns: string, present: boolean, workload: Workload | undefined, serves: boolean): void {
    const had = this.pods.has(key);
    const before = this.pods.get(key);
    if (present) this.pods.set(key, workload);
    else this.pods.delete(key);
    if (serves !== this.serving.has(key)) {
      if (serves) this.serving.add(key);
      else this.serving.delete(key);
      // Only the Services whose slices name it read this (a not-ready endpoint of theirs stays while it serves).
      for (const svc of this.refsByName.get(key)) this.dirtyServices.add(svc);
    }
    if (had === present && sameWorkload(before, workload)) return; // a status change: nothing else derived changes
    if (before) this.unindexPod(key, ns, before);
    if (workload) this.indexPod(key, ns, workload);
    if (sameWorkload(before, workload)) return; // came or went without an IP
    this.dirtyWorkloads = true;
    // The Services whose slices name the pod (by name, or by either address), and those whose selector selects it.
    for (const svc of this.refsByName.get(key)) this.dirtyServices.add(svc);
    for (const ip of [before?.address, workload?.address])
      if (ip) for (const svc of this.refsByIp.get(ip)) this.dirtyServices.add(svc);
    this.selectorsIn(ns, [before?.labels, workload?.labels]);
  }

  private indexPod(key: string, ns: string, w: Workload): void {
    this.podsByIp.add(w.address, key);
    this.podsByNs.add(ns, key);
    for (const [k, v] of Object.entries(w.labels)) this.podsByLabel.add(`${ns}\0${k}\0${v}`, key);
  }

  private unindexPod(key: string, ns: string, w: Workload): void {
    this.podsByIp.remove(w.address, key);
    this.podsByNs.remove(ns, key);
    for (const [k, v] of Object.entries(w.labels)) this.podsByLabel.remove(`${ns}\0${k}\0${v}`, key);
  }

  /** Marks the Services and ServiceEntries in `ns` whose selector matches any of the label sets. */
  private selectorsIn(ns: string, labelSets: (Record<string, string> | undefined)[]): void {
    const sets = labelSets.filter((l): l is Record<string, string> => l !== undefined);
    // A selector selects only pods that carry its first pair: look at those Services, and those selecting all.
    const candidates = new Set(this.servicesBySelector.get(`${ns}\0`));
    for (const l of sets)
      for (const [k, v] of Object.entries(l))
        for (const svc of this.servicesBySelector.get(`${ns}\0${k}\0${v}`)) candidates.add(svc);
    for (const svc of candidates) {
      const selector = (this.services.get(svc)?.spec as ServiceSpec | undefined)?.selector;
      if (selector && sets.some((l) => labelsMatch(selector, l))) this.dirtyServices.add(svc);
    }
    for (const se of this.serviceEntriesByNs.get(ns)) {
      const selector = this.serviceEntries.get(se)?.spec.workloadSelector?.labels;
      if (selector && sets.some((l) => labelsMatch(selector, l))) this.dirtyEntries.add(se);
    }
  }

  private entry(key: string, ns: string, entry: Named<WorkloadEntry> | undefined): void {
    const before = this.entries.get(key);
    if (entry) {
      this.entries.set(key, entry);
      this.entriesByNs.add(ns, key);
    } else {
      this.entries.delete(key);
      this.entriesByNs.remove(ns, key);
    }
    this.dirtyWorkloads = true;
    for (const se of this.serviceEntriesByNs.get(ns)) {
      const selector = this.serviceEntries.get(se)?.spec.workloadSelector?.labels;
      if (selector && [before, entry].some((w) => w && labelsMatch(selector, w.spec.labels ?? {})))
        this.dirtyEntries.add(se);
    }
  }

  private serviceEntry(key: string, ns: string, se: Named<ServiceEntry> | undefined): void {
    if (se) {
      this.serviceEntries.set(key, se);
      this.serviceEntriesByNs.add(ns, key);
    } else {
      this.serviceEntries.delete(key);
      this.serviceEntriesByNs.remove(ns, key);
    }
    this.dirtyEntries.add(key);
  }

  /** Recomputes one Service: the new one, undefined when it is gone. */
  private rebuildService(key: string): Service | undefined {
    const svc = this.services.get(key);
    const old = this.built.get(key);
    this.unref(key);
    if (!svc) {
      this.built.delete(key);
      this.serviceOrderChanged ||= old !== undefined;
      return undefined;
    }
    const ns = svc.metadata?.namespace ?? "default";
    const selector = (svc.spec as ServiceSpec | undefined)?.selector;
    const refs = { names: [] as string[], ips: [] as string[] };
    const inputs: ServiceInputs = {
      slices: this.slices.inOrder(this.slicesOf.get(key)),
      podNamed: (pod) => {
        refs.names.push(`${ns}/${pod}`);
        return this.pods.get(`${ns}/${pod}`);
      },
      podServes: (pod) => {
        refs.names.push(`${ns}/${pod}`);
        return this.serving.has(`${ns}/${pod}`);
      },
      podAt: (ip) => {
        refs.ips.push(ip);
        const keys = this.podsByIp.get(ip);
        const found = this.pods.inOrder(keys);
        return found[found.length - 1];
      },
      selected: () => this.selected(ns, selector),
    };
    const next = kubeService(svc, inputs, this.suffix);
    this.refsOf.set(key, refs);
    for (const n of refs.names) this.refsByName.add(n, key);
    for (const ip of refs.ips) this.refsByIp.add(ip, key);
    this.built.set(key, next);
    if (!old) this.serviceOrderChanged = true;
    return next;
  }

  private unref(key: string): void {
    const refs = this.refsOf.get(key);
    if (!refs) return;
    for (const n of refs.names) this.refsByName.remove(n, key);
    for (const ip of refs.ips) this.refsByIp.remove(ip, key);
    this.refsOf.delete(key);
  }

  /** Pods with an IP in `ns` that `selector` selects, in the model's order; through the label index. */
  private selected(ns: string, selector: Record<string, string> | undefined): Workload[] {
    const first = Object.entries(selector ?? {})[0];
    const keys = first ? this.podsByLabel.get(`${ns}\0${first[0]}\0${first[1]}`) : this.podsByNs.get(ns);
    return this.pods.inOrder(keys).filter((w): w is Workload => w !== undefined && labelsMatch(selector, w.labels));
  }

  private rebuildEntry(key: string): void {
    const se = this.serviceEntries.get(key);
    this.serviceOrderChanged = true; // its hosts may have changed: the list is sorted again
    if (!se) {
      this.builtEntries.delete(key);
      return;
    }
    const selector = se.spec.workloadSelector?.labels;
    const entries = selector
      ? this.entries
          .inOrder(this.entriesByNs.get(se.namespace))
          .filter((w) => labelsMatch(selector, w.spec.labels ?? {}))
      : [];
    const pods = selector ? this.selected(se.namespace, selector) : [];
    const warnings: string[] = [];
    const services = entryServices(se, entries, pods, warnings);
    this.builtEntries.set(key, { services, warning: warnings[0] });
  }

  /** Kubernetes Services, then ServiceEntries' services, each in the model's order, sorted by hostname. */
  private serviceList(): Service[] {
    this.serviceOrderChanged = false;
    const kube = this.services.keys().flatMap((k) => this.built.get(k) ?? []);
    const entries = this.serviceEntries.keys().flatMap((k) => this.builtEntries.get(k)?.services ?? []);
    const list = [...kube, ...entries].sort(byHostname);
    this.position.clear();
    list.forEach((s, i) => this.position.set(s, i));
    return list;
  }
}

/** Where a Service sits in servicesBySelector: its selector's first pair, `ns\0` for a selector of no pairs. */
function selectorKey(ns: string, svc: KubeObject): string {
  const first = Object.entries((svc.spec as ServiceSpec | undefined)?.selector ?? {})[0];
  return first ? `${ns}\0${first[0]}\0${first[1]}` : `${ns}\0`;
}
