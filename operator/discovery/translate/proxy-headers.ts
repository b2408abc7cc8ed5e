// The mesh config's proxyHeaders on every HTTP connection manager a proxy gets, as istiod's
// util.GetProxyHeadersFromProxyConfig and the listener builders write them. Pure.
//   server_name: "istio-envoy" on a sidecar's inbound and at gateways; none outbound (Envoy's "envoy": istiod keeps
//   that mistake for compatibility); server.value on all of them; server.disabled: no name, PASS_THROUGH
//   (server_header_transformation OVERWRITE, the enum's zero, is left out as istiod's JSON leaves it).
//   generate_request_id: false under requestId.disabled; append_x_forwarded_port under xForwardedPort.enabled, on
//   every HCM (istiod's buildHTTPConnectionManager; the engine acts on it where use_remote_address is set).
//   A sidecar's inbound: forward_client_cert_details from forwardedClientCert (APPEND_FORWARD), with
//   set_current_client_cert_details always (subject, dns, uri unless turned off; cert, chain if turned on), as
//   buildSidecarInboundHTTPOpts. Gateways keep gatewayTopology's XFCC (edge.ts), as istiod's.
//   envoyDebugHeaders.disabled: the router filter's suppress_envoy_headers on every HCM (istiod's BuildRouterFilter
//   with SuppressDebugHeaders, sidecar and gateway alike).
// attemptCount goes on the virtual hosts, xForwardedHost on route actions (attemptCount(), xForwardedHost() below, read
// where they are built).
import type { Listener } from "../../../proxy/xds/resources.js";
import type { MeshSettings } from "../model/mesh.js";
import { DEFAULT_PROXY_HEADERS, type ProxyHeaders } from "../model/mesh-proxy-headers.js";

const HCM = "envoy.filters.network.http_connection_manager";
const ROUTER = "envoy.filters.http.router";
/** istiod's EnvoyServerName. */
export const ISTIO_SERVER_NAME = "istio-envoy";

export type ListenerClass = "inbound" | "outbound" | "gateway";

const headersOf = (mesh: MeshSettings | undefined): ProxyHeaders => mesh?.proxyHeaders ?? DEFAULT_PROXY_HEADERS;

/** append_x_forwarded_host for a route that rewrites (and the outbound catch-all's), as istiod's: xForwardedHost. */
export function xForwardedHost(mesh: MeshSettings | undefined): { append_x_forwarded_host?: true } {
  return headersOf(mesh).xForwardedHost ? { append_x_forwarded_host: true } : {};
}

/** include_request_attempt_count for a sidecar's outbound or a gateway's virtual hosts (istiod's default: on). */
export function attemptCount(mesh: MeshSettings | undefined): { include_request_attempt_count?: true } {
  return headersOf(mesh).attemptCountDisabled ? {} : { include_request_attempt_count: true };
}

/** The HCM fields proxyHeaders sets for a listener of this class. */
export function proxyHeaderFields(mesh: MeshSettings | undefined, cls: ListenerClass): Record<string, unknown> {
  const ph = headersOf(mesh);
  const out: Record<string, unknown> = {};
  const name = ph.serverName ?? (cls === "outbound" ? undefined : ISTIO_SERVER_NAME);
  if (ph.serverDisabled) out.server_header_transformation = "PASS_THROUGH";
  else if (name) out.server_name = name;
  if (ph.requestIdDisabled) out.generate_request_id = false;
  if (ph.xForwardedPort) out.append_x_forwarded_port = true;
  if (cls === "inbound") {
    const d = ph.clientCertDetails;
    // SANITIZE is the enum's zero: istiod's JSON leaves it out.
    if (ph.forwardedClientCert !== "SANITIZE") out.forward_client_cert_details = ph.forwardedClientCert;
    out.set_current_client_cert_details = Object.fromEntries(
      (["subject", "cert", "chain", "dns", "uri"] as const).filter((k) => d[k]).map((k) => [k, true]),
    );
  }
  return out;
}

/** `listeners` with proxyHeaders' fields on every HTTP connection manager (new objects where any are set). */
export function withProxyHeaders(
  listeners: Listener[],
  mesh: MeshSettings | undefined,
  kind: "sidecar" | "router",
): Listener[] {
  const fields = {
    inbound: proxyHeaderFields(mesh, kind === "router" ? "gateway" : "inbound"),
    outbound: proxyHeaderFields(mesh, kind === "router" ? "gateway" : "outbound"),
  };
  const suppress = headersOf(mesh).envoyDebugHeadersDisabled;
  return listeners.map((l) => {
    const set = fields[l.traffic_direction === "INBOUND" ? "inbound" : "outbound"];
    if (!Object.keys(set).length && !suppress) return l;
    if (!l.filter_chains?.some((c) => c.filters?.some((f) => f.name === HCM))) return l;
    return {
      ...l,
      filter_chains: l.filter_chains.map((c) => ({
        ...c,
        filters: (c.filters ?? []).map((f) =>
          f.name === HCM
            ? { ...f, typed_config: hcmWith(f.typed_config as Record<string, unknown>, set, suppress) }
            : f,
        ),
      })),
    } as Listener;
  });
}

/** An HCM's typed_config with `set`, its router's suppress_envoy_headers turned on under `suppress`. */
function hcmWith(
  hcm: Record<string, unknown>,
  set: Record<string, unknown>,
  suppress: boolean,
): Record<string, unknown> {
  if (!suppress) return { ...hcm, ...set };
  const filters = (hcm.http_filters ?? []) as { name?: string; typed_config?: object }[];
  const http_filters = filters.map((f) =>
    f.name === ROUTER ? { ...f, typed_config: { ...f.typed_config, suppress_envoy_headers: true } } : f,
  );
  return { ...hcm, ...set, http_filters };
}
