// The Istio networking API (networking.istio.io v1, v1beta1, v1alpha3 share one schema) as users write it in YAML.
// Field names and shapes follow istio/api networking/v1alpha3/*.proto; durations are strings ("1.5s").

export interface StringMatch {
  exact?: string;
  prefix?: string;
  regex?: string;
}

export interface Percent {
  value?: number;
}

export interface PortSelector {
  number?: number;
}

export interface Destination {
  host: string;
  subset?: string;
  port?: PortSelector;
}

export interface HTTPMatchRequest {
  name?: string;
  uri?: StringMatch;
  scheme?: StringMatch;
  method?: StringMatch;
  authority?: StringMatch;
  headers?: Record<string, StringMatch>;
  withoutHeaders?: Record<string, StringMatch>;
  queryParams?: Record<string, StringMatch>;
  port?: number;
  sourceLabels?: Record<string, string>;
  gateways?: string[];
  sourceNamespace?: string;
  ignoreUriCase?: boolean;
}

export interface HeaderOperations {
  set?: Record<string, string>;
  add?: Record<string, string>;
  remove?: string[];
}

export interface Headers {
  request?: HeaderOperations;
  response?: HeaderOperations;
}

export interface HTTPRouteDestination {
  destination: Destination;
  weight?: number;
  headers?: Headers;
}

export interface HTTPRedirect {
  uri?: string;
  authority?: string;
  port?: number;
  derivePort?: "FROM_PROTOCOL_DEFAULT" | "FROM_REQUEST_PORT";
  scheme?: string;
  redirectCode?: number;
}

export interface HTTPDirectResponse {
  status: number;
  body?: { string?: string; bytes?: string };
}

export interface HTTPRewrite {
  uri?: string;
  authority?: string;
  uriRegexRewrite?: { match?: string; rewrite?: string };
}

export interface HTTPRetry {
  attempts?: number;
  perTryTimeout?: string;
  retryOn?: string;
  retryRemoteLocalities?: boolean;
  retryIgnorePreviousHosts?: boolean;
  backoff?: string;
}

export interface HTTPFaultInjection {
  delay?: { fixedDelay?: string; percentage?: Percent; percent?: number };
  abort?: { httpStatus?: number; grpcStatus?: string; percentage?: Percent };
}

export interface CorsPolicy {
  allowOrigins?: StringMatch[];
  allowOrigin?: string[];
  allowMethods?: string[];
  allowHeaders?: string[];
  exposeHeaders?: string[];
  maxAge?: string;
  allowCredentials?: boolean;
  /** IGNORE: a preflight from an origin the policy doesn't allow is answered here, not forwarded (the default). */
  unmatchedPreflights?: "UNSPECIFIED" | "FORWARD" | "IGNORE";
}

export interface HTTPMirrorPolicy {
  destination: Destination;
  percentage?: Percent;
}

export interface HTTPRoute {
  name?: string;
  match?: HTTPMatchRequest[];
  route?: HTTPRouteDestination[];
  redirect?: HTTPRedirect;
  directResponse?: HTTPDirectResponse;
  rewrite?: HTTPRewrite;
  timeout?: string;
  retries?: HTTPRetry;
  fault?: HTTPFaultInjection;
  mirror?: Destination;
  mirrorPercentage?: Percent;
  mirrorPercent?: number;
  mirrors?: HTTPMirrorPolicy[];
  corsPolicy?: CorsPolicy;
  headers?: Headers;
  /** Routes from a delegate VirtualService (one without hosts): model/delegate.ts merges them in. */
  delegate?: { name: string; namespace?: string };
}

/** L4MatchAttributes (tcp) and TLSMatchAttributes (tls, with sniHosts). */
export interface L4MatchAttributes {
  destinationSubnets?: string[];
  port?: number;
  sourceLabels?: Record<string, string>;
  gateways?: string[];
  sourceNamespace?: string;
  sourceSubnet?: string;
  sniHosts?: string[];
}

export interface RouteDestination {
  destination: Destination;
  weight?: number;
}

