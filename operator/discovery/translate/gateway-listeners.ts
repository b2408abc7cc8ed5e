// A gateway's listeners on its Gateway servers' ports (`0.0.0.0_<port>`), as istiod builds them: an HTTP port's one
// chain routed by `http.<port>`; on a TLS port (HTTPS and TLS servers) one chain per server, matched by SNI (its hosts
// as server_names, none for `*`), terminating TLS with the server's certificate (mounted files, its credentialName's
// Secret over SDS, or under ISTIO_MUTUAL the gateway's own mesh certificate) and routed by the server's own table (or,
// a TLS server, by a TcpProxy), and PASSTHROUGH servers' chains by the tls routes' SNI names; a TCP port's TcpProxy.
import { httpAuthFilters, NETWORK_RBAC_FILTER, NO_AUTHZ, type WorkloadAuthz } from "./authz.js";
import type { Filter, FilterChain, HttpFilter, Listener, TcpProxy } from "../../../proxy/xds/resources.js";
import { TYPE } from "../../../proxy/xds/types.js";
import type {
  CertificateValidationContext,
  TlsParameters,
} from "../../../proxy/xds/generated/envoy/extensions/transport_sockets/tls/v3.js";
import type { ServerTLSSettings } from "../model/istio.js";
import type { Observing } from "./telemetry.js";
import { address, connectionManager, hcmFilter } from "./listeners.js";
import { MESH_SERVER_TLS, TLS_INSPECTOR } from "./mtls.js";
import { ADS } from "./policy.js";

/** What a client certificate must be besides signed by the CA (istiod's default_validation_context): a SAN
 * of subjectAltNames (exact, as match_subject_alt_names), not revoked by caCrl, pinned by verifyCertificateSpki/Hash. */
export type ClientChecks = Pick<
  CertificateValidationContext,
  "match_subject_alt_names" | "crl" | "verify_certificate_spki" | "verify_certificate_hash"
>;

/** A certificate and its key, files in the gateway's filesystem. */
export interface CertificateFiles {
  certificateChain: string;
  privateKey: string;
}

/**
 * Where an HTTPS server's certificate, key and (MUTUAL, OPTIONAL_MUTUAL) client CA come from; `optional`: under
 * OPTIONAL_MUTUAL a client may present no certificate (one it presents is still checked against the CA).
 */
export type GatewayTls = (
  | /** serverCertificate, privateKey (or tlsCertificates' pairs) and caCertificates: files in the gateway's filesystem. */
    { kind: "files"; certificates: CertificateFiles[]; clientCa: string | undefined; optional?: boolean }
    /** credentialName (or credentialNames): SDS secrets from discovery, `kubernetes://<name>` each and (MUTUAL)
     * `kubernetes://<first name>-cacert`. */
  | { kind: "sds"; certificates: string[]; clientCa: string | undefined; optional?: boolean }
  /** ISTIO_MUTUAL: the gateway's own mesh certificate (SDS `default`), clients verified against the mesh root (`ROOTCA`). */
  | { kind: "mesh" }
) & { checks?: ClientChecks };

/** A server's client checks as istiod renders them, as GatewayTls's `checks`; validation refuses them where none apply. */
export function withChecks(t: ServerTLSSettings): { checks?: ClientChecks } {
  const list = (v: string[] | undefined) => (v?.length ? v : undefined);
  const sans = list(t.subjectAltNames);
  const spki = list(t.verifyCertificateSpki);
  const hashes = list(t.verifyCertificateHash);
  const out: ClientChecks = {
    ...(sans ? { match_subject_alt_names: sans.map((exact) => ({ exact })) } : {}),
    ...(t.caCrl ? { crl: { filename: t.caCrl } } : {}),
    ...(spki ? { verify_certificate_spki: spki } : {}),
    ...(hashes ? { verify_certificate_hash: hashes } : {}),
  };
  return Object.keys(out).length ? { checks: out } : {};
}

/**
 * One chain of a TLS port: the server names it answers (none: every name), the TLS it terminates (none: passed
 * through untouched, PASSTHROUGH), and where it goes: an HTTPS server's route table, or a TcpProxy.
 */
export type GatewayChain = {
  serverNames: string[] | undefined;
  tls?: GatewayTls;
  /** The server's minProtocolVersion, maxProtocolVersion and cipherSuites, as Envoy's tls_params. */
  params?: TlsParameters;
} & ({ routeName: string } | { tcp: TcpProxy });

