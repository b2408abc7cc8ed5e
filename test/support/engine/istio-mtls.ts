// Sidecar mTLS as Istio renders it, hand-written for engine and agent tests: the client's ISTIO_MUTUAL-style
// upstream TLS (SDS `default` and `ROOTCA`, ALPN istio-peer-exchange/istio, the server's SPIFFE ID checked) and the
// server's inbound DownstreamTlsContext (client certificate required), with an HCM that tells the app its peer (XFCC).
const T = "type.googleapis.com/envoy.extensions";
const SDS = { ads: {}, resource_api_version: "V3" };

/** An HCM on RDS `routes` (or the given inline table) that sets x-forwarded-client-cert from the peer. */
export const hcm = (name: string, routeConfig?: unknown) => ({
  name: "envoy.filters.network.http_connection_manager",
  typed_config: {
    "@type": `${T}.filters.network.http_connection_manager.v3.HttpConnectionManager`,
    stat_prefix: name,
    ...(routeConfig ? { route_config: routeConfig } : { rds: { route_config_name: "routes" } }),
    forward_client_cert_details: "APPEND_FORWARD",
    set_current_client_cert_details: { subject: true, dns: true, uri: true },
  },
});

export const inboundTls = {
  name: "envoy.transport_sockets.tls",
  typed_config: {
    "@type": `${T}.transport_sockets.tls.v3.DownstreamTlsContext`,
    require_client_certificate: true,
    common_tls_context: {
      alpn_protocols: ["h2", "http/1.1", "istio-peer-exchange", "istio"],
      tls_certificate_sds_secret_configs: [{ name: "default", sds_config: SDS }],
      combined_validation_context: {
        default_validation_context: {},
        validation_context_sds_secret_config: { name: "ROOTCA", sds_config: SDS },
      },
    },
  },
};

export const TLS_INSPECTOR = {
  name: "envoy.filters.listener.tls_inspector",
  typed_config: { "@type": `${T}.filters.listener.tls_inspector.v3.TlsInspector` },
};

/** A cluster's transport socket for ISTIO_MUTUAL to a peer whose certificate must carry `san`. */
export const istioMutual = (san: string) => ({
  transport_socket: {
    name: "envoy.transport_sockets.tls",
    typed_config: {
      "@type": `${T}.transport_sockets.tls.v3.UpstreamTlsContext`,
      sni: "outbound_.8000_._.httpbin.default.svc.cluster.local",
      common_tls_context: {
        alpn_protocols: ["istio-peer-exchange", "istio"],
        tls_certificate_sds_secret_configs: [{ name: "default", sds_config: SDS }],
        combined_validation_context: {
          default_validation_context: { match_typed_subject_alt_names: [{ san_type: "URI", matcher: { exact: san } }] },
          validation_context_sds_secret_config: { name: "ROOTCA", sds_config: SDS },
        },
      },
    },
  },
});
