// Folds Kubernetes objects (Service, EndpointSlice, Pod) and Istio objects (ServiceEntry, WorkloadEntry,
// VirtualService, DestinationRule, Gateway, Sidecar) into one ConfigModel. Pure: the sources call it with what they read.
import { isIP } from "node:net";
import { mergeDelegates } from "./delegate.js";
import { workloadOfPod } from "../../../proxy/engine/workload.js";
import { DEFAULT_DOMAIN_SUFFIX, labelsMatch } from "./config.js";
import type { ConfigModel, Endpoint, Named, Service, ServicePort, Workload } from "./config.js";
import { nodeLocality } from "./pod-locality.js";
import { podServes, podWorkload, withLocality } from "./pods.js";

export { podServes, podWorkload } from "./pods.js";
import type {
  DestinationRule,
  Gateway,
  ServiceEntry,
  Sidecar,
  Telemetry,
  VirtualService,
  WorkloadEntry,
} from "./istio.js";
import type { AuthorizationPolicy, PeerAuthentication, RequestAuthentication } from "./security.js";
import type { EndpointSliceEndpoint, EndpointSlicePort, KubeObject, PodStatus, ServiceSpec } from "./kube.js";
import { credentialOf } from "./credentials.js";

export const ISTIO_NETWORKING_VERSIONS = ["v1", "v1beta1", "v1alpha3"];

export interface NormaliseOptions {
  domainSuffix?: string;
  /** Namespace for objects that name none (local files). */
  defaultNamespace?: string;
}

export interface NormaliseResult {
  model: ConfigModel;
  warnings: string[];
}

const PROTOCOL_PREFIXES: [string, string][] = [
  ["grpc-web", "GRPC-WEB"],
  ["grpc", "GRPC"],
  ["http2", "HTTP2"],
  ["https", "HTTPS"],
  ["http", "HTTP"],
  ["tls", "TLS"],
  ["tcp", "TCP"],
  ["mongo", "MONGO"],
  ["redis", "REDIS"],
  ["mysql", "MYSQL"],
];

/** Istio's protocol selection: an explicit protocol, else appProtocol, else the port name's prefix. */
export function portProtocol(name: string | undefined, appProtocol?: string, declared?: string): string {
  const explicit = (
    appProtocol ?? (declared && declared !== "TCP" && declared !== "UDP" ? declared : "")
  ).toUpperCase();
  if (explicit) return explicit === "H2C" ? "HTTP2" : explicit;
  const lower = (name ?? "").toLowerCase();
  for (const [prefix, protocol] of PROTOCOL_PREFIXES) {
    if (lower === prefix || lower.startsWith(`${prefix}-`)) return protocol;
  }
  return declared === "UDP" ? "UDP" : "UNKNOWN";
}

export function isHttpProtocol(protocol: string): boolean {
  return ["HTTP", "HTTP2", "GRPC", "GRPC-WEB"].includes(protocol);
}

function group(apiVersion: string | undefined): string {
  const slash = (apiVersion ?? "").indexOf("/");
  return slash < 0 ? "" : (apiVersion ?? "").slice(0, slash);
}

interface Parts {
  nodes: Map<string, string>;
  services: KubeObject[];
  slices: KubeObject[];
  pods: KubeObject[];
  serviceEntries: Named<ServiceEntry>[];
  workloadEntries: Named<WorkloadEntry>[];
}

