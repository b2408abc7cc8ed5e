// MeshInstallation (weft.dev/v1alpha1), as the operator reads it. schema.ts is the one
// source of truth for validation and defaults; these types mirror it for the code.
import type { KubernetesObject } from "@kubernetes/client-node";
import type { XfccMode } from "../../proxy/engine/xfcc.js";

export const GROUP = "weft.dev";
export const API_VERSION = "v1alpha1";
export const KIND = "MeshInstallation";
export const PLURAL = "meshinstallations";

export type RestartPolicy = "HotRestart" | "RollingRestart" | "Never";
export type MtlsMode = "STRICT" | "PERMISSIVE" | "DISABLE";
export type UpdateStrategyType = "InPlace" | "RevisionBased";

export interface ResourceList {
  cpu?: string;
  memory?: string;
}
export interface Resources {
  requests?: ResourceList;
  limits?: ResourceList;
}

/** One of Istio's extension providers: a name and exactly one kind. */
export interface ExtensionProvider {
  name: string;
  envoyFileAccessLog?: { path?: string; logFormat?: { text?: string; labels?: Record<string, string> } };
  zipkin?: { service: string; port: number };
  opentelemetry?: { service: string; port: number; http: { path: string; timeout?: string } };
}

export interface MeshSpec {
  version: string;
  namespace: string;
  hub: string;
  discovery: { replicas: number; resources: Resources };
  proxy: {
    image?: string;
    tag?: string;
    binaryPath: string;
    restartPolicy: RestartPolicy;
    /** A count, or a percentage such as "25%". */
    maxUnavailable: number | string;
    resources: Resources;
  };
  injection: { policy: "Enabled" | "Disabled"; honorIstioLabel: boolean };
  meshConfig: {
    mtls: { mode: MtlsMode };
    /** Istio's meshConfig.defaultConfig: the ProxyConfig every injected proxy starts from. */
    defaultConfig: {
      concurrency?: number;
      gatewayTopology?: { numTrustedProxies?: number; forwardClientCertDetails?: XfccMode };
      /** Istio's ProxyConfig.ProxyHeaders (schema-proxy-headers.ts), passed to discovery as written. */
      proxyHeaders?: ProxyHeadersSpec;
      proxyMetadata: { SECRET_TTL?: string };
    };
    defaultRetryPolicy: { attempts: number; retryOn: string; perTryTimeout?: string };
    accessLog: { enabled: boolean; encoding: "JSON" | "TEXT" };
    tracing: {
      sampling: number;
      zipkin?: { address: string };
      openTelemetry?: { service: string; port: number; path: string };
    };
    /** Istio's meshConfig.extensionProviders: the kinds discovery implements (schema-providers.ts). */
    extensionProviders?: ExtensionProvider[];
    /** Istio's meshConfig.defaultProviders: what every proxy uses where no Telemetry says otherwise. */
    defaultProviders?: { accessLogging?: string[]; tracing?: string[]; metrics?: string[] };
  };
  updateStrategy: { type: UpdateStrategyType };
}

export type ConditionStatus = "True" | "False" | "Unknown";
export type ConditionType = "Reconciled" | "ControlPlaneReady" | "ProxiesSynced" | "ProxiesUpgraded" | "Ready";

export interface Condition {
  type: ConditionType;
  status: ConditionStatus;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface ProxyStatus {
  connected: number;
  synced: number;
  nacked: number;
  versions?: Record<string, number>;
  /** "n/m": injected proxies that report running the mesh's engine, of those that follow it. */
  upgraded?: string;
}

export interface MeshStatus {
  observedGeneration?: number;
  state?: string;
  version?: string;
  conditions?: Condition[];
  proxies?: ProxyStatus;
}

export interface MeshInstallation extends KubernetesObject {
  spec?: Partial<MeshSpec>;
  status?: MeshStatus;
}

/** spec.meshConfig.defaultConfig.proxyHeaders: Istio's field names; what the schema takes. */
export interface ProxyHeadersSpec {
  forwardedClientCert?: "UNDEFINED" | XfccMode;
  setCurrentClientCertDetails?: { subject?: boolean; cert?: boolean; chain?: boolean; dns?: boolean; uri?: boolean };
  server?: { disabled?: boolean; value?: string };
  requestId?: { disabled?: boolean };
  attemptCount?: { disabled?: boolean };
  metadataExchangeHeaders?: { mode?: "UNDEFINED" | "IN_MESH" };
  envoyDebugHeaders?: { disabled?: boolean };
  preserveHttp1HeaderCase?: false;
  xForwardedHost?: { enabled?: boolean };
  xForwardedPort?: { enabled?: boolean };
}
