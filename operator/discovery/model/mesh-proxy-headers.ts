// meshConfig.defaultConfig.proxyHeaders (Istio's ProxyConfig.ProxyHeaders), read as istiod's
// util.GetProxyHeadersFromProxyConfig reads it. Pure. What the proxies can honour is taken:
//   forwardedClientCert, setCurrentClientCertDetails → a sidecar inbound HCM's x-forwarded-client-cert
//   server {disabled, value}                      → server_name / server_header_transformation PASS_THROUGH
//   requestId {disabled}                          → generate_request_id: false
//   attemptCount {disabled}                       → include_request_attempt_count off (x-envoy-attempt-count)
//   envoyDebugHeaders {disabled}                  → the router's suppress_envoy_headers (no x-envoy-upstream-service-time,
//                                                   x-envoy-expected-rq-timeout-ms, x-envoy-overloaded)
//   xForwardedHost {enabled}                      → append_x_forwarded_host on routes that rewrite (and the catch-all)
//   xForwardedPort {enabled}                      → append_x_forwarded_port on every HCM
//   metadataExchangeHeaders {mode: IN_MESH}       → nothing to do: Weft's proxies send no metadata-exchange headers
//                                                   (x-envoy-peer-metadata) to anyone, in the mesh or out of it
// preserveHttp1HeaderCase: true is refused by name (the engine doesn't keep header case); false is what it does.
import { FORWARD_CLIENT_CERT_MODES, type XfccMode } from "../../../proxy/engine/xfcc.js";

export interface ProxyHeaders {
  /** forwardedClientCert: a sidecar inbound's forward_client_cert_details (istiod's default APPEND_FORWARD). */
  forwardedClientCert: XfccMode;
  /** setCurrentClientCertDetails, each unset one istiod's default (subject, dns, uri on; cert, chain off). */
  clientCertDetails: { subject: boolean; cert: boolean; chain: boolean; dns: boolean; uri: boolean };
  /** server.disabled: the proxies leave `server` as the app sent it (PASS_THROUGH). */
  serverDisabled: boolean;
  /** server.value: the proxies' name in `server` (istiod's "istio-envoy" inbound and at gateways, Envoy's outbound). */
  serverName: string | undefined;
  /** requestId.disabled: no x-request-id is generated. */
  requestIdDisabled: boolean;
  /** attemptCount.disabled: no x-envoy-attempt-count to the upstream. */
  attemptCountDisabled: boolean;
  /** envoyDebugHeaders.disabled: the router adds none of its x-envoy-* headers (suppress_envoy_headers). */
  envoyDebugHeadersDisabled: boolean;
  /** xForwardedHost.enabled: a host rewrite appends the host it replaces to x-forwarded-host. */
  xForwardedHost: boolean;
  /** xForwardedPort.enabled: x-forwarded-port is the port the client connected to (where use_remote_address). */
  xForwardedPort: boolean;
}

export const DEFAULT_PROXY_HEADERS: ProxyHeaders = Object.freeze({
  forwardedClientCert: "APPEND_FORWARD",
  clientCertDetails: Object.freeze({ subject: true, cert: false, chain: false, dns: true, uri: true }),
  serverDisabled: false,
  serverName: undefined,
  requestIdDisabled: false,
  attemptCountDisabled: false,
  envoyDebugHeadersDisabled: false,
  xForwardedHost: false,
  xForwardedPort: false,
});

const P = "defaultConfig.proxyHeaders.";
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** A message of optional booleans (BoolValue wrappers): each named key, checked. */
function flags<K extends string>(v: unknown, at: string, keys: readonly K[]): Partial<Record<K, boolean>> {
  if (!isRecord(v)) throw new Error(`${P}${at}: not a mapping`);
  const out: Partial<Record<K, boolean>> = {};
  for (const [k, b] of Object.entries(v)) {
    if (!(keys as readonly string[]).includes(k))
      throw new Error(`${P}${at}.${k}: unknown field (known: ${keys.join(", ")})`);
    if (typeof b !== "boolean") throw new Error(`${P}${at}.${k}: ${JSON.stringify(b)} is not true or false`);
    out[k as K] = b;
  }
  return out;
}

