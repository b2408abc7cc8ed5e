// The mesh-wide settings discovery applies to every proxy: Istio's MeshConfig as the operator renders it into
// ConfigMap weft-mesh, key `mesh` (operator/install/render.ts), or a file in local mode. Pure.
//   defaultHttpRetryPolicy {attempts, retryOn, perTryTimeout}  → every route's retry policy when the VirtualService sets none
//   accessLogFile ("" off, "/dev/stdout" on), accessLogEncoding (JSON | TEXT) → the HTTP connection managers' access log
//   extensionProviders (envoyFileAccessLog), defaultProviders.accessLogging/metrics → access log providers, which
//                                                                 Telemetry objects choose from (mesh-logging.ts)
//   defaultConfig.tracing.sampling (percent, 0–100)            → the HTTP connection managers' random sampling
//   extensionProviders, defaultProviders.tracing, defaultConfig.tracing.zipkin, enableTracing → where spans go
//                                                                 (mesh-tracing.ts)
//   outboundTrafficPolicy.mode (ALLOW_ANY | REGISTRY_ONLY)      → where traffic to hosts the mesh doesn't know goes
//   defaultConfig.proxyHeaders                                 → server, x-request-id, x-envoy-attempt-count,
//                                                                 a sidecar's inbound XFCC (mesh-proxy-headers.ts)
//   localityLbSetting (Istio's default {enabled: true})          → locality failover and weights where a
//                                                                 DestinationRule sets none (translate/locality.ts)
// A field this doesn't know, or a bad value, is an error naming it: the last good settings stay.
import { parse } from "yaml";
import { durationSeconds } from "./duration.js";
import { parseTracingProvider, type TracingProvider } from "./mesh-tracing.js";
import { BUILTIN_ACCESS_LOG, parseMeshLogging, type MeshLogging } from "./mesh-logging.js";
import type { HTTPRetry, LocalityLbSetting } from "./istio.js";
import { parseLocalityLbSetting } from "./mesh-locality.js";
import type { OutboundTrafficMode } from "./config.js";
import { DEFAULT_ROOT_NAMESPACE } from "./security.js";
import { DEFAULT_PROXY_HEADERS, parseProxyHeaders, type ProxyHeaders } from "./mesh-proxy-headers.js";
import { FORWARD_CLIENT_CERT_MODES, type XfccMode } from "../../../proxy/engine/xfcc.js";

export interface MeshSettings {
  defaultRetry: HTTPRetry;
  /** accessLogFile: the legacy access log, on where no Telemetry object or default provider says otherwise. */
  accessLog: { file: string; encoding: "JSON" | "TEXT" } | undefined;
  /** accessLogEncoding: the format of the legacy log and of the built-in `envoy` provider. */
  accessLogEncoding: "JSON" | "TEXT";
  /** Access log providers (extensionProviders and the built-in `envoy`) and defaultProviders.accessLogging. */
  logging: MeshLogging;
  /** Percent of requests that start a sampled trace. */
  tracingSampling: number;
  /** Where the proxies export spans; none: they only propagate trace headers. */
  tracer: TracingProvider | undefined;
  /** meshConfig.outboundTrafficPolicy.mode; Istio's default is ALLOW_ANY. */
  outboundTrafficPolicy: OutboundTrafficMode;
  /** meshConfig.rootNamespace: AuthorizationPolicy there applies mesh-wide (Istio's default istio-system). */
  rootNamespace: string;
  /** meshConfig.trustDomain: the SPIFFE IDs' trust domain. Istio's default: cluster.local. */
  trustDomain: string;
  /** meshConfig.mtls.mode: the mesh-wide PeerAuthentication mode when no policy sets one (PERMISSIVE when unset). */
  mtlsMode: MeshMtlsMode;
  /** meshConfig.localityLbSetting; unset: Istio's default, {enabled: true}. */
  localityLbSetting: LocalityLbSetting | undefined;
  /**
   * defaultConfig.gatewayTopology.numTrustedProxies: the proxies in front of the gateways (load balancers) whose
   * x-forwarded-for entries are believed (Envoy's xff_num_trusted_hops). 0: the gateway's peer is the client.
   */
  numTrustedProxies: number;
  /**
   * defaultConfig.gatewayTopology.forwardClientCertDetails: a gateway's forward_client_cert_details (istiod's default
   * SANITIZE_SET: the app sees the client certificate's details, never a header the client sent).
   */
  gatewayForwardClientCert: ForwardClientCert;
  /** defaultConfig.proxyHeaders: the headers the proxies add, keep or drop (mesh-proxy-headers.ts). */
  proxyHeaders: ProxyHeaders;
  /** Settings read but not applied, said out loud. */
  warnings: string[];
}