export function normalise(objects: KubeObject[], options: NormaliseOptions = {}): NormaliseResult {
  const domainSuffix = options.domainSuffix ?? DEFAULT_DOMAIN_SUFFIX;
  const defaultNs = options.defaultNamespace ?? "default";
  const warnings: string[] = [];
  const model: ConfigModel = {
    domainSuffix,
    services: [],
    workloads: [],
    virtualServices: [],
    destinationRules: [],
    gateways: [],
  };
  const parts: Parts = {
    nodes: new Map(),
    services: [],
    slices: [],
    pods: [],
    serviceEntries: [],
    workloadEntries: [],
  };

  // One object per kind, namespace and name, as in a cluster: a later definition replaces an earlier one.
  const unique = new Map<string, KubeObject>();
  for (const obj of objects) {
    const key = `${group(obj.apiVersion)}/${obj.kind ?? ""}/${obj.metadata?.namespace ?? defaultNs}/${obj.metadata?.name ?? ""}`;
    if (obj.metadata?.name && unique.has(key)) {
      warnings.push(
        `${obj.kind ?? "object"}/${obj.metadata.namespace ?? defaultNs}/${obj.metadata.name} is defined more than once; the last one wins`,
      );
      unique.delete(key);
    }
    unique.set(key, obj);
  }

  for (const obj of unique.values()) {
    const ns = obj.metadata?.namespace ?? defaultNs;
    const name = obj.metadata?.name ?? "";
    const g = group(obj.apiVersion);
    const kind = obj.kind ?? "";
    if (!name) {
      warnings.push(`${kind || "object"} without metadata.name ignored`);
      continue;
    }
    const withNs = { ...obj, metadata: { ...obj.metadata, namespace: ns } };
    if (g === "networking.istio.io") {
      const spec = (obj.spec ?? {}) as never;
      const named = { name, namespace: ns, spec };
      if (kind === "VirtualService") model.virtualServices.push(named as Named<VirtualService>);
      else if (kind === "DestinationRule") model.destinationRules.push(withCreated<DestinationRule>(obj, ns));
      else if (kind === "Gateway") model.gateways.push(named as Named<Gateway>);
      else if (kind === "ServiceEntry") parts.serviceEntries.push(named as Named<ServiceEntry>);
      else if (kind === "WorkloadEntry") parts.workloadEntries.push(named as Named<WorkloadEntry>);
      else if (kind === "Sidecar") (model.sidecars ??= []).push(withCreated<Sidecar>(obj, ns));
      else warnings.push(`${kind}/${ns}/${name}: unsupported kind ignored`);
    } else if (g === "security.istio.io" && kind === "AuthorizationPolicy") {
      (model.authorizationPolicies ??= []).push({ name, namespace: ns, spec: (obj.spec ?? {}) as AuthorizationPolicy });
    } else if (g === "security.istio.io" && kind === "RequestAuthentication") {
      const spec = (obj.spec ?? {}) as RequestAuthentication;
      (model.requestAuthentications ??= []).push({ name, namespace: ns, spec });
    } else if (g === "security.istio.io" && kind === "PeerAuthentication") {
      (model.peerAuthentications ??= []).push(peerAuthentication(obj, ns));
    } else if (g === "telemetry.istio.io" && kind === "Telemetry") {
      (model.telemetries ??= []).push(withCreated<Telemetry>(obj, ns));
    } else if (g === "" && kind === "Service") parts.services.push(withNs);
    else if (g === "" && kind === "Pod") parts.pods.push(withNs);
    else if (g === "" && kind === "Node" && nodeLocality(obj)) parts.nodes.set(name, nodeLocality(obj));
    else if (g === "discovery.k8s.io" && kind === "EndpointSlice") parts.slices.push(withNs);
    else if (g === "" && kind === "Secret") {
      const c = credentialOf(obj, ns);
      if (c) (model.credentials ??= []).push(c);
    }
  }

  const podWorkloads = parts.pods.flatMap((p) => podWorkload(p, defaultNs, (n) => parts.nodes.get(n)) ?? []);
  const entryWorkloads = parts.workloadEntries.flatMap((w) => entryWorkload(w) ?? []);
  model.workloads = [...podWorkloads, ...entryWorkloads];

  // Looked up once, not per Service: the full rebuild is the incremental model's reference (incremental.ts).
  const podByName = new Map(podWorkloads.map((p) => [`${p.namespace}/${p.name}`, p]));
  const serving = new Set(
    parts.pods
      .filter((p) => (p.status as PodStatus | undefined)?.podIP && podServes(p)) // with an IP, as podWorkloads
      .map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`),
  );
  const podByIp = new Map(podWorkloads.map((p) => [p.address, p]));
  for (const svc of parts.services) {
    const ns = svc.metadata?.namespace ?? defaultNs;
    const name = svc.metadata?.name ?? "";
    const selector = (svc.spec as ServiceSpec | undefined)?.selector;
    const inputs: ServiceInputs = {
      slices: parts.slices.filter((s) => s.metadata?.namespace === ns && sliceService(s) === name),
      podNamed: (pod) => podByName.get(`${ns}/${pod}`),
      podServes: (pod) => serving.has(`${ns}/${pod}`),
      podAt: (ip) => podByIp.get(ip),
      selected: () => podWorkloads.filter((p) => p.namespace === ns && labelsMatch(selector, p.labels)),
    };
    model.services.push(kubeService(svc, inputs, domainSuffix));
  }
  for (const se of parts.serviceEntries) {
    const selector = se.spec.workloadSelector?.labels;
    const inNs = <T extends { namespace: string }>(list: T[], labels: (t: T) => Record<string, string>): T[] =>
      selector ? list.filter((w) => w.namespace === se.namespace && labelsMatch(selector, labels(w))) : [];
    const entries = inNs(parts.workloadEntries, (w) => w.spec.labels ?? {});
    model.services.push(
      ...entryServices(
        se,
        entries,
        inNs(podWorkloads, (p) => p.labels),
        warnings,
      ),
    );
  }
  model.services.sort(byHostname);
  model.virtualServices = mergeDelegates(model.virtualServices, (w) => warnings.push(w));
  return { model, warnings };
}

/** A ServiceEntry address as a proxy matches it: a /32 (/128) range is its one address; wider ranges stay ranges. */
export function entryAddress(a: string): string {
  const [ip = "", bits] = a.split("/");
  return bits !== undefined && Number(bits) === (isIP(ip) === 6 ? 128 : 32) ? ip : a;
}

/** An address that is a range (CIDR): no single destination equals it. */
export const isRange = (a: string): boolean => a.includes("/");

export const byHostname = (a: Service, b: Service): number => a.hostname.localeCompare(b.hostname);

/** The Service an EndpointSlice belongs to (its kubernetes.io/service-name label). */
export function sliceService(slice: KubeObject): string | undefined {
  return slice.metadata?.labels?.["kubernetes.io/service-name"];
}

/** An object with its creation time (the oldest wins a tie, as in Istio: PeerAuthentication, Sidecar). */
export function withCreated<T>(obj: KubeObject, ns: string): Named<T> & { created?: string } {
  const created = obj.metadata?.creationTimestamp;
  return {
    name: obj.metadata?.name ?? "",
    namespace: ns,
    spec: (obj.spec ?? {}) as T,
    ...(typeof created === "string" ? { created } : {}),
  };
}

export const peerAuthentication = (obj: KubeObject, ns: string): Named<PeerAuthentication> & { created?: string } =>
  withCreated<PeerAuthentication>(obj, ns);

/** Istio's annotation on a Kubernetes Service: the namespaces it is exported to, comma-separated. */
export const EXPORT_TO_ANNOTATION = "networking.istio.io/exportTo";

function serviceExportTo(svc: KubeObject): Pick<Service, "exportTo"> {
  const value = svc.metadata?.annotations?.[EXPORT_TO_ANNOTATION];
  if (value === undefined) return {};
  return { exportTo: value.split(",").map((x) => x.trim()) };
}

export function entryWorkload(w: Named<WorkloadEntry>): Workload | undefined {
  return w.spec.address
    ? {
        name: w.name,
        namespace: w.namespace,
        address: w.spec.address,
        labels: w.spec.labels ?? {},
        ...(w.spec.serviceAccount ? { serviceAccount: w.spec.serviceAccount } : {}),
        ...(w.spec.locality ? { locality: w.spec.locality } : {}),
      }
    : undefined;
}

/** What a Kubernetes Service's endpoints come from; each lookup is the caller's (a full scan, or an index). */
export interface ServiceInputs {
  /** Its EndpointSlices, in the order the source holds them. */
  slices: KubeObject[];
  /** A Pod (with an IP) in the Service's namespace. */
  podNamed(name: string): Workload | undefined;
  /** Whether that Pod is known and serves by its own status (podServes). */
  podServes(name: string): boolean;
  /** The Pod (with an IP) at an address, in any namespace: the last one, in the source's order. */
  podAt(ip: string): Workload | undefined;
  /** The Pods (with an IP) its selector selects, in the source's order. */
  selected(): Workload[];
}

/** A pod's workload (its Deployment's name, as Istio's labels fall back to), for its endpoints. */
const workloadOf = (pod: Workload | undefined): Pick<Endpoint, "workload"> =>
  pod ? { workload: { name: workloadOfPod(pod.name), namespace: pod.namespace } } : {};

export function kubeService(svc: KubeObject, inputs: ServiceInputs, suffix: string): Service {
  const name = svc.metadata?.name ?? "";
  const ns = svc.metadata?.namespace ?? "default";
  const spec = (svc.spec ?? {}) as ServiceSpec;
  const ports: ServicePort[] = (spec.ports ?? []).map((p) => ({
    name: p.name ?? "",
    number: p.port,
    protocol: portProtocol(p.name, p.appProtocol, p.protocol),
    targetPort: typeof p.targetPort === "number" ? p.targetPort : undefined,
    ...(typeof p.targetPort === "string" ? { targetPortName: p.targetPort } : {}),
  }));
  let endpoints: Endpoint[] = [];
  if (inputs.slices.length > 0) {
    for (const slice of inputs.slices) {
      const slicePorts = (slice.ports ?? []) as EndpointSlicePort[];
      const byName: Record<string, number> = {};
      for (const sp of slicePorts) if (sp.port !== undefined) byName[sp.name ?? ""] = sp.port;
      for (const ep of (slice.endpoints ?? []) as EndpointSliceEndpoint[]) {
        if (
          ep.conditions?.ready === false &&
          (ep.conditions.terminating === true || !(ep.targetRef?.name && inputs.podServes(ep.targetRef.name)))
        )
          continue;
        for (const address of ep.addresses) {
          const pod = (ep.targetRef?.name && inputs.podNamed(ep.targetRef.name)) || inputs.podAt(address);
          endpoints.push({
            address,
            ports: byName,
            labels: pod?.labels ?? {},
            // The pod's (Istio's endpoint builder); an EndpointSlice's `zone` alone is no locality.
            ...withLocality(pod?.locality),
            ...(pod?.serviceAccount ? { serviceAccount: pod.serviceAccount } : {}),
            ...workloadOf(pod),
          });
        }
      }
    }
  } else if (spec.selector) {
    // No EndpointSlices (yet): the selected Pods, with named target ports looked up in their containers.
    endpoints = inputs.selected().map((p) => {
      const named: Record<string, number> = {};
      for (const sp of spec.ports ?? []) {
        const port = typeof sp.targetPort === "string" ? p.ports?.[sp.targetPort] : undefined;
        if (port !== undefined) named[sp.name ?? ""] = port;
      }
      return {
        address: p.address,
        ports: named,
        labels: p.labels,
        serviceAccount: p.serviceAccount,
        ...withLocality(p.locality),
        ...workloadOf(p),
      };
    });
  }
  const addresses = spec.clusterIP && spec.clusterIP !== "None" ? [spec.clusterIP] : [];
  return {
    hostname: `${name}.${ns}.svc.${suffix}`,
    namespace: ns,
    ports,
    endpoints,
    addresses,
    resolution: "STATIC",
    ...(spec.selector && Object.keys(spec.selector).length ? { selector: spec.selector } : {}),
    ...serviceExportTo(svc),
  };
}

/** A ServiceEntry's services, one per host; `entries` and `pods` are the ones its workloadSelector selects. */
export function entryServices(
  se: Named<ServiceEntry>,
  entries: Named<WorkloadEntry>[],
  pods: Workload[],
  warnings: string[],
): Service[] {
  const spec = se.spec;
  const ports: ServicePort[] = (spec.ports ?? []).map((p) => ({
    name: p.name ?? String(p.number),
    number: p.number,
    protocol: portProtocol(p.name, undefined, p.protocol),
    targetPort: p.targetPort,
  }));
  const fromEntry = (w: WorkloadEntry): Endpoint | undefined =>
    w.address
      ? {
          address: w.address,
          ports: w.ports ?? {},
          labels: w.labels ?? {},
          locality: w.locality,
          weight: w.weight,
          serviceAccount: w.serviceAccount,
        }
      : undefined;
  const endpoints: Endpoint[] = [];
  for (const w of spec.endpoints ?? []) {
    const ep = fromEntry(w);
    if (ep) endpoints.push(ep);
  }
  for (const we of entries) {
    const ep = fromEntry(we.spec);
    if (ep) endpoints.push({ ...ep, workload: { name: we.name, namespace: we.namespace } });
  }
  for (const p of pods)
    endpoints.push({
      address: p.address,
      ports: {},
      labels: p.labels,
      serviceAccount: p.serviceAccount,
      ...withLocality(p.locality),
      ...workloadOf(p),
    });
  if (!spec.hosts?.length) warnings.push(`ServiceEntry/${se.namespace}/${se.name}: no hosts`);
  const resolution =
    spec.resolution === "DNS" || spec.resolution === "DNS_ROUND_ROBIN"
      ? "DNS"
      : spec.resolution === "NONE"
        ? "NONE"
        : "STATIC";
  return (spec.hosts ?? []).map((hostname) => ({
    hostname,
    namespace: se.namespace,
    ports,
    endpoints,
    addresses: (spec.addresses ?? []).map(entryAddress),
    resolution,
    ...(spec.exportTo ? { exportTo: spec.exportTo } : {}),
    ...(spec.subjectAltNames?.length ? { sans: spec.subjectAltNames } : {}),
  }));
}
