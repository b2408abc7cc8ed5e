// The source-independent config model: what translate sees, whether objects came from Kubernetes or from files.
import type { DestinationRule, Gateway, Sidecar, Telemetry, VirtualService } from "./istio.js";
import type { MeshSettings } from "./mesh.js";
import type { AuthorizationPolicy, PeerAuthentication, RequestAuthentication } from "./security.js";
import type { Credential } from "./credentials.js";

export const DEFAULT_DOMAIN_SUFFIX = "cluster.local";

export interface ServicePort {
  name: string;
  number: number;
  /** Upper case, as Istio spells it: HTTP, HTTP2, GRPC, TCP, HTTPS, TLS, UNKNOWN. */
  protocol: string;
  /** Where endpoints listen when they don't say; defaults to `number`. */
  targetPort?: number;
  /** A named target port (a Kubernetes Service's `targetPort: http`), looked up in each workload's ports. */
  targetPortName?: string;
}

export interface Endpoint {
  address: string;
  /** Endpoint port per service port name; missing means the service port's targetPort. */
  ports: Record<string, number>;
  labels: Record<string, string>;
  locality?: string;
  weight?: number;
  /** The workload behind it (a pod's Deployment, a WorkloadEntry), for the metrics' destination labels. */
  workload?: { name: string; namespace: string };
  /** The workload's ServiceAccount (a Pod's, a WorkloadEntry's): its SPIFFE ID is what a client checks. */
  serviceAccount?: string;
}

export interface Service {
  /** The name a client dials: `reviews.default.svc.cluster.local`, or a ServiceEntry host as written. */
  hostname: string;
  namespace: string;
  ports: ServicePort[];
  endpoints: Endpoint[];
  /** Virtual IPs (clusterIP, ServiceEntry addresses). */
  addresses: string[];
  /** STATIC: endpoints are IPs; DNS: endpoints (or the host itself) are resolved by the proxy. */
  resolution: "STATIC" | "DNS" | "NONE";
  /**
   * The workloads it selects (a Kubernetes Service's selector), ready or not: a sidecar serves inbound on the
   * ports of every Service that selects its pod, as Istio does, so that a pod can turn Ready at all.
   */
  selector?: Record<string, string>;
  /** The namespaces it is visible in (a ServiceEntry's exportTo, a Service's networking.istio.io/exportTo); unset: all. */
  exportTo?: string[];
  /** A ServiceEntry's subjectAltNames: identities its servers may present under mesh mTLS. */
  sans?: string[];
}

/** A workload that may run a proxy: a Pod or a WorkloadEntry. */
export interface Workload {
  name: string;
  namespace: string;
  address: string;
  labels: Record<string, string>;
  /** Named ports (a Pod's container ports, a WorkloadEntry's ports), for named target ports. */
  ports?: Record<string, number>;
  serviceAccount?: string;
  /** `region/zone/subzone`: a Pod's (its istio-locality label, else its node's topology labels), a WorkloadEntry's. */
  locality?: string;
  /** A Pod: its address is the kubelet's. (A WorkloadEntry's is whatever the entry says, so it vouches for nothing.) */
  pod?: true;
}

export interface Named<T> {
  name: string;
  namespace: string;
  spec: T;
}

export interface ConfigModel {
  domainSuffix: string;
  /** The mesh config (ConfigMap weft-mesh, or --mesh-config); unset: Istio's defaults, no access log or sampling config. */
  mesh?: MeshSettings;
  services: Service[];
  workloads: Workload[];
  virtualServices: Named<VirtualService>[];
  /** With their creation time: selector rules for one workload are taken oldest first, as Istio's. */
  destinationRules: (Named<DestinationRule> & { created?: string })[];
  gateways: Named<Gateway>[];
  /** security.istio.io AuthorizationPolicy objects (absent: none). */
  authorizationPolicies?: Named<AuthorizationPolicy>[];
  /** security.istio.io RequestAuthentication objects (absent: none). */
  requestAuthentications?: Named<RequestAuthentication>[];
  /** The keys discovery fetched for the RequestAuthentications' jwksUris, by URI (sources/jwks.ts); a URI not here
   * (not fetched, or failed) gets keys no token verifies with. */
  jwks?: Readonly<Record<string, string>>;
  /** security.istio.io PeerAuthentication objects (absent: none), with their creation time (the oldest wins). */
  peerAuthentications?: (Named<PeerAuthentication> & { created?: string })[];
  /** networking.istio.io Sidecar objects (absent: none), with their creation time (the oldest wins a tie). */
  sidecars?: (Named<Sidecar> & { created?: string })[];
  /** telemetry.istio.io Telemetry objects (absent: none), with their creation time (the oldest wins a tie). */
  telemetries?: (Named<Telemetry> & { created?: string })[];
  /** Kubernetes Secrets of type kubernetes.io/tls or Opaque, their TLS keys only, for gateways' credentialName. */
  credentials?: Credential[];
}

export type OutboundTrafficMode = "ALLOW_ANY" | "REGISTRY_ONLY";

export function emptyModel(): ConfigModel {
  return {
    domainSuffix: DEFAULT_DOMAIN_SUFFIX,
    services: [],
    workloads: [],
    virtualServices: [],
    destinationRules: [],
    gateways: [],
  };
}

/** The endpoint's port for a service port. */
export function endpointPort(endpoint: Endpoint, port: ServicePort): number {
  return endpoint.ports[port.name] ?? port.targetPort ?? port.number;
}

export function labelsMatch(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}
