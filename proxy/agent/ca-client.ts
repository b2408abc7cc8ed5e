// The agent's side of the mesh CA: a fresh key kept in memory, a CSR, the token, CreateCertificate over TLS (the
// server verified against the mesh's root certificate). Also the channel credentials for xDS over mTLS.
import { X509Certificate } from "node:crypto";
import { createCsr } from "./csr.js";
import {
  CA_AUTH_HEADER,
  CREATE_CERTIFICATE,
  decodeCertificateResponse,
  encodeCertificateRequest,
  type CertificateRequest,
} from "../xds/ca.js";
import { GrpcChannel, type GrpcTls } from "../xds/grpc.js";

export interface WorkloadCert {
  /** Leaf first, then the chain (PEM). */
  certChainPem: string;
  keyPem: string;
  /** The mesh root the agent trusts (its --root-cert file), which the engine verifies peers with (ROOTCA). */
  rootPem: string;
  /** The leaf's SPIFFE ID. */
  identity: string;
  /** When the agent received it, and when it expires (ms since the epoch). */
  receivedAt: number;
  notAfter: number;
}

export interface CaClientOptions {
  /** host:port of discovery's :15012. */
  address: string;
  rootPem: string;
  /** The TLS name to verify the CA by, when address is not one of its certificate's names. */
  serverName?: string;
  /** Requested lifetime in seconds (0: the CA's default). */
  ttlSeconds?: number;
  /** The SPIFFE ID the CSR asks for; none: the CA issues the token's identity. */
  identity?: string;
  deadlineMs?: number;
}

/** TLS for :15012: the mesh root, and the workload certificate when there is one (mTLS). */
export function meshCredentials(rootPem: string, cert?: Pick<WorkloadCert, "certChainPem" | "keyPem">): GrpcTls {
  return cert ? { ca: rootPem, key: cert.keyPem, cert: cert.certChainPem } : { ca: rootPem };
}

/** Asks the CA for a certificate; rejects with the CA's reason (a gRPC error's details) when refused. */
export async function requestCertificate(o: CaClientOptions, token: string): Promise<WorkloadCert> {
  const { csrPem, keyPem } = await createCsr(o.identity ? [o.identity] : []);
  const channel = new GrpcChannel(o.address, { tls: { ...meshCredentials(o.rootPem), servername: o.serverName } });
  const req: CertificateRequest = { csr: csrPem, validity_duration: o.ttlSeconds ?? 0 };
  try {
    const res = decodeCertificateResponse(
      await channel.unary(CREATE_CERTIFICATE, encodeCertificateRequest(req), {
        metadata: { [CA_AUTH_HEADER]: `Bearer ${token}` },
        deadlineMs: o.deadlineMs ?? 10_000,
      }),
    );
    const leafPem = res.cert_chain[0];
    if (!leafPem) throw new Error("the CA answered without a certificate");
    const leaf = new X509Certificate(leafPem);
    const identity = (leaf.subjectAltName ?? "").replace(/^URI:/, "");
    return {
      certChainPem: res.cert_chain.join(""),
      keyPem,
      rootPem: o.rootPem,
      identity,
      receivedAt: Date.now(),
      notAfter: Date.parse(leaf.validTo),
    };
  } finally {
    channel.close();
  }
}

/** When to rotate: half way from receipt to expiry, as Istio's agent (SECRET_GRACE_PERIOD_RATIO 0.5). Pure. */
export function rotationAt(c: Pick<WorkloadCert, "receivedAt" | "notAfter">): number {
  return c.receivedAt + (c.notAfter - c.receivedAt) / 2;
}