const KNOWN = [
  "forwardedClientCert",
  "setCurrentClientCertDetails",
  "server",
  "requestId",
  "attemptCount",
  "envoyDebugHeaders",
  "metadataExchangeHeaders",
  "preserveHttp1HeaderCase",
  "xForwardedHost",
  "xForwardedPort",
];

/** proxyHeaders → what the proxies do; throws naming the field. Undefined: istiod's defaults. */
export function parseProxyHeaders(v: unknown): ProxyHeaders {
  if (v === undefined || v === null) return DEFAULT_PROXY_HEADERS;
  if (!isRecord(v)) throw new Error("defaultConfig.proxyHeaders: not a mapping");
  for (const k of Object.keys(v))
    if (!KNOWN.includes(k)) throw new Error(`${P}${k}: unknown field (known: ${KNOWN.join(", ")})`);
  const phc = v.preserveHttp1HeaderCase;
  if (phc !== undefined && typeof phc !== "boolean")
    throw new Error(`${P}preserveHttp1HeaderCase: ${JSON.stringify(phc)} is not true or false`);
  if (phc === true)
    throw new Error(`${P}preserveHttp1HeaderCase: not supported by Weft (its proxies send header names in lower case)`);
  const mx = v.metadataExchangeHeaders;
  if (mx !== undefined) {
    if (!isRecord(mx)) throw new Error(`${P}metadataExchangeHeaders: not a mapping`);
    for (const k of Object.keys(mx))
      if (k !== "mode") throw new Error(`${P}metadataExchangeHeaders.${k}: unknown field`);
    if (mx.mode !== undefined && mx.mode !== "UNDEFINED" && mx.mode !== "IN_MESH")
      throw new Error(`${P}metadataExchangeHeaders.mode: ${JSON.stringify(mx.mode)} is not one of UNDEFINED, IN_MESH`);
  }
  const fcc = v.forwardedClientCert ?? "UNDEFINED";
  if (fcc !== "UNDEFINED" && !FORWARD_CLIENT_CERT_MODES.includes(fcc as XfccMode))
    throw new Error(
      `${P}forwardedClientCert: ${JSON.stringify(fcc)} is not one of UNDEFINED, ${FORWARD_CLIENT_CERT_MODES.join(", ")}`,
    );
  const details = flags(v.setCurrentClientCertDetails ?? {}, "setCurrentClientCertDetails", [
    "subject",
    "cert",
    "chain",
    "dns",
    "uri",
  ] as const);
  const server = v.server === undefined ? {} : v.server;
  if (!isRecord(server)) throw new Error(`${P}server: not a mapping`);
  for (const k of Object.keys(server))
    if (k !== "disabled" && k !== "value") throw new Error(`${P}server.${k}: unknown field (known: disabled, value)`);
  const disabled = flags({ disabled: server.disabled ?? false }, "server", ["disabled"]).disabled === true;
  const value = server.value ?? "";
  if (typeof value !== "string") throw new Error(`${P}server.value: not a string`);
  if (/[\0\r\n]/.test(value)) throw new Error(`${P}server.value: not a header value (it holds NUL, CR or LF)`);
  const d = DEFAULT_PROXY_HEADERS.clientCertDetails;
  return {
    forwardedClientCert: fcc === "UNDEFINED" ? DEFAULT_PROXY_HEADERS.forwardedClientCert : (fcc as XfccMode),
    clientCertDetails: { ...d, ...details },
    serverDisabled: disabled,
    serverName: value || undefined,
    requestIdDisabled: flags(v.requestId ?? {}, "requestId", ["disabled"]).disabled === true,
    attemptCountDisabled: flags(v.attemptCount ?? {}, "attemptCount", ["disabled"]).disabled === true,
    envoyDebugHeadersDisabled: flags(v.envoyDebugHeaders ?? {}, "envoyDebugHeaders", ["disabled"]).disabled === true,
    xForwardedHost: flags(v.xForwardedHost ?? {}, "xForwardedHost", ["enabled"]).enabled === true,
    xForwardedPort: flags(v.xForwardedPort ?? {}, "xForwardedPort", ["enabled"]).enabled === true,
  };
}
