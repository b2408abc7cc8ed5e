// Snapshots per proxy from the current config model: one translate per proxy class per generation, shared.
import type { ConfigModel, Named, Service } from "../model/config.js";
import { serviceAssignments } from "../translate/clusters.js";
import { serviceSpiffeIds } from "../translate/mtls.js";
import { TYPE, prune } from "../../../proxy/xds/types.js";
import { emptyModel } from "../model/config.js";
import type { ProxyIdentity } from "../translate/index.js";
import { proxyClassKey, scopeOf, translate, unmatchedHosts } from "../translate/index.js";
import { sidecarWarnings } from "../translate/scope.js";
import { findWorkload } from "../translate/proxy.js";
import { TranslateMemo, sameButEndpoints } from "../translate/memo.js";
import { validateDestinationRule, validateVirtualService } from "../validate/index.js";
import { gatewaySubnetWarnings } from "../validate/gateway-subnets.js";
import { mappedRangeWarnings } from "../validate/mapped-ranges.js";
import type { Snapshot } from "./snapshot.js";
import { EncodeCache, buildSnapshot, ruleWarnings, withAssignments } from "./snapshot.js";

export class SnapshotGenerator {
  constructor(private readonly opts: { credentialsOverPlaintext?: boolean } = {}) {}
  private model: ConfigModel = emptyModel();
  private generation = 0;
  private memo = new Map<string, Snapshot | Error>();
  /** The previous generation's snapshots, when this one changed only these services' endpoints. */
  private carried:
    | {
        memo: Map<string, Snapshot | Error>;
        services: Service[];
        /** The previous model, and the addresses the changed services had or have endpoints at. */
        from: ConfigModel;
        addresses: Set<string>;
      }
    | undefined;
  private readonly cache = new EncodeCache();
  /** Per-object translations, reused while their inputs are the same objects: shared by every proxy class. */
  private readonly translations = new TranslateMemo();
  private readonly classKeys = new WeakMap<
    ProxyIdentity,
    { model: ConfigModel; names: string; key: string; address: string }
  >();
  /** Warnings of the latest translations, by proxy class, for logs and /debug/syncz. */
  readonly warnings = new Set<string>();
  private failed = new Map<string, string>();
  /** modelWarnings() of the current model: an endpoints-only change keeps them (they read no endpoints). */
  private configWarnings: string[] = [];

  /** Installs a new config; returns its version. */
  setModel(model: ConfigModel): string {
    const services = endpointChanges(this.model, model);
    this.carried = services
      ? { memo: this.memo, services, from: this.model, addresses: endpointAddresses(this.model, model) }
      : undefined;
    this.model = model;
    this.generation++;
    this.memo = new Map();
    this.warnings.clear();
    this.failed = new Map();
    if (!services) this.configWarnings = modelWarnings(model);
    for (const w of this.configWarnings) this.warnings.add(w);
    return this.version;
  }

  get version(): string {
    return String(this.generation);
  }

  get current(): ConfigModel {
    return this.model;
  }

  /**
   * The snapshot for a proxy. An object that breaks translation is skipped and named in the warnings, and the
   * rest is served (isolate()). Throws only when the config fails without any Istio object: then the caller keeps
   * the previous snapshot, and failures() says so.
   */
  snapshotFor(proxy: ProxyIdentity, listenerNames: string[]): Snapshot {
    const options = { listenerNames, credentialsOverPlaintext: this.opts.credentialsOverPlaintext };
    const key = this.classKey(proxy, options);
    let snapshot = this.memo.get(key);
    if (!snapshot) snapshot = this.patched(key, proxy);
    if (!snapshot) {
      const build = (model: ConfigModel, memo?: TranslateMemo): Snapshot =>
        buildSnapshot(this.version, translate(model, proxy, { ...options, memo }), this.cache);
      try {
        snapshot = build(this.model, this.translations);
      } catch (err) {
        snapshot = this.isolate(build, proxy, err);
      }
      if (!(snapshot instanceof Error)) for (const w of snapshot.warnings) this.warnings.add(w);
      // Remembered either way: a thousand proxies of one class don't each pay for the same failure.
      this.memo.set(key, snapshot);
    }
    if (snapshot instanceof Error) throw snapshot;
    return snapshot;
  }

