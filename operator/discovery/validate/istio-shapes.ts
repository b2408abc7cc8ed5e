// The fields of Istio's networking kinds, as istio/api networking/v1alpha3/*.proto defines them (v1, v1beta1 and
// v1alpha3 share one schema), in the JSON names users write. Used by checkShape for strict field checking.
import type { Fields, Shape } from "./shape.js";

const str = "string" as const;
const bool = "bool" as const;
/** Durations as Istio's ValidateDuration takes them: at least 1ms, to the millisecond (validate/durations.ts). */
const dur: Shape = { duration: "istio" };
const range = (min: number, max: number, among?: readonly number[]): Shape => ({ integer: [min, max], among });
const INT32_MAX = 2 ** 31 - 1;
/** A uint32 (or google.protobuf.UInt32Value): what Envoy's field holds, so nothing wraps on the wire. */
const uint32 = range(0, 2 ** 32 - 1);
/** An int32 that Istio's webhook requires to be non-negative (pool sizes, retries, weights). */
const count = range(0, INT32_MAX);
/** A uint32 port number, required: ValidatePort. */
const portNumber = range(1, 65535);
/** A uint32 port where 0 means unset (match ports, the redirect port): ValidatePort when set. */
const portOrUnset = range(0, 65535);
/** An int32 percentage: ValidatePercent. */
const percentInt = range(0, 100);
/** An HTTP status Envoy sends (its fault abort and direct response take 200 to 599). */
const httpStatus = range(200, 599);
const strings: Shape = { list: str };
const labels: Shape = { map: str };
const obj = (fields: Fields, oneOf?: readonly (readonly string[])[]): Shape => ({ fields, oneOf });
/** A field Weft doesn't implement: rejected when set, never ignored. */
const no: Shape = { unsupported: true };
/** exportTo: ".", "*", "~" or namespace names (validate/sidecar.ts checks the values). */
const exportTo: Shape = strings;

const stringMatch = obj({ exact: str, prefix: str, regex: str }, [["exact", "prefix", "regex"]]);
/** Percent's value is a double; validate/index.ts holds fault percentages to Istio's 0.0001 floor. */
const percent = obj({ value: { real: [0, 100] } });
const portSelector = obj({ number: portNumber });
const destination = obj({ host: str, subset: str, port: portSelector });
const headerOps = obj({ set: labels, add: labels, remove: strings });
const headers = obj({ request: headerOps, response: headerOps });

const httpMatch = obj({
  name: str,
  uri: stringMatch,
  scheme: stringMatch,
  method: stringMatch,
  authority: stringMatch,
  headers: { map: stringMatch },
  port: portOrUnset,
  sourceLabels: labels,
  gateways: strings,
  queryParams: { map: stringMatch },
  ignoreUriCase: bool,
  withoutHeaders: { map: stringMatch },
  sourceNamespace: str,
  statPrefix: str,
});

const httpRoute = obj(
  {
    name: str,
    match: { list: httpMatch },
    route: { list: obj({ destination, weight: count, headers }) },
    redirect: obj(
      {
        uri: str,
        authority: str,
        port: portOrUnset,
        derivePort: no,
        scheme: str,
        // Istio takes any 3xx, but Envoy's RedirectResponseCode has only these: another would become 301.
        redirectCode: range(0, 399, [0, 301, 302, 303, 307, 308]),
      },
      [["port", "derivePort"]],
    ),
    directResponse: obj({ status: httpStatus, body: obj({ string: str, bytes: str }, [["string", "bytes"]]) }),
    delegate: obj({ name: str, namespace: str }),
    rewrite: obj({ uri: str, authority: str, uriRegexRewrite: obj({ match: str, rewrite: str }) }),
    timeout: dur,
    retries: obj({
      attempts: count,
      perTryTimeout: dur,
      retryOn: str,
      retryRemoteLocalities: bool,
      retryIgnorePreviousHosts: bool,
      backoff: dur,
    }),
    fault: obj({
      delay: obj({ fixedDelay: dur, exponentialDelay: no, percentage: percent, percent: percentInt }, [
        ["fixedDelay", "exponentialDelay"],
      ]),
      abort: obj({ httpStatus: httpStatus, grpcStatus: str, http2Error: no, percentage: percent }, [
        ["httpStatus", "grpcStatus", "http2Error"],
      ]),
    }),
    mirror: destination,
    mirrors: { list: obj({ destination, percentage: percent }) },
    mirrorPercent: percentInt,
    mirrorPercentage: percent,
    corsPolicy: obj({
      allowOrigin: strings,
      allowOrigins: { list: stringMatch },
      allowMethods: strings,
      allowHeaders: strings,
      exposeHeaders: strings,
      maxAge: { duration: "seconds" },
      allowCredentials: bool,
      unmatchedPreflights: { enum: ["UNSPECIFIED", "FORWARD", "IGNORE"] },
    }),
    headers,
  },
  [["route", "redirect", "directResponse", "delegate"]],
);

