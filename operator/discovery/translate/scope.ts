// What a proxy sees, as istiod's SidecarScope decides it (pilot/pkg/model/sidecar.go): the services and
// VirtualServices exported to its namespace (`exportTo`), and for a sidecar, of those, only what the Sidecar that
// applies to it imports through its egress hosts (`namespace/dnsName`), plus the destinations of the imported
// VirtualServices. Pure; computed once per model, namespace and Sidecar, from per-object decisions kept across models.
import type { ConfigModel, Named, OutboundTrafficMode, Service } from "../model/config.js";
import { labelsMatch } from "../model/config.js";
import type { Sidecar, VirtualService } from "../model/istio.js";
import { DEFAULT_ROOT_NAMESPACE } from "../model/security.js";
import { fqdn, servicesForHost } from "./hosts.js";

/** Whether an object in `owner` with this `exportTo` is visible in `namespace`. Unset or empty: everywhere. */
export function visibleIn(exportTo: readonly string[] | undefined, owner: string, namespace: string): boolean {
  if (!exportTo?.length) return true;
  return exportTo.some((e) => e === "*" || e === namespace || (e === "." && owner === namespace));
}

/** Istio's host.Name SubsetOf: every name `host` stands for is one `pattern` stands for (`*`, `*.x` wildcards). */
export function hostSubsetOf(host: string, pattern: string): boolean {
  if (pattern.startsWith("*")) {
    const suffix = pattern.slice(1);
    return host.startsWith("*") ? host.slice(1).endsWith(suffix) : host.endsWith(suffix);
  }
  return host === pattern;
}

/** Istio's host.Name Matches: the two overlap (one is a subset of the other). */
export const hostsOverlap = (a: string, b: string): boolean => hostSubsetOf(a, b) || hostSubsetOf(b, a);

interface Imported {
  hosts: string[];
  /** `~ns/host`: hosts of that namespace (in any namespace for `~/` and the `~*` prefix) never imported. */
  excluded: string[];
}

/** An egress host `[~]namespace/dnsName` split; undefined when it has no single `/`. */
export function parseEgressHost(host: string): { namespace: string; dnsName: string; excluded: boolean } | undefined {
  const slash = host.indexOf("/");
  if (slash < 0 || host.indexOf("/", slash + 1) >= 0) return undefined;
  let namespace = host.slice(0, slash);
  const excluded = namespace.startsWith("~");
  if (excluded) namespace = namespace.slice(1) || "*";
  return { namespace, dnsName: host.slice(slash + 1), excluded };
}

/**
 * The egress hosts by namespace (`*` for any); `./` is the proxy's namespace, whichever namespace the Sidecar is in. A
 * Sidecar without egress imports every host of every namespace, as Istio's (one may set only an outboundTrafficPolicy).
 */
export function egressImports(sidecar: Sidecar, proxyNamespace: string): Map<string, Imported> {
  const out = new Map<string, Imported>();
  const listeners = sidecar.egress?.length ? sidecar.egress : [{ hosts: ["*/*"] }];
  for (const listener of listeners) {
    for (const h of listener.hosts ?? []) {
      const parsed = parseEgressHost(h);
      if (!parsed) continue; // validation refuses it
      const ns = parsed.namespace === "." ? proxyNamespace : parsed.namespace;
      let entry = out.get(ns);
      if (!entry) out.set(ns, (entry = { hosts: [], excluded: [] }));
      (parsed.excluded ? entry.excluded : entry.hosts).push(parsed.dnsName);
    }
  }
  return out;
}

/** Whether the imports take `host` (of an object in `namespace`): `overlap` for VirtualService hosts, as Istio has it. */
function imports(all: Map<string, Imported>, namespace: string, host: string, overlap: boolean): boolean {
  const match = overlap ? hostsOverlap : hostSubsetOf;
  const own = all.get(namespace);
  const any = all.get("*");
  if (own?.excluded.some((e) => hostSubsetOf(host, e)) || any?.excluded.some((e) => hostSubsetOf(host, e)))
    return false;
  return !!(own?.hosts.some((h) => match(host, h)) || any?.hosts.some((h) => match(host, h)));
}

type Dated = Named<Sidecar> & { created?: string };
const hasSelector = (s: Sidecar): boolean => Object.keys(s.workloadSelector?.labels ?? {}).length > 0;
/** Oldest first (creation time, then name), as Istio breaks ties; objects without a time (local files) keep their order. */
export const byAge = <T extends { created?: string }>(list: readonly T[]): T[] =>
  list
    .map((s, i) => ({ s, i }))
    .sort((a, b) => (a.s.created ?? "").localeCompare(b.s.created ?? "") || a.i - b.i)
    .map(({ s }) => s);

