// Mutual TLS between sidecars, as istiod renders it: ISTIO_MUTUAL upstream contexts (SDS `default` and `ROOTCA`, ALPN
// istio-peer-exchange/istio, the destination's SPIFFE IDs checked), auto mTLS (transport_socket_matches on the
// endpoints' `tlsMode` metadata: ISTIO_MUTUAL to meshed endpoints, plaintext to the rest), and the inbound
// DownstreamTlsContext that requires a client certificate from the mesh CA. Pure.
import type { Cluster, TransportSocket } from "../../../proxy/xds/resources.js";
import { TYPE } from "../../../proxy/xds/types.js";
import type { Endpoint, Service } from "../model/config.js";
import { ADS } from "./policy.js";

/** The label the injector sets on meshed pods; Istio's endpoint metadata key for auto mTLS is its last part. */
export const TLS_MODE_LABEL = "security.istio.io/tlsMode";
export const SOCKET_MATCH_METADATA = "envoy.transport_socket_match";
export const TLS_SOCKET = "envoy.transport_sockets.tls";
// RawBuffer and TlsInspector are empty messages the generated Any types don't list (grpc-js-xds ships neither proto).
const RAW_BUFFER_SOCKET = {
  name: "envoy.transport_sockets.raw_buffer",
  typed_config: { "@type": "type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer" },
} as unknown as TransportSocket;
export const TLS_INSPECTOR = {
  name: "envoy.filters.listener.tls_inspector",
  typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector" },
};

/** Istio's ALPN for in-mesh clusters (util.ALPNInMeshWithMxc, ALPNInMeshH2WithMxc). */
const ALPN_IN_MESH = ["istio-peer-exchange", "istio"];
const ALPN_IN_MESH_H2 = ["istio-peer-exchange", "istio", "h2"];
/** The ALPN of mesh mTLS, as an inbound chain matches it (Istio's allIstioMtlsALPNs): a TLS connection offering none
 * of these is a client's own TLS, passed through on PERMISSIVE TCP ports. */
export const ISTIO_MTLS_ALPNS: readonly string[] = [
  "istio",
  "istio-peer-exchange",
  "istio-http/1.0",
  "istio-http/1.1",
  "istio-h2",
];
/** What an inbound mTLS chain offers: h2 first (the engine serves HTTP/2 on it), then what mesh clients offer. */
const ALPN_INBOUND_HTTP = ["h2", "http/1.1", "istio-peer-exchange", "istio"];
const ALPN_INBOUND_TCP = ["istio-peer-exchange", "istio"];

export function spiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

export function isMeshed(ep: Endpoint): boolean {
  return ep.labels[TLS_MODE_LABEL] === "istio";
}

/** The SPIFFE IDs a client accepts from a service's meshed endpoints (their ServiceAccounts), sorted. */
export function serviceSpiffeIds(service: Service, trustDomain: string): string[] {
  const ids = new Set<string>();
  for (const ep of service.endpoints)
    if (ep.serviceAccount && isMeshed(ep)) ids.add(spiffeId(trustDomain, service.namespace, ep.serviceAccount));
  for (const san of service.sans ?? []) ids.add(san); // a ServiceEntry's subjectAltNames, as Istio adds them
  return [...ids].sort();
}

/** An ISTIO_MUTUAL UpstreamTlsContext: the mesh certificate, the mesh root, and (when known) the server's identities. */
export function istioMutual(sni: string, sans: string[], http2: boolean): TransportSocket {
  return {
    name: TLS_SOCKET,
    typed_config: {
      "@type": TYPE.upstreamTlsContext,
      sni,
      common_tls_context: {
        alpn_protocols: http2 ? ALPN_IN_MESH_H2 : ALPN_IN_MESH,
        tls_certificate_sds_secret_configs: [{ name: "default", sds_config: ADS }],
        combined_validation_context: {
          default_validation_context: sans.length
            ? { match_typed_subject_alt_names: sans.map((exact) => ({ san_type: "URI", matcher: { exact } })) }
            : {},
          validation_context_sds_secret_config: { name: "ROOTCA", sds_config: ADS },
        },
      },
    },
  };
}

/** Istio's auto mTLS matches: ISTIO_MUTUAL to endpoints labelled tlsMode istio, plaintext to the others. */
export function autoMtlsMatches(mutual: TransportSocket): NonNullable<Cluster["transport_socket_matches"]> {
  return [
    { name: "tlsMode-istio", match: { tlsMode: "istio" }, transport_socket: mutual },
    { name: "tlsMode-disabled", match: {}, transport_socket: RAW_BUFFER_SOCKET },
  ];
}

/** The endpoint metadata auto mTLS reads (meshed endpoints only). */
export function endpointTlsMetadata(ep: Endpoint): Record<string, Record<string, string>> | undefined {
  return isMeshed(ep) ? { [SOCKET_MATCH_METADATA]: { tlsMode: "istio" } } : undefined;
}

/** A server's side of mesh mTLS (istiod's ApplyToCommonTLSContext under ISTIO_MUTUAL): the proxy's own certificate
 * (SDS `default`), clients verified against the mesh root (SDS `ROOTCA`). */
export const MESH_SERVER_TLS = {
  tls_certificate_sds_secret_configs: [{ name: "default", sds_config: ADS }],
  combined_validation_context: {
    default_validation_context: {},
    validation_context_sds_secret_config: { name: "ROOTCA", sds_config: ADS },
  },
};

/** An inbound chain's DownstreamTlsContext: the workload's certificate, a client certificate from the mesh required. */
export function inboundMtls(http: boolean): TransportSocket {
  return {
    name: TLS_SOCKET,
    typed_config: {
      "@type": TYPE.downstreamTlsContext,
      require_client_certificate: true,
      common_tls_context: { alpn_protocols: http ? ALPN_INBOUND_HTTP : ALPN_INBOUND_TCP, ...MESH_SERVER_TLS },
    },
  };
}