const l4Destination = obj({ destination, weight: count });
const virtualService = obj({
  hosts: strings,
  gateways: strings,
  http: { list: httpRoute },
  tls: {
    list: obj({
      match: {
        list: obj({
          sniHosts: strings,
          destinationSubnets: strings,
          port: portOrUnset,
          sourceLabels: labels,
          gateways: strings,
          sourceNamespace: str,
        }),
      },
      route: { list: l4Destination },
    }),
  },
  tcp: {
    list: obj({
      match: {
        list: obj({
          destinationSubnets: strings,
          port: portOrUnset,
          sourceSubnet: str,
          sourceLabels: labels,
          gateways: strings,
          sourceNamespace: str,
        }),
      },
      route: { list: l4Destination },
    }),
  },
  exportTo,
});

/** What the values mean (weights, localities, exclusive settings) is validate/locality.ts's, as Istio's webhook. */
export const LOCALITY_LB_SETTING: Shape = obj({
  enabled: bool,
  distribute: { list: obj({ from: str, to: { map: uint32 } }) },
  failover: { list: obj({ from: str, to: str }) },
  failoverPriority: strings,
});

const loadBalancer = obj({
  simple: { enum: ["UNSPECIFIED", "LEAST_CONN", "RANDOM", "PASSTHROUGH", "ROUND_ROBIN", "LEAST_REQUEST"] },
  consistentHash: obj(
    {
      httpHeaderName: str,
      // "0s" is a session cookie: Istio's CRD leaves ttl out of its duration rule.
      httpCookie: obj({ name: str, path: str, ttl: { duration: "any" }, attributes: no }),
      useSourceIp: bool,
      httpQueryParameterName: str,
      // uint64s, held to what Envoy takes: minimum_ring_size at most 8388608, maglev's table below 5000011
      // (Istio's rule; validate/index.ts checks it is prime).
      ringHash: obj({ minimumRingSize: range(0, 8388608) }),
      maglev: obj({ tableSize: range(1, 5000010) }),
      minimumRingSize: range(0, 8388608),
    },
    // one-of rules for the hash key and ring kind are validate/index.ts's, with their own messages
  ),
  localityLbSetting: LOCALITY_LB_SETTING,
  // Slow start (ROUND_ROBIN and LEAST_REQUEST only: validate/index.ts): a new endpoint's share ramps up.
  warmupDurationSecs: dur,
  warmup: obj({ duration: dur, minimumPercent: { real: [0, 100] }, aggression: { real: [1, 1e6] } }),
});

const connectionPool = obj({
  tcp: obj({
    maxConnections: count,
    connectTimeout: dur,
    tcpKeepalive: obj({ probes: uint32, time: dur, interval: dur }),
    maxConnectionDuration: dur,
    // "0s" turns the idle timeout off (Istio skips its check then).
    idleTimeout: { duration: "orZero" },
  }),
  http: obj({
    http1MaxPendingRequests: count,
    http2MaxRequests: count,
    maxRequestsPerConnection: count,
    maxRetries: count,
    idleTimeout: dur,
    h2UpgradePolicy: { enum: ["DEFAULT", "DO_NOT_UPGRADE", "UPGRADE"] },
    useClientProtocol: bool,
    maxConcurrentStreams: count,
  }),
});