/** A gateway's TCP server port: bytes proxied as the bound VirtualService's tcp route says. */
export function gatewayTcpListener(port: number, proxy: TcpProxy, authz: WorkloadAuthz = NO_AUTHZ): Listener {
  const rbac = authz.tcp.map((c) => ({ name: NETWORK_RBAC_FILTER, typed_config: c }));
  return serverPortListener(port, [
    { filters: [...rbac, { name: "envoy.filters.network.tcp_proxy", typed_config: proxy }] as Filter[] },
  ]);
}

function serverPortListener(port: number, chains: FilterChain[]): Listener {
  return {
    "@type": TYPE.listener,
    name: `0.0.0.0_${port}`,
    address: address(port),
    traffic_direction: "OUTBOUND",
    filter_chains: chains,
  };
}

/**
 * A gateway's listener on an HTTP server port, routed by `http.<port>`, or, with `chains`, on a TLS port;
 * `grpcWeb`: a GRPC-WEB server is on the port.
 */
export function gatewayListener(
  port: number,
  observe?: Observing,
  authz: WorkloadAuthz = NO_AUTHZ,
  grpcWeb = false,
  chains?: GatewayChain[],
): Listener {
  const rbac = httpAuthFilters(authz);
  const tcpRbac = authz.tcp.map((c) => ({ name: NETWORK_RBAC_FILTER, typed_config: c }));
  const filters = (routeName: string): Filter[] => {
    const hcm = connectionManager(`outbound_0.0.0.0_${port}`, routeName, false, observe, grpcWeb);
    return [hcmFilter({ ...hcm, http_filters: [...rbac, ...(hcm.http_filters ?? [])] as HttpFilter[] })];
  };
  if (!chains) return serverPortListener(port, [{ filters: filters(`http.${port}`) }]);
  const listener = serverPortListener(
    port,
    chains.map((c) => ({
      ...(c.serverNames ? { filter_chain_match: { server_names: c.serverNames } } : {}),
      filters:
        "routeName" in c
          ? filters(c.routeName)
          : ([...tcpRbac, { name: "envoy.filters.network.tcp_proxy", typed_config: c.tcp }] as Filter[]),
      ...(c.tls ? { transport_socket: transportSocket(c.tls, c.params, !("routeName" in c)) } : {}),
    })),
  );
  // As istiod's buildGatewayListener: the TLS inspector reads the SNI the chains are matched by, and the ALPN a
  // terminating chain (every one lists protocols) negotiates.
  return chains.some((c) => c.serverNames || c.tls)
    ? { ...listener, listener_filters: [TLS_INSPECTOR] as Listener["listener_filters"] }
    : listener;
}

/** Istio's ALPN for a terminating gateway server (util.ALPNHttp), and for an ISTIO_MUTUAL TLS server that proxies TCP
 * (util.ALPNDownstreamWithMxc: metadata exchange, then h2 or http/1.1). */
const ALPN_HTTP = ["h2", "http/1.1"];
const ALPN_DOWNSTREAM_WITH_MXC = ["istio-peer-exchange", "h2", "http/1.1"];

function transportSocket(
  tls: GatewayTls,
  params: GatewayChain["params"],
  tcp: boolean,
): FilterChain["transport_socket"] {
  const mesh = tls.kind === "mesh";
  const clientCa = mesh ? undefined : tls.clientCa;
  const checks = tls.checks ?? {};
  const common = mesh
    ? {
        ...MESH_SERVER_TLS,
        combined_validation_context: {
          ...MESH_SERVER_TLS.combined_validation_context,
          default_validation_context: checks,
        },
      }
    : tls.kind === "files"
      ? {
          tls_certificates: tls.certificates.map((c) => ({
            certificate_chain: { filename: c.certificateChain },
            private_key: { filename: c.privateKey },
          })),
          ...(clientCa ? { validation_context: { trusted_ca: { filename: clientCa }, ...checks } } : {}),
        }
      : {
          tls_certificate_sds_secret_configs: tls.certificates.map((name) => ({ name, sds_config: ADS })),
          ...(clientCa
            ? {
                combined_validation_context: {
                  default_validation_context: checks,
                  validation_context_sds_secret_config: { name: clientCa, sds_config: ADS },
                },
              }
            : {}),
        };
  return {
    name: "envoy.transport_sockets.tls",
    typed_config: {
      "@type": TYPE.downstreamTlsContext,
      common_tls_context: {
        ...common,
        alpn_protocols: mesh && tcp ? ALPN_DOWNSTREAM_WITH_MXC : ALPN_HTTP,
        ...(params ? { tls_params: params } : {}),
      },
      // As istiod's BuildListenerTLSContext: required under MUTUAL and ISTIO_MUTUAL, false otherwise (OPTIONAL_MUTUAL
      // still verifies a certificate the client presents: the validation context above).
      require_client_certificate: mesh || (!!clientCa && !tls.optional),
    },
  };
}