/**
 * The Sidecar that applies to a workload: one in its namespace whose workloadSelector matches its labels, else its
 * namespace's Sidecar without a selector, else the root namespace's Sidecar without a selector; the oldest of a tie.
 */
export function sidecarFor(model: ConfigModel, namespace: string, labels: Record<string, string>): Dated | undefined {
  if (!model.sidecars?.length) return undefined;
  const byNamespace = sidecarsByNamespace(model);
  const own = byNamespace.get(namespace) ?? [];
  const root = byNamespace.get(model.mesh?.rootNamespace ?? DEFAULT_ROOT_NAMESPACE) ?? [];
  return (
    own.find((s) => hasSelector(s.spec) && labelsMatch(s.spec.workloadSelector?.labels, labels)) ??
    own.find((s) => !hasSelector(s.spec)) ??
    root.find((s) => !hasSelector(s.spec))
  );
}

// Every proxy asks which Sidecar applies to it: the Sidecars are grouped by namespace, oldest first, once per model.
const grouped = new WeakMap<ConfigModel, Map<string, Dated[]>>();

function sidecarsByNamespace(model: ConfigModel): Map<string, Dated[]> {
  let out = grouped.get(model);
  if (!out) {
    out = new Map();
    for (const s of byAge(model.sidecars ?? [])) {
      const list = out.get(s.namespace);
      if (list) list.push(s);
      else out.set(s.namespace, [s]);
    }
    grouped.set(model, out);
  }
  return out;
}

/** Namespaces with more than one Sidecar without a workloadSelector: Istio applies the oldest and says so. */
export function sidecarWarnings(model: ConfigModel): string[] {
  const first = new Map<string, Dated>();
  const out: string[] = [];
  for (const s of byAge(model.sidecars ?? [])) {
    if (hasSelector(s.spec)) continue;
    const winner = first.get(s.namespace);
    if (!winner) first.set(s.namespace, s);
    else
      out.push(
        `Sidecar/${s.namespace}/${s.name}: ignored: namespace ${s.namespace} has more than one Sidecar without a workloadSelector, and the oldest (${winner.name}) applies`,
      );
  }
  return out;
}

export interface Scope {
  /** Which Sidecar decides it ("" none): part of the proxy class key. */
  key: string;
  /** The services the proxy gets clusters and routes for, in the model's order. */
  services: Service[];
  /** Whether the proxy sees a service (one of `services`). */
  has(service: Service): boolean;
  /** Whether a VirtualService applies to the proxy's traffic. */
  virtualService(vs: Named<VirtualService>): boolean;
  /** The Sidecar's outboundTrafficPolicy.mode, over the mesh's. */
  outboundTrafficPolicy?: OutboundTrafficMode;
}

const scopes = new WeakMap<ConfigModel, Map<string, Scope>>();

/** The scope of a proxy in `namespace` with these workload labels; gateways (`router`) aren't scoped by Sidecars. */
export function proxyScope(
  model: ConfigModel,
  kind: "sidecar" | "router",
  namespace: string,
  labels: Record<string, string>,
): Scope {
  const sidecar = kind === "sidecar" ? sidecarFor(model, namespace, labels) : undefined;
  const key = sidecar ? `${sidecar.namespace}/${sidecar.name}` : "";
  let byKey = scopes.get(model);
  if (!byKey) scopes.set(model, (byKey = new Map()));
  const cacheKey = `${namespace}\0${key}`;
  let scope = byKey.get(cacheKey);
  if (!scope) byKey.set(cacheKey, (scope = computeScope(model, namespace, key, sidecar?.spec)));
  return scope;
}

/** One service per hostname: the proxy's namespace's, else the first (a proxy can't have two clusters of a name). */
function chooseByHostname(services: Service[], namespace: string): Map<string, Service> {
  const chosen = new Map<string, Service>();
  for (const s of services) {
    const had = chosen.get(s.hostname);
    if (!had || (had.namespace !== namespace && s.namespace === namespace)) chosen.set(s.hostname, s);
  }
  return chosen;
}

/** `services` less those whose hostname another one has (chooseByHostname), in order; the same list when none. */
function onePerHostname(services: Service[], namespace: string): Service[] {
  const chosen = chooseByHostname(services, namespace);
  if (chosen.size === services.length) return services;
  const picked = new Set(chosen.values());
  return services.filter((s) => picked.has(s));
}

