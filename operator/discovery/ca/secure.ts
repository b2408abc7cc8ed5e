// Discovery's :15012, as istiod's: TLS with a serving certificate from the mesh CA. It serves the CA
// (CreateCertificate, authenticated by token: the caller has no certificate yet) and ADS, authenticated by the client
// certificate the CA issued: a stream without one, or whose node id claims another namespace, is refused.
import { X509Certificate } from "node:crypto";
import { experimental, type Server as GrpcServer, type ServerDuplexStream } from "@grpc/grpc-js";
import { parseSpiffeId } from "../../../proxy/xds/ca.js";
import type { KeyPair } from "../../runtime/pki.js";
import type { StreamPeer } from "../ads/server.js";
import { parseNodeId } from "../translate/proxy.js";

/** The certificates of a PEM bundle. Pure. */
export function pemCertificates(bundle: string): X509Certificate[] {
  return (bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map(
    (pem) => new X509Certificate(pem),
  );
}

/**
 * Why `raw` (a DER client certificate) isn't a current workload certificate of the mesh, or its SPIFFE ID. `rootsPem`
 * is the trust bundle: the CA's certificate, or during a CA rotation the old and the new root. Pure.
 */
export function workloadIdentityOf(
  raw: Buffer | undefined,
  rootsPem: string,
  now = Date.now(),
): { uri: string; namespace: string } | { error: string } {
  if (!raw?.length)
    return { error: "no client certificate: xDS on this port needs the mesh CA's workload certificate" };
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(raw);
  } catch {
    return { error: "client certificate does not parse" };
  }
  if (!pemCertificates(rootsPem).some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey)))
    return { error: "client certificate not issued by the mesh CA" };
  if (Date.parse(cert.validFrom) > now || Date.parse(cert.validTo) <= now)
    return { error: `client certificate not valid now (${cert.validFrom} to ${cert.validTo})` };
  const uri = (cert.subjectAltName ?? "").split(", ").find((n) => n.startsWith("URI:"));
  const id = uri ? parseSpiffeId(uri.slice(4)) : undefined;
  if (!id || !uri) return { error: "client certificate carries no SPIFFE ID" };
  return { uri: uri.slice(4), namespace: id.namespace };
}

/** Why a node id may not be served to a proxy holding `namespace`'s certificate, or undefined. Pure. */
export function nodeIdProblem(nodeId: string, namespace: string): string | undefined {
  const parsed = parseNodeId(nodeId);
  const domainNs = (nodeId.split("~")[3] ?? "").split(".")[0] ?? "";
  const claimed = [parsed.namespace, ...(domainNs ? [domainNs] : [])];
  const other = claimed.find((ns) => ns !== namespace);
  return other === undefined
    ? undefined
    : `node id ${nodeId} claims namespace ${other}, its certificate is of namespace ${namespace}`;
}

/** The ADS authorizer for :15012: the stream's client certificate must be the mesh's, of the node's namespace. */
export function mtlsAuthorizer(rootsPem: () => string) {
  return (stream: ServerDuplexStream<unknown, unknown>, nodeId: string): StreamPeer => {
    const raw = stream.getAuthContext()?.sslPeerCertificate?.raw;
    const id = workloadIdentityOf(raw, rootsPem());
    if ("error" in id) return id;
    const problem = nodeIdProblem(nodeId, id.namespace);
    if (problem) return { error: problem };
    return { namespace: id.namespace, serviceAccount: parseSpiffeId(id.uri)?.serviceAccount ?? "" };
  };
}

/**
 * Binds `server` on address:port with TLS: asks for (doesn't require) a client certificate, verified against
 * `rootsPem` (the trust bundle). The serving chain ends at `caPem`, the signing CA. Resolves to the port.
 */
export function bindSecureGrpc(
  server: GrpcServer,
  address: string,
  port: number,
  serving: KeyPair,
  caPem: string,
  rootsPem = caPem,
) {
  const ca: experimental.CaCertificateUpdate = { caCertificate: Buffer.from(rootsPem) };
  const identity: experimental.IdentityCertificateUpdate = {
    certificate: Buffer.from(serving.certPem + caPem),
    privateKey: Buffer.from(serving.keyPem),
  };
  // One provider for both roles: grpc-js 1.14's createCertificateProviderServerCredentials passes its first two
  // arguments to the constructor in the opposite order, so each must answer both kinds of listener; and it adds its
  // listeners before its own watcher, so an update given at once would be lost: they are answered a tick later.
  const provider: experimental.CertificateProvider = {
    addCaCertificateListener: (l) => queueMicrotask(() => l(ca)),
    removeCaCertificateListener: () => undefined,
    addIdentityCertificateListener: (l) => queueMicrotask(() => l(identity)),
    removeIdentityCertificateListener: () => undefined,
  };
  const creds = experimental.createCertificateProviderServerCredentials(provider, provider, false);
  return new Promise<number>((resolve, reject) => {
    server.bindAsync(`${address}:${port}`, creds, (err, bound) => (err ? reject(err) : resolve(bound)));
  });
}