/** TCPRoute, and TLSRoute (whose match blocks carry sniHosts). */
export interface L4Route {
  match?: L4MatchAttributes[];
  route?: RouteDestination[];
}

export interface VirtualService {
  hosts?: string[];
  gateways?: string[];
  http?: HTTPRoute[];
  tcp?: L4Route[];
  tls?: L4Route[];
  exportTo?: string[];
}

/** Istio's LocalityLoadBalancerSetting (a DestinationRule's loadBalancer, or the mesh config's). */
export interface LocalityLbSetting {
  /** Only `false` turns it off (a rule's false also turns the mesh's off for that destination). */
  enabled?: boolean;
  /** From the proxy's locality (`from`, `*` ending wildcards) to endpoint localities, weights summing to 100. */
  distribute?: { from?: string; to?: Record<string, number> }[];
  /** From the proxy's region to the region to fail over to, before any other. */
  failover?: { from?: string; to?: string }[];
  /** Labels (or `label=value`) the endpoints are ordered by, matched against the proxy's. */
  failoverPriority?: string[];
}

export interface LoadBalancerSettings {
  localityLbSetting?: LocalityLbSetting;
  simple?: "UNSPECIFIED" | "LEAST_CONN" | "LEAST_REQUEST" | "RANDOM" | "PASSTHROUGH" | "ROUND_ROBIN";
  /** Slow start: a new endpoint's share grows over this long (deprecated for `warmup`). */
  warmupDurationSecs?: string;
  warmup?: { duration: string; minimumPercent?: number; aggression?: number };
  consistentHash?: {
    httpHeaderName?: string;
    httpCookie?: { name: string; path?: string; ttl?: string };
    useSourceIp?: boolean;
    httpQueryParameterName?: string;
    ringHash?: { minimumRingSize?: number };
    maglev?: { tableSize?: number };
    minimumRingSize?: number;
  };
}

export interface ConnectionPoolSettings {
  tcp?: {
    maxConnections?: number;
    connectTimeout?: string;
    tcpKeepalive?: { probes?: number; time?: string; interval?: string };
    maxConnectionDuration?: string;
  };
  http?: {
    http1MaxPendingRequests?: number;
    http2MaxRequests?: number;
    maxRequestsPerConnection?: number;
    maxRetries?: number;
    idleTimeout?: string;
    maxConcurrentStreams?: number;
    useClientProtocol?: boolean;
    h2UpgradePolicy?: "DEFAULT" | "DO_NOT_UPGRADE" | "UPGRADE";
  };
}

export interface OutlierDetection {
  consecutiveErrors?: number;
  consecutive5xxErrors?: number;
  consecutiveGatewayErrors?: number;
  interval?: string;
  baseEjectionTime?: string;
  maxEjectionPercent?: number;
  minHealthPercent?: number;
  splitExternalLocalOriginErrors?: boolean;
  consecutiveLocalOriginFailures?: number;
}

export interface ClientTLSSettings {
  mode?: "DISABLE" | "SIMPLE" | "MUTUAL" | "ISTIO_MUTUAL";
  sni?: string;
  caCertificates?: string;
  clientCertificate?: string;
  privateKey?: string;
  credentialName?: string;
  subjectAltNames?: string[];
  insecureSkipVerify?: boolean;
  /** A file of PEM CRLs: a server certificate they revoke fails verification. */
  caCrl?: string;
}

export interface TrafficPolicy {
  loadBalancer?: LoadBalancerSettings;
  connectionPool?: ConnectionPoolSettings;
  outlierDetection?: OutlierDetection;
  tls?: ClientTLSSettings;
  portLevelSettings?: (Omit<TrafficPolicy, "portLevelSettings"> & { port?: PortSelector })[];
}

export interface Subset {
  name: string;
  labels?: Record<string, string>;
  trafficPolicy?: TrafficPolicy;
}

export interface DestinationRule {
  host: string;
  trafficPolicy?: TrafficPolicy;
  subsets?: Subset[];
  exportTo?: string[];
  /**
   * The client workloads (of the rule's own namespace) it applies to, outbound: translate/rule-select.ts. Istio's
   * istio.type.v1beta1.WorkloadSelector, so `matchLabels` (a Sidecar's and a ServiceEntry's say `labels`).
   */
  workloadSelector?: { matchLabels?: Record<string, string> };
}