export const DEFAULT_MESH: MeshSettings = {
  defaultRetry: { attempts: 2, retryOn: "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes" },
  accessLog: undefined,
  accessLogEncoding: "JSON",
  logging: {
    providers: new Map([[BUILTIN_ACCESS_LOG, { name: BUILTIN_ACCESS_LOG, format: { kind: "mesh" } }]]),
    defaults: [],
  },
  tracingSampling: 1,
  tracer: undefined,
  outboundTrafficPolicy: "ALLOW_ANY",
  rootNamespace: DEFAULT_ROOT_NAMESPACE,
  trustDomain: "cluster.local",
  mtlsMode: "PERMISSIVE",
  localityLbSetting: { enabled: true },
  numTrustedProxies: 0,
  gatewayForwardClientCert: "SANITIZE_SET",
  proxyHeaders: DEFAULT_PROXY_HEADERS,
  warnings: [],
};

/** meshconfig's ForwardClientCertDetails, but UNDEFINED (the default's): Envoy's names. */
export type ForwardClientCert = XfccMode;

export type MeshMtlsMode = "STRICT" | "PERMISSIVE" | "DISABLE";
const MTLS_MODES: readonly MeshMtlsMode[] = ["STRICT", "PERMISSIVE", "DISABLE"];

const KNOWN_TOP = new Set([
  "defaultConfig",
  "mtls",
  "defaultHttpRetryPolicy",
  "accessLogFile",
  "accessLogEncoding",
  "outboundTrafficPolicy",
  "rootNamespace",
  "trustDomain",
  "extensionProviders",
  "defaultProviders",
  "enableTracing",
  "localityLbSetting",
]);
const KNOWN_DEFAULT_CONFIG = new Set(["binaryPath", "discoveryAddress", "tracing", "gatewayTopology", "proxyHeaders"]);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function unknownFields(o: Record<string, unknown>, known: Set<string>, at: string): void {
  for (const k of Object.keys(o))
    if (!known.has(k)) throw new Error(`${at}${k}: unknown field (known: ${[...known].join(", ")})`);
}