  /**
   * The proxy's class in this model: computed once per proxy and model (every push asks), and carried over an
   * endpoints-only change that touched no endpoint at the proxy's address (its workload, its inbound ports and
   * everything else the key reads are then the same).
   */
  private classKey(proxy: ProxyIdentity, options: { listenerNames: string[] }): string {
    const names = options.listenerNames.join("\n");
    const known = this.classKeys.get(proxy);
    if (known && known.names === names) {
      if (known.model === this.model) return known.key;
      if (sameClassInputs(known.model, this.model)) {
        known.model = this.model; // a VirtualService, DestinationRule or policy changed: no proxy's class did
        return known.key;
      }
      const c = this.carried;
      if (
        c &&
        known.model === c.from &&
        c.from.workloads === this.model.workloads &&
        !c.addresses.has(proxy.ip) &&
        !c.addresses.has(known.address)
      ) {
        known.model = this.model;
        return known.key;
      }
    }
    const key = proxyClassKey(this.model, proxy, options);
    const address = findWorkload(this.model, proxy)?.address ?? proxy.ip;
    this.classKeys.set(proxy, { model: this.model, names, key, address });
    return key;
  }

  /** The previous generation's snapshot of this class with the changed services' endpoints: EDS-only pushes. */
  private patched(key: string, proxy: ProxyIdentity): Snapshot | undefined {
    const prev = this.carried?.memo.get(key);
    if (!prev || prev instanceof Error || !this.carried) return undefined;
    // Only the changed services the proxy sees: an endpoints-only change keeps every scope as it was.
    const scope = scopeOf(this.model, proxy);
    const entries = this.carried.services.flatMap((s) =>
      !scope.has(s)
        ? []
        : serviceAssignments(this.model, s, proxy).map((cla) => this.cache.entry(TYPE.endpoint, prune(cla))),
    );
    const snapshot = withAssignments(prev, this.version, entries);
    if (snapshot) {
      for (const w of snapshot.warnings) this.warnings.add(w);
      this.memo.set(key, snapshot);
    }
    return snapshot;
  }

  /** Finds the Istio objects that fail on their own, and builds without them; an Error if that still fails. */
  private isolate(build: (m: ConfigModel) => Snapshot, proxy: ProxyIdentity, first: unknown): Snapshot | Error {
    const culprits = new Set<object>();
    for (const [kind, list] of istioObjects(this.model)) {
      for (const o of list) {
        try {
          build(only(this.model, o));
        } catch (err) {
          culprits.add(o);
          this.warnings.add(
            `${kind}/${o.namespace}/${o.name}: skipped for ${proxy.kind} proxies in ${proxy.namespace}: ${(err as Error).message}`,
          );
        }
      }
    }
    try {
      if (!culprits.size) throw first;
      return build(without(this.model, culprits));
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      const message = `snapshot for ${proxy.kind} proxies in ${proxy.namespace}: ${error.message}`;
      this.warnings.add(message);
      this.failed.set(`${proxy.kind}/${proxy.namespace}`, message);
      return error;
    }
  }

  /** Proxy classes whose snapshot of this generation failed as a whole: they keep their previous config. */
  failures(): string[] {
    return [...this.failed.values()].sort();
  }

  /**
   * Checks this generation's snapshots against Envoy's field rules (each resource once, when first seen) and returns
   * the new warnings. Called a while after a push: checking the resources of 200 proxies that connected since the
   * last push takes 100–200 ms, which would hold the push's bytes. It yields to the event loop every `sliceMs`, so
   * requests and pushes go on while it runs.
   */
  async checkRules(sliceMs = 5): Promise<string[]> {
    const fresh: string[] = [];
    let start = performance.now();
    for (const s of [...this.memo.values()]) {
      if (s instanceof Error) continue;
      for (const w of ruleWarnings(s)) {
        if (!this.warnings.has(w)) fresh.push(w);
        this.warnings.add(w);
      }
      if (performance.now() - start > sliceMs) {
        await new Promise((resolve) => setImmediate(resolve));
        start = performance.now();
      }
    }
    return fresh;
  }
}

type IstioLists = Pick<ConfigModel, "virtualServices" | "destinationRules" | "gateways">;
const ISTIO_LISTS: [string, keyof IstioLists][] = [
  ["VirtualService", "virtualServices"],
  ["DestinationRule", "destinationRules"],
  ["Gateway", "gateways"],
];

function istioObjects(model: ConfigModel): [string, Named<unknown>[]][] {
  return ISTIO_LISTS.map(([kind, list]) => [kind, model[list] as Named<unknown>[]]);
}