const outlierDetection = obj({
  // Failures the proxy saw itself (connect failures, resets, timeouts) counted apart from the upstream's 5xx.
  splitExternalLocalOriginErrors: bool,
  consecutiveLocalOriginFailures: uint32,
  consecutiveGatewayErrors: uint32,
  consecutive5xxErrors: uint32,
  // int32, deprecated; it becomes Envoy's uint32 consecutive_5xx, so negative values are refused (older istiod's rule).
  consecutiveErrors: count,
  interval: dur,
  baseEjectionTime: dur,
  maxEjectionPercent: percentInt,
  // Envoy's healthy_panic_threshold (translate/locality.ts); Istio's default, 0, is no panic mode.
  minHealthPercent: percentInt,
});

const clientTls = obj({
  mode: { enum: ["DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"] },
  clientCertificate: str,
  privateKey: str,
  caCertificates: str,
  credentialName: str,
  subjectAltNames: strings,
  sni: str,
  insecureSkipVerify: bool,
  caCrl: str,
});

const policyFields: Fields = { loadBalancer, connectionPool, outlierDetection, tls: clientTls };
const trafficPolicy = obj({
  ...policyFields,
  portLevelSettings: { list: obj({ port: portSelector, ...policyFields }) },
  tunnel: no,
  proxyProtocol: no,
});

const destinationRule = obj({
  host: str,
  trafficPolicy,
  subsets: { list: obj({ name: str, labels, trafficPolicy }) },
  exportTo,
  workloadSelector: obj({ matchLabels: labels }),
});

// Istio reads targetPort 0 as unset; Weft's model would take it as the endpoint port, so it stays refused.
const port = obj({ number: portNumber, protocol: str, name: str, targetPort: portNumber });
const tlsVersion: Shape = { enum: ["TLS_AUTO", "TLSV1_0", "TLSV1_1", "TLSV1_2", "TLSV1_3"] };
const gateway = obj({
  selector: labels,
  servers: {
    list: obj({
      port,
      bind: no,
      hosts: strings,
      tls: obj({
        httpsRedirect: bool,
        mode: { enum: ["PASSTHROUGH", "SIMPLE", "MUTUAL", "AUTO_PASSTHROUGH", "ISTIO_MUTUAL", "OPTIONAL_MUTUAL"] },
        serverCertificate: str,
        privateKey: str,
        caCertificates: str,
        caCrl: str,
        credentialName: str,
        credentialNames: strings,
        tlsCertificates: { list: obj({ serverCertificate: str, privateKey: str, caCertificates: str }) },
        subjectAltNames: strings,
        verifyCertificateSpki: strings,
        verifyCertificateHash: strings,
        minProtocolVersion: tlsVersion,
        maxProtocolVersion: tlsVersion,
        cipherSuites: strings,
      }),
      defaultEndpoint: no,
      name: str,
    }),
  },
});

const workloadEntryFields: Fields = {
  address: str,
  ports: { map: portNumber },
  labels,
  network: no,
  locality: str,
  weight: uint32,
  serviceAccount: str,
};

const serviceEntry = obj({
  hosts: strings,
  addresses: strings,
  ports: { list: port },
  location: { enum: ["MESH_EXTERNAL", "MESH_INTERNAL"] },
  resolution: { enum: ["NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN"] },
  endpoints: { list: obj(workloadEntryFields) },
  workloadSelector: obj({ labels }),
  exportTo,
  subjectAltNames: strings,
});

/** Sidecar: egress hosts and outboundTrafficPolicy; the listeners' ports, binds and capture modes are refused. */
const sidecar = obj({
  workloadSelector: obj({ labels }),
  ingress: no,
  egress: { list: obj({ port: no, bind: no, captureMode: no, hosts: strings }) },
  outboundTrafficPolicy: obj({ mode: { enum: ["REGISTRY_ONLY", "ALLOW_ANY"] }, egressProxy: no }),
  inboundConnectionPool: no,
});

/** The spec of each networking.istio.io kind Weft serves. */
export const SPEC_SHAPES: Readonly<Record<string, Shape>> = {
  VirtualService: virtualService,
  DestinationRule: destinationRule,
  Gateway: gateway,
  ServiceEntry: serviceEntry,
  WorkloadEntry: obj(workloadEntryFields),
  Sidecar: sidecar,
};

/** What may sit beside spec in an object (the API server adds status and the rest of metadata). */
export const OBJECT_FIELDS = new Set(["apiVersion", "kind", "metadata", "spec", "status"]);
