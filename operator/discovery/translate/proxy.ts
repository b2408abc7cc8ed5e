// A proxy's identity, parsed from its xDS node id: `sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`,
// `router~...` for gateways. Proxyless gRPC clients announce themselves by their user agent.
import type { ConfigModel, Workload } from "../model/config.js";

export interface ProxyIdentity {
  id: string;
  kind: "sidecar" | "router";
  ip: string;
  workloadName: string;
  namespace: string;
  /** A gRPC library speaking xDS directly: it needs policies it supports (no LEAST_REQUEST, no redirects). */
  proxyless: boolean;
  /**
   * The node's locality (`region/zone/subzone`) as its xDS node says: used when the registry knows none for its
   * workload (translate/locality.ts).
   */
  locality?: string;
  /**
   * The proxy holds a mesh workload certificate (SDS `default` and `ROOTCA`): it connected to xDS on 15012 with it.
   * Only then does it get mutual TLS (ISTIO_MUTUAL clusters, TLS inbound chains); a proxy on plaintext 15010 has none.
   */
  mtls?: boolean;
  /** Its ServiceAccount, from the workload certificate it connected with on 15012 (`.../ns/<ns>/sa/<sa>`). */
  serviceAccount?: string;
  /**
   * Why this gateway may not have its namespace's Secrets though its certificate vouches for the namespace: its
   * ServiceAccount may not read them (Kubernetes mode's SubjectAccessReview, ads/secret-access.ts). Unset: it may.
   */
  credentialsDenied?: string;
  /**
   * A sidecar whose ServiceAccount the review allowed its namespace's Secrets: only such a sidecar gets a Secret, and
   * only a selector DestinationRule's that selects it (translate/sidecar-credentials.ts). Gateways need no such mark.
   */
  credentialsAllowed?: boolean;
}

export function parseNodeId(id: string, userAgent = ""): ProxyIdentity {
  const parts = id.split("~");
  const kind = parts[0] === "router" ? "router" : "sidecar";
  const ip = parts[1] ?? "";
  const podDotNs = parts[2] ?? "";
  const dot = podDotNs.lastIndexOf(".");
  const nsFromDomain = (parts[3] ?? "").split(".")[0] ?? "";
  const workloadName = dot < 0 ? podDotNs : podDotNs.slice(0, dot);
  const namespace = (dot < 0 ? "" : podDotNs.slice(dot + 1)) || nsFromDomain || "default";
  return { id, kind, ip, workloadName, namespace, proxyless: /grpc/i.test(userAgent) };
}

/** The xDS node's locality as `region/zone/subzone`, when it names one (Envoy's node.locality). */
export function nodeLocality(l: { region?: string; zone?: string; sub_zone?: string } | undefined): {
  locality?: string;
} {
  if (!l?.region && !l?.zone && !l?.sub_zone) return {};
  return { locality: [l.region ?? "", l.zone ?? "", l.sub_zone ?? ""].join("/") };
}

/** The proxy's own workload: by name and namespace, else by IP. */
interface WorkloadIndex {
  byName: Map<string, Workload>;
  byAddress: Map<string, Workload>;
}

// By the workload list, which models share while no workload changes (an endpoints-only change keeps it).
const workloadIndexes = new WeakMap<Workload[], WorkloadIndex>();

function workloadIndex(model: ConfigModel): WorkloadIndex {
  let index = workloadIndexes.get(model.workloads);
  if (!index) {
    index = { byName: new Map(), byAddress: new Map() };
    for (const w of model.workloads) {
      const key = `${w.namespace}/${w.name}`;
      if (!index.byName.has(key)) index.byName.set(key, w);
      if (!index.byAddress.has(w.address)) index.byAddress.set(w.address, w);
    }
    workloadIndexes.set(model.workloads, index);
  }
  return index;
}

/** The workload with this address (the first, when two share it). */
export function findWorkloadAt(model: ConfigModel, ip: string): Workload | undefined {
  return workloadIndex(model).byAddress.get(ip);
}

export function findWorkload(model: ConfigModel, proxy: ProxyIdentity): Workload | undefined {
  const index = workloadIndex(model);
  return (
    index.byName.get(`${proxy.namespace}/${proxy.workloadName}`) ??
    (proxy.ip ? index.byAddress.get(proxy.ip) : undefined)
  );
}