/** The model with one Istio object, the Kubernetes and ServiceEntry services all kept. */
function only(model: ConfigModel, keep: object): ConfigModel {
  const out = { ...model };
  for (const [, list] of ISTIO_LISTS) (out[list] as object[]) = (model[list] as object[]).filter((o) => o === keep);
  return out;
}

function without(model: ConfigModel, drop: Set<object>): ConfigModel {
  const out = { ...model };
  for (const [, list] of ISTIO_LISTS) (out[list] as object[]) = (model[list] as object[]).filter((o) => !drop.has(o));
  return out;
}

/**
 * Whether two models agree on all that proxyClassKey reads: the workloads (labels, the proxy's own), the services
 * (inbound ports), the Sidecars and the mesh config (scope). Models share these lists while they don't change.
 */
function sameClassInputs(a: ConfigModel, b: ConfigModel): boolean {
  return (
    a.workloads === b.workloads &&
    a.services === b.services &&
    a.sidecars === b.sidecars &&
    a.mesh === b.mesh &&
    a.domainSuffix === b.domainSuffix
  );
}

/** Every address the services that changed from `a` to `b` have endpoints at, before or after. */
function endpointAddresses(a: ConfigModel, b: ConfigModel): Set<string> {
  const out = new Set<string>();
  a.services.forEach((x, i) => {
    const y = b.services[i];
    if (x === y) return;
    for (const e of x.endpoints) out.add(e.address);
    for (const e of y?.endpoints ?? []) out.add(e.address);
  });
  return out;
}

/** What is wrong with the config as a whole: invalid objects (a proxy would NACK them) and unknown hosts. */
export function modelWarnings(model: ConfigModel): string[] {
  const out: string[] = [];
  const ctx = { destinationRules: model.destinationRules, domainSuffix: model.domainSuffix };
  // Per object, and never throwing: a warning must not stop the push.
  const each = <T>(kind: string, list: Named<T>[], check: (o: Named<T>) => string[]): void => {
    for (const o of list) {
      try {
        for (const e of check(o)) out.push(`${kind}/${o.namespace}/${o.name}: ${e}`);
      } catch (err) {
        out.push(`${kind}/${o.namespace}/${o.name}: cannot be validated: ${(err as Error).message}`);
      }
    }
  };
  each("VirtualService", model.virtualServices, (vs) => validateVirtualService(vs, ctx));
  each("VirtualService", model.virtualServices, (vs) => gatewaySubnetWarnings(vs.spec));
  each("VirtualService", model.virtualServices, (vs) => mappedRangeWarnings("VirtualService", vs.spec));
  each("AuthorizationPolicy", model.authorizationPolicies ?? [], (p) =>
    mappedRangeWarnings("AuthorizationPolicy", p.spec),
  );
  each("DestinationRule", model.destinationRules, (dr) => validateDestinationRule(dr));
  return [...out, ...unmatchedHosts(model), ...sidecarWarnings(model)];
}

/**
 * The services whose endpoints alone changed from `a` to `b`, when nothing else did (every other part of the model
 * but the workloads the same object, the services the same but for endpoints, which only EDS clusters carry, and
 * their endpoints' identities the same); else undefined.
 */
export function endpointChanges(a: ConfigModel, b: ConfigModel): Service[] | undefined {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as (keyof ConfigModel)[]);
  // Workloads only matter to translate through a proxy's class key (its labels and inbound ports), which the
  // memo is keyed by: a proxy whose own workload changed is translated anew.
  for (const k of keys) if (k !== "services" && k !== "workloads" && a[k] !== b[k]) return undefined;
  if (a.services.length !== b.services.length) return undefined;
  const changed: Service[] = [];
  for (let i = 0; i < a.services.length; i++) {
    const x = a.services[i] as Service;
    const y = b.services[i] as Service;
    if (x === y) continue;
    if (x.resolution !== "STATIC" || !sameButEndpoints(x, y)) return undefined;
    // The clusters' ISTIO_MUTUAL SANs are the endpoints' identities: new ones change CDS, not only EDS.
    const td = b.mesh?.trustDomain ?? "cluster.local";
    if (serviceSpiffeIds(x, td).join() !== serviceSpiffeIds(y, td).join()) return undefined;
    changed.push(y);
  }
  return changed;
}
