// The fields of Istio's networking kinds, as istio/api networking/v1alpha3/*.proto defines them (v1, v1beta1 and
// v1alpha3 share one schema), in the JSON names users write. Used by checkShape for strict field checking.
import type { Fields, Shape } from "./shape.js";

const str = "string" as const;
const int = "int" as const;
const bool = "bool" as const;
const dur = "duration" as const;
const strings: Shape = { list: str };
const labels: Shape = { map: str };
const obj = (fields: Fields, oneOf?: readonly (readonly string[])[]): Shape => ({ fields, oneOf });
/** A field Weft doesn't implement: rejected when set, never ignored. */
const no: Shape = { unsupported: true };
/** exportTo: ".", "*", "~" or namespace names (validate/sidecar.ts checks the values). */
const exportTo: Shape = strings;

const stringMatch = obj({ exact: str, prefix: str, regex: str }, [["exact", "prefix", "regex"]]);
const percent = obj({ value: "number" });
const portSelector = obj({ number: int });
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
  port: int,
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
    route: { list: obj({ destination, weight: int, headers }) },
    redirect: obj(
      {
        uri: str,
        authority: str,
        port: int,
        derivePort: no,
        scheme: str,
        redirectCode: int,
      },
      [["port", "derivePort"]],
    ),
    directResponse: obj({ status: int, body: obj({ string: str, bytes: str }, [["string", "bytes"]]) }),
    delegate: obj({ name: str, namespace: str }),
    rewrite: obj({ uri: str, authority: str, uriRegexRewrite: obj({ match: str, rewrite: str }) }),
    timeout: dur,
    retries: obj({
      attempts: int,
      perTryTimeout: dur,
      retryOn: str,
      retryRemoteLocalities: no,
      retryIgnorePreviousHosts: bool,
      backoff: dur,
    }),
    fault: obj({
      delay: obj({ fixedDelay: dur, exponentialDelay: no, percentage: percent, percent: int }, [
        ["fixedDelay", "exponentialDelay"],
      ]),
      abort: obj({ httpStatus: int, grpcStatus: str, http2Error: no, percentage: percent }, [
        ["httpStatus", "grpcStatus", "http2Error"],
      ]),
    }),
    mirror: destination,
    mirrors: { list: obj({ destination, percentage: percent }) },
    mirrorPercent: int,
    mirrorPercentage: percent,
    corsPolicy: obj({
      allowOrigin: strings,
      allowOrigins: { list: stringMatch },
      allowMethods: strings,
      allowHeaders: strings,
      exposeHeaders: strings,
      maxAge: dur,
      allowCredentials: bool,
      unmatchedPreflights: no,
    }),
    headers,
  },
  [["route", "redirect", "directResponse", "delegate"]],
);

const l4Destination = obj({ destination, weight: int });
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
          port: int,
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
          port: int,
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

const loadBalancer = obj({
  simple: { enum: ["UNSPECIFIED", "LEAST_CONN", "RANDOM", "PASSTHROUGH", "ROUND_ROBIN", "LEAST_REQUEST"] },
  consistentHash: obj(
    {
      httpHeaderName: str,
      httpCookie: obj({ name: str, path: str, ttl: dur, attributes: no }),
      useSourceIp: bool,
      httpQueryParameterName: str,
      ringHash: obj({ minimumRingSize: int }),
      maglev: obj({ tableSize: int }),
      minimumRingSize: int,
    },
    // one-of rules for the hash key and ring kind are validate/index.ts's, with their own messages
  ),
  localityLbSetting: no,
  warmupDurationSecs: no,
  warmup: no,
});

const connectionPool = obj({
  tcp: obj({
    maxConnections: int,
    connectTimeout: dur,
    tcpKeepalive: obj({ probes: int, time: dur, interval: dur }),
    maxConnectionDuration: dur,
    idleTimeout: dur,
  }),
  http: obj({
    http1MaxPendingRequests: int,
    http2MaxRequests: int,
    maxRequestsPerConnection: int,
    maxRetries: int,
    idleTimeout: dur,
    h2UpgradePolicy: { enum: ["DEFAULT", "DO_NOT_UPGRADE", "UPGRADE"] },
    useClientProtocol: bool,
    maxConcurrentStreams: int,
  }),
});

const outlierDetection = obj({
  // The proxy counts every failure as one kind and has no panic mode (Istio's default minHealthPercent, 0, is none).
  splitExternalLocalOriginErrors: { unsupported: true, allowed: (v) => v === false },
  consecutiveLocalOriginFailures: no,
  consecutiveGatewayErrors: int,
  consecutive5xxErrors: int,
  consecutiveErrors: int,
  interval: dur,
  baseEjectionTime: dur,
  maxEjectionPercent: int,
  minHealthPercent: { unsupported: true, allowed: (v) => v === 0 },
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
  caCrl: no,
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
  workloadSelector: no,
});

const port = obj({ number: int, protocol: str, name: str, targetPort: int });
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
  ports: { map: int },
  labels,
  network: no,
  locality: str,
  weight: int,
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
  subjectAltNames: no,
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