/** The `mesh` key's YAML → settings; throws naming the field. Empty text: the defaults. */
export function parseMeshConfig(text: string): MeshSettings {
  const doc: unknown = parse(text) ?? {};
  if (!isRecord(doc)) throw new Error("mesh: not a YAML mapping");
  unknownFields(doc, KNOWN_TOP, "");
  const out: MeshSettings = { ...DEFAULT_MESH, defaultRetry: { ...DEFAULT_MESH.defaultRetry }, warnings: [] };
  if (doc.mtls !== undefined) {
    if (!isRecord(doc.mtls)) throw new Error("mtls: not a mapping");
    unknownFields(doc.mtls, new Set(["mode"]), "mtls.");
    const mode = doc.mtls.mode;
    if (mode !== undefined && !MTLS_MODES.includes(mode as MeshMtlsMode))
      throw new Error(`mtls.mode: ${JSON.stringify(mode)} is not one of ${MTLS_MODES.join(", ")}`);
    out.mtlsMode = (mode as MeshMtlsMode | undefined) ?? "PERMISSIVE";
  }
  const retry = doc.defaultHttpRetryPolicy;
  if (retry !== undefined) {
    if (!isRecord(retry)) throw new Error("defaultHttpRetryPolicy: not a mapping");
    unknownFields(retry, new Set(["attempts", "retryOn", "perTryTimeout"]), "defaultHttpRetryPolicy.");
    const { attempts, retryOn, perTryTimeout } = retry;
    if (attempts !== undefined && !(Number.isInteger(attempts) && (attempts as number) >= 0))
      throw new Error(`defaultHttpRetryPolicy.attempts: ${String(attempts)} is not an integer ≥ 0`);
    if (retryOn !== undefined && typeof retryOn !== "string")
      throw new Error("defaultHttpRetryPolicy.retryOn: not a string");
    if (
      perTryTimeout !== undefined &&
      (typeof perTryTimeout !== "string" || durationSeconds(perTryTimeout) === undefined)
    )
      throw new Error(`defaultHttpRetryPolicy.perTryTimeout: "${String(perTryTimeout)}" is not a duration`);
    out.defaultRetry = {
      attempts: (attempts as number | undefined) ?? 2,
      retryOn: (retryOn as string | undefined) || DEFAULT_MESH.defaultRetry.retryOn,
      ...(perTryTimeout ? { perTryTimeout: perTryTimeout as string } : {}),
    };
  }
  const file = doc.accessLogFile ?? "";
  if (typeof file !== "string") throw new Error("accessLogFile: not a string");
  const encoding = doc.accessLogEncoding ?? "JSON";
  if (encoding !== "JSON" && encoding !== "TEXT")
    throw new Error(`accessLogEncoding: "${String(encoding)}" is not JSON or TEXT`);
  if (file && file !== "/dev/stdout")
    throw new Error(`accessLogFile: "${file}": only /dev/stdout (or "" for off) is supported`);
  out.accessLog = file ? { file, encoding } : undefined;
  out.accessLogEncoding = encoding;
  const dc = doc.defaultConfig ?? {};
  if (!isRecord(dc)) throw new Error("defaultConfig: not a mapping");
  unknownFields(dc, KNOWN_DEFAULT_CONFIG, "defaultConfig.");
  const tracing = dc.tracing ?? {};
  if (!isRecord(tracing)) throw new Error("defaultConfig.tracing: not a mapping");
  unknownFields(tracing, new Set(["sampling", "zipkin"]), "defaultConfig.tracing.");
  out.tracer = parseTracingProvider(doc, tracing);
  out.logging = parseMeshLogging(doc);
  const sampling = tracing.sampling ?? DEFAULT_MESH.tracingSampling;
  if (typeof sampling !== "number" || !(sampling >= 0 && sampling <= 100))
    throw new Error(`defaultConfig.tracing.sampling: ${String(sampling)} is not a percentage (0–100)`);
  out.tracingSampling = sampling;
  Object.assign(out, gatewayTopology(dc.gatewayTopology));
  out.proxyHeaders = parseProxyHeaders(dc.proxyHeaders);
  const otp = doc.outboundTrafficPolicy ?? {};
  if (!isRecord(otp)) throw new Error("outboundTrafficPolicy: not a mapping");
  unknownFields(otp, new Set(["mode"]), "outboundTrafficPolicy.");
  const mode = otp.mode ?? "ALLOW_ANY";
  if (mode !== "ALLOW_ANY" && mode !== "REGISTRY_ONLY")
    throw new Error(`outboundTrafficPolicy.mode: ${JSON.stringify(mode)} is not ALLOW_ANY or REGISTRY_ONLY`);
  out.outboundTrafficPolicy = mode;
  const root = doc.rootNamespace ?? DEFAULT_ROOT_NAMESPACE;
  if (typeof root !== "string" || !root) throw new Error("rootNamespace: not a namespace name");
  out.rootNamespace = root;
  const td = doc.trustDomain ?? DEFAULT_MESH.trustDomain;
  if (typeof td !== "string" || !/^[a-z0-9.-]+$/.test(td))
    throw new Error(`trustDomain: ${JSON.stringify(td)} is not a trust domain (lowercase letters, digits, '.', '-')`);
  out.trustDomain = td;
  if (doc.localityLbSetting !== undefined) out.localityLbSetting = parseLocalityLbSetting(doc.localityLbSetting);
  return out;
}

/** defaultConfig.gatewayTopology: numTrustedProxies and forwardClientCertDetails (proxyProtocol is refused by name). */
function gatewayTopology(topology: unknown): Pick<MeshSettings, "numTrustedProxies" | "gatewayForwardClientCert"> {
  const out = { numTrustedProxies: 0, gatewayForwardClientCert: DEFAULT_MESH.gatewayForwardClientCert };
  if (topology === undefined) return out;
  if (!isRecord(topology)) throw new Error("defaultConfig.gatewayTopology: not a mapping");
  const p = "defaultConfig.gatewayTopology.";
  unknownFields(topology, new Set(["numTrustedProxies", "forwardClientCertDetails"]), p);
  const n = topology.numTrustedProxies ?? 0;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 0xffffffff)
    throw new Error(`${p}numTrustedProxies: ${String(n)} is not a count (uint32)`);
  out.numTrustedProxies = n;
  const fcc = topology.forwardClientCertDetails ?? "UNDEFINED";
  if (fcc !== "UNDEFINED") {
    if (!FORWARD_CLIENT_CERT_MODES.includes(fcc as ForwardClientCert))
      throw new Error(
        `${p}forwardClientCertDetails: ${JSON.stringify(fcc)} is not one of ${FORWARD_CLIENT_CERT_MODES.join(", ")}`,
      );
    out.gatewayForwardClientCert = fcc as ForwardClientCert;
  }
  return out;
}
