// Folds Kubernetes objects (Service, EndpointSlice, Pod) and Istio objects (ServiceEntry, WorkloadEntry,
// VirtualService, DestinationRule, Gateway) into one ConfigModel. Pure: the sources call it with what they read.
import { DEFAULT_DOMAIN_SUFFIX, labelsMatch } from "./config.js";
import type { ConfigModel, Endpoint, Named, Service, ServicePort, Workload } from "./config.js";
import type { DestinationRule, Gateway, ServiceEntry, VirtualService, WorkloadEntry } from "./istio.js";
import type { AuthorizationPolicy, PeerAuthentication } from "./security.js";
import type { EndpointSliceEndpoint, EndpointSlicePort, KubeObject, PodSpec, PodStatus, ServiceSpec } from "./kube.js";

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
  const parts: Parts = { services: [], slices: [], pods: [], serviceEntries: [], workloadEntries: [] };

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
      else if (kind === "DestinationRule") model.destinationRules.push(named as Named<DestinationRule>);
      else if (kind === "Gateway") model.gateways.push(named as Named<Gateway>);
      else if (kind === "ServiceEntry") parts.serviceEntries.push(named as Named<ServiceEntry>);
      else if (kind === "WorkloadEntry") parts.workloadEntries.push(named as Named<WorkloadEntry>);
      else warnings.push(`${kind}/${ns}/${name}: unsupported kind ignored`);
    } else if (g === "security.istio.io" && kind === "AuthorizationPolicy") {
      (model.authorizationPolicies ??= []).push({ name, namespace: ns, spec: (obj.spec ?? {}) as AuthorizationPolicy });
    } else if (g === "security.istio.io" && kind === "PeerAuthentication") {
      const created = obj.metadata?.creationTimestamp;
      (model.peerAuthentications ??= []).push({
        name,
        namespace: ns,
        spec: (obj.spec ?? {}) as PeerAuthentication,
        ...(typeof created === "string" ? { created } : {}),
      });
    } else if (g === "" && kind === "Service") parts.services.push(withNs);
    else if (g === "" && kind === "Pod") parts.pods.push(withNs);
    else if (g === "discovery.k8s.io" && kind === "EndpointSlice") parts.slices.push(withNs);
  }

  const podWorkloads = parts.pods.flatMap((p): Workload[] => {
    const ip = (p.status as PodStatus | undefined)?.podIP;
    if (!ip) return [];
    const ports: Record<string, number> = {};
    const spec = p.spec as PodSpec | undefined;
    for (const c of spec?.containers ?? [])
      for (const cp of c.ports ?? []) if (cp.name) ports[cp.name] = cp.containerPort;
    return [
      {
        name: p.metadata?.name ?? "",
        namespace: p.metadata?.namespace ?? defaultNs,
        address: ip,
        labels: p.metadata?.labels ?? {},
        ports,
        serviceAccount: spec?.serviceAccountName || "default",
      },
    ];
  });
  const entryWorkloads = parts.workloadEntries.flatMap((w): Workload[] =>
    w.spec.address
      ? [
          {
            name: w.name,
            namespace: w.namespace,
            address: w.spec.address,
            labels: w.spec.labels ?? {},
            ...(w.spec.serviceAccount ? { serviceAccount: w.spec.serviceAccount } : {}),
          },
        ]
      : [],
  );
  model.workloads = [...podWorkloads, ...entryWorkloads];

  for (const svc of parts.services) model.services.push(kubeService(svc, parts, podWorkloads, domainSuffix));
  for (const se of parts.serviceEntries)
    model.services.push(...entryServices(se, parts.workloadEntries, podWorkloads, warnings));
  model.services.sort((a, b) => a.hostname.localeCompare(b.hostname));
  return { model, warnings };
}

function kubeService(svc: KubeObject, parts: Parts, pods: Workload[], suffix: string): Service {
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
  const slices = parts.slices.filter(
    (s) => s.metadata?.namespace === ns && s.metadata?.labels?.["kubernetes.io/service-name"] === name,
  );
  const podByName = new Map(pods.filter((p) => p.namespace === ns).map((p) => [p.name, p]));
  const podByIp = new Map(pods.map((p) => [p.address, p]));
  let endpoints: Endpoint[] = [];
  if (slices.length > 0) {
    for (const slice of slices) {
      const slicePorts = (slice.ports ?? []) as EndpointSlicePort[];
      const byName: Record<string, number> = {};
      for (const sp of slicePorts) if (sp.port !== undefined) byName[sp.name ?? ""] = sp.port;
      for (const ep of (slice.endpoints ?? []) as EndpointSliceEndpoint[]) {
        if (ep.conditions?.ready === false) continue;
        for (const address of ep.addresses) {
          const pod = (ep.targetRef?.name && podByName.get(ep.targetRef.name)) || podByIp.get(address);
          endpoints.push({
            address,
            ports: byName,
            labels: pod?.labels ?? {},
            locality: ep.zone,
            ...(pod?.serviceAccount ? { serviceAccount: pod.serviceAccount } : {}),
          });
        }
      }
    }
  } else if (spec.selector) {
    // No EndpointSlices (yet): the selected Pods, with named target ports looked up in their containers.
    endpoints = pods
      .filter((p) => p.namespace === ns && labelsMatch(spec.selector, p.labels))
      .map((p) => {
        const named: Record<string, number> = {};
        for (const sp of spec.ports ?? []) {
          const port = typeof sp.targetPort === "string" ? p.ports?.[sp.targetPort] : undefined;
          if (port !== undefined) named[sp.name ?? ""] = port;
        }
        return { address: p.address, ports: named, labels: p.labels, serviceAccount: p.serviceAccount };
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
  };
}

function entryServices(
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
  const selector = spec.workloadSelector?.labels;
  if (selector) {
    for (const we of entries) {
      if (we.namespace !== se.namespace || !labelsMatch(selector, we.spec.labels ?? {})) continue;
      const ep = fromEntry(we.spec);
      if (ep) endpoints.push(ep);
    }
    for (const p of pods) {
      if (p.namespace === se.namespace && labelsMatch(selector, p.labels))
        endpoints.push({ address: p.address, ports: {}, labels: p.labels, serviceAccount: p.serviceAccount });
    }
  }
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
    addresses: spec.addresses ?? [],
    resolution,
  }));
}