function computeScope(model: ConfigModel, namespace: string, key: string, sidecar: Sidecar | undefined): Scope {
  const visible = model.services.some((s) => s.exportTo)
    ? model.services.filter((s) => visibleIn(s.exportTo, s.namespace, namespace))
    : model.services;
  const exported = (vs: Named<VirtualService>): boolean => visibleIn(vs.spec.exportTo, vs.namespace, namespace);
  if (!sidecar) {
    const services = onePerHostname(visible, namespace);
    return { key, services, has: membership(services), virtualService: exported };
  }
  const decided = decisions(sidecar, namespace, model.domainSuffix);
  const { egress } = decided;
  const importedVs = new Set<Named<VirtualService>>();
  for (const { vs, hosts } of virtualServiceHosts(model)) {
    if (!exported(vs)) continue;
    let imported = decided.virtualServices.get(vs);
    if (imported === undefined)
      decided.virtualServices.set(vs, (imported = hosts.some((h) => imports(egress, vs.namespace, h, true))));
    if (imported) importedVs.add(vs);
  }
  const chosen = chooseByHostname(
    visible.filter((s) => {
      let imported = decided.services.get(s);
      if (imported === undefined) decided.services.set(s, (imported = imports(egress, s.namespace, s.hostname, false)));
      return imported;
    }),
    namespace,
  );
  // What an imported VirtualService routes to comes along, without displacing a service the hosts chose.
  const isVisible = visible === model.services ? undefined : new Set(visible);
  for (const vs of importedVs) {
    for (const host of destinationHosts(vs.spec)) {
      const found = servicesForHost(model, host, vs.namespace).filter((s) => !isVisible || isVisible.has(s));
      const pick = found.find((s) => s.namespace === namespace) ?? found[0];
      if (pick && !chosen.has(pick.hostname)) chosen.set(pick.hostname, pick);
    }
  }
  const picked = new Set(chosen.values());
  const services = model.services.filter((s) => picked.has(s));
  return {
    key,
    services,
    has: (s) => picked.has(s),
    virtualService: (vs) => importedVs.has(vs),
    ...(sidecar.outboundTrafficPolicy?.mode ? { outboundTrafficPolicy: sidecar.outboundTrafficPolicy.mode } : {}),
  };
}

interface Decisions {
  egress: Map<string, Imported>;
  /** Whether the Sidecar imports each VirtualService (by its hosts) and each service (by its hostname). */
  virtualServices: WeakMap<Named<VirtualService>, boolean>;
  services: WeakMap<Service, boolean>;
}

// What a Sidecar imports, object by object. The same Sidecar in the same namespace gives an object the same answer
// in every model, and models keep the objects that didn't change (model/intern.ts, the incremental model): a
// change to one VirtualService decides that one again for each proxy class, not the whole mesh's.
const decisionsBySidecar = new WeakMap<Sidecar, Map<string, Decisions>>();

function decisions(sidecar: Sidecar, namespace: string, domainSuffix: string): Decisions {
  let byNamespace = decisionsBySidecar.get(sidecar);
  if (!byNamespace) decisionsBySidecar.set(sidecar, (byNamespace = new Map()));
  const key = `${namespace}\0${domainSuffix}`; // a VirtualService's hosts are read as FQDN with the suffix
  let out = byNamespace.get(key);
  if (!out)
    byNamespace.set(
      key,
      (out = { egress: egressImports(sidecar, namespace), virtualServices: new WeakMap(), services: new WeakMap() }),
    );
  return out;
}

const vsHosts = new WeakMap<ConfigModel, { vs: Named<VirtualService>; hosts: string[] }[]>();

/**
 * Each mesh VirtualService with its hosts as written and as FQDN (a host names services both ways: Weft's local-mode
 * rule, as servicesForHost has it), once per model: every scope reads them.
 */
function virtualServiceHosts(model: ConfigModel): { vs: Named<VirtualService>; hosts: string[] }[] {
  let out = vsHosts.get(model);
  if (!out) {
    // Only mesh-bound ones: a sidecar never applies a gateway's VirtualService, nor imports what it routes to.
    const meshBound = model.virtualServices.filter(
      (vs) => !vs.spec.gateways?.length || vs.spec.gateways.includes("mesh"),
    );
    out = meshBound.map((vs) => ({
      vs,
      hosts: (vs.spec.hosts ?? []).flatMap((h) => {
        const full = fqdn(h, vs.namespace, model.domainSuffix);
        return full === h ? [h] : [h, full];
      }),
    }));
    vsHosts.set(model, out);
  }
  return out;
}

/** Membership of a list, its Set built on first use. */
function membership(list: Service[]): (s: Service) => boolean {
  let set: Set<Service> | undefined;
  return (s) => (set ??= new Set(list)).has(s);
}

/** The hosts a VirtualService's routes (and mirrors) send to. */
function destinationHosts(vs: VirtualService): string[] {
  const out: string[] = [];
  for (const r of vs.http ?? []) {
    for (const d of r.route ?? []) out.push(d.destination.host);
    if (r.mirror) out.push(r.mirror.host);
    for (const m of r.mirrors ?? []) out.push(m.destination.host);
  }
  for (const r of vs.tcp ?? []) for (const d of r.route ?? []) out.push(d.destination.host);
  return out;
}