export interface ServerPort {
  number: number;
  protocol: string;
  name?: string;
  targetPort?: number;
}

export interface Server {
  port: ServerPort;
  hosts: string[];
  bind?: string;
  name?: string;
  tls?: ServerTLSSettings;
}

/** ServerTLSSettings: what a Weft gateway implements is validate/gateway-tls.ts's. */
export interface ServerTLSSettings {
  mode?: string;
  httpsRedirect?: boolean;
  serverCertificate?: string;
  privateKey?: string;
  caCertificates?: string;
  credentialName?: string;
  /** One or two Secrets (an RSA and an ECDSA certificate); the first's is the CA under MUTUAL. */
  credentialNames?: string[];
  /** One or two certificate and key files (an RSA and an ECDSA certificate). */
  tlsCertificates?: { serverCertificate?: string; privateKey?: string; caCertificates?: string }[];
  minProtocolVersion?: "TLS_AUTO" | "TLSV1_0" | "TLSV1_1" | "TLSV1_2" | "TLSV1_3";
  maxProtocolVersion?: "TLS_AUTO" | "TLSV1_0" | "TLSV1_1" | "TLSV1_2" | "TLSV1_3";
  cipherSuites?: string[];
  /** MUTUAL, OPTIONAL_MUTUAL and ISTIO_MUTUAL: a client certificate must hold one of these SANs (exact). */
  subjectAltNames?: string[];
  /** A file of CRLs revoking client certificates (files and ISTIO_MUTUAL; a credential's Secret holds its own). */
  caCrl?: string;
  /** MUTUAL and OPTIONAL_MUTUAL: base64 SHA-256 of pinned client public keys (SPKI), hex SHA-256 of certificates. */
  verifyCertificateSpki?: string[];
  verifyCertificateHash?: string[];
  [field: string]: unknown;
}

export interface Gateway {
  selector?: Record<string, string>;
  servers?: Server[];
}

export interface WorkloadEntry {
  address?: string;
  ports?: Record<string, number>;
  labels?: Record<string, string>;
  network?: string;
  locality?: string;
  weight?: number;
  serviceAccount?: string;
}

export interface ServiceEntry {
  hosts: string[];
  addresses?: string[];
  ports?: ServerPort[];
  location?: "MESH_EXTERNAL" | "MESH_INTERNAL";
  resolution?: "NONE" | "STATIC" | "DNS" | "DNS_ROUND_ROBIN";
  endpoints?: WorkloadEntry[];
  workloadSelector?: { labels?: Record<string, string> };
  exportTo?: string[];
  /** The identities (SPIFFE URIs) its servers may present under mesh mTLS, besides its endpoints' accounts. */
  subjectAltNames?: string[];
}

/** Sidecar: which services a sidecar imports (egress hosts `namespace/dnsName`). Weft implements these fields. */
export interface IstioEgressListener {
  hosts: string[];
}

export interface Sidecar {
  workloadSelector?: { labels?: Record<string, string> };
  egress?: IstioEgressListener[];
  outboundTrafficPolicy?: { mode?: "ALLOW_ANY" | "REGISTRY_ONLY" };
}

/** Which side of a workload's traffic a Telemetry entry applies to: its outbound (CLIENT), its inbound (SERVER). */
export type WorkloadMode = "CLIENT" | "SERVER" | "CLIENT_AND_SERVER";

/** Telemetry (telemetry.istio.io): access logging, tracing and metrics for the mesh, a namespace or workloads. */
export interface Telemetry {
  selector?: { matchLabels?: Record<string, string> };
  accessLogging?: { match?: { mode?: WorkloadMode }; providers?: { name: string }[]; disabled?: boolean }[];
  tracing?: {
    match?: { mode?: WorkloadMode };
    providers?: { name: string }[];
    randomSamplingPercentage?: number;
    disableSpanReporting?: boolean;
  }[];
  metrics?: { providers?: { name: string }[] }[];
}
