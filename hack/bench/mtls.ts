// Two sidecars' worth of config for bench:latency's mTLS case, as discovery renders them: the client's cluster
// originates ISTIO_MUTUAL-style TLS (its certificate, the mesh root, the server's SPIFFE ID checked, ALPN
// istio-peer-exchange/istio), the server's listener terminates it requiring a client certificate and hands the
// peer's identity to the app in x-forwarded-client-cert. Certificates from a throwaway mesh CA, inline. The plain
// variant is the same two hops without TLS, so the difference is what mTLS adds.
import { generateCa, signCsr } from "../../operator/runtime/pki.js";
import { createCsr } from "../../proxy/agent/csr.js";
import { bootstrap } from "./common.js";

const T = "type.googleapis.com/envoy.extensions";
const CLIENT = "spiffe://cluster.local/ns/default/sa/sleep";
const SERVER = "spiffe://cluster.local/ns/default/sa/httpbin";

interface Pair {
  cert: string;
  key: string;
}

async function leaf(ca: { certPem: string; keyPem: string }, uri: string): Promise<Pair> {
  const { csrPem, keyPem } = await createCsr([uri]);
  return { cert: (await signCsr(ca, csrPem, uri, 3600_000)) + ca.certPem, key: keyPem };
}

type Json = Record<string, unknown>;
const first = (b: unknown, key: "listeners" | "clusters"): Json =>
  ((b as { static_resources: Record<string, Json[]> }).static_resources[key] as Json[])[0] as Json;

/** The client sidecar (listenPort → serverPort) and the server sidecar (serverPort → backendPort), with mTLS or not. */
export async function twoSidecars(
  clientPort: number,
  serverPort: number,
  backendPort: number,
  mtls: boolean,
): Promise<{ client: unknown; server: unknown }> {
  const client = bootstrap(clientPort, serverPort);
  const server = bootstrap(serverPort, backendPort);
  if (!mtls) return { client, server };
  const ca = await generateCa("bench mesh root", 1);
  const [c, s] = [await leaf(ca, CLIENT), await leaf(ca, SERVER)];
  const certs = (p: Pair) => [{ certificate_chain: { inline_string: p.cert }, private_key: { inline_string: p.key } }];
  first(client, "clusters").transport_socket = {
    name: "envoy.transport_sockets.tls",
    typed_config: {
      "@type": `${T}.transport_sockets.tls.v3.UpstreamTlsContext`,
      sni: "outbound_.8000_._.httpbin.default.svc.cluster.local",
      common_tls_context: {
        alpn_protocols: ["istio-peer-exchange", "istio"],
        tls_certificates: certs(c),
        validation_context: {
          trusted_ca: { inline_string: ca.certPem },
          match_typed_subject_alt_names: [{ san_type: "URI", matcher: { exact: SERVER } }],
        },
      },
    },
  };
  const chain = (first(server, "listeners").filter_chains as Json[])[0] as Json;
  chain.transport_socket = {
    name: "envoy.transport_sockets.tls",
    typed_config: {
      "@type": `${T}.transport_sockets.tls.v3.DownstreamTlsContext`,
      require_client_certificate: true,
      common_tls_context: {
        alpn_protocols: ["h2", "http/1.1", "istio-peer-exchange", "istio"],
        tls_certificates: certs(s),
        validation_context: { trusted_ca: { inline_string: ca.certPem } },
      },
    },
  };
  const hcm = ((chain.filters as Json[])[0] as Json).typed_config as Json;
  hcm.forward_client_cert_details = "APPEND_FORWARD";
  hcm.set_current_client_cert_details = { uri: true };
  return { client, server };
}
