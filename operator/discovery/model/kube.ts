// The few Kubernetes shapes discovery reads: core/v1 Service and Pod, discovery.k8s.io/v1 EndpointSlice.

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
}

/** Any object as it arrives from YAML or the API server. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: unknown;
  status?: unknown;
  // EndpointSlice keeps its data at the top level.
  endpoints?: unknown;
  ports?: unknown;
  addressType?: string;
  // A Secret's: read only by model/credentials.ts, and only its TLS keys.
  type?: string;
  data?: unknown;
  stringData?: unknown;
}

export interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: string;
  appProtocol?: string;
}

export interface ServiceSpec {
  clusterIP?: string;
  ports?: ServicePort[];
  selector?: Record<string, string>;
  type?: string;
}

export interface EndpointSliceEndpoint {
  addresses: string[];
  conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
  targetRef?: { kind?: string; name?: string; namespace?: string };
  zone?: string;
}

export interface EndpointSlicePort {
  name?: string;
  port?: number;
  protocol?: string;
  appProtocol?: string;
}

export interface PodSpec {
  /** Kubernetes' default: "default". */
  serviceAccountName?: string;
  containers?: { name?: string; ports?: { containerPort: number; name?: string }[] }[];
  readinessGates?: { conditionType: string }[];
}

export interface PodStatus {
  podIP?: string;
  phase?: string;
  containerStatuses?: { name: string; ready?: boolean }[];
  conditions?: { type: string; status: string }[];
}
