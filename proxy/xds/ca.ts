// Istio's certificate API (istio.v1.auth.IstioCertificateService, security/proto/pki/ca.proto), shared by the
// mesh CA in discovery (server) and the agent (client). Three fields, on the bare wire (wire.ts).
import type { ServiceDefinition } from "@grpc/grpc-js";
import { LEN, VARINT, WireReader, WireWriter, longString } from "./wire.js";

export interface CertificateRequest {
  /** PEM-encoded PKCS#10 request. */
  csr: string;
  /** Requested lifetime in seconds; the CA may shorten it. */
  validity_duration: number;
}

export interface CertificateResponse {
  /** The leaf first, then the chain up to (and including) the root, each PEM. */
  cert_chain: string[];
}

/** The audience of the projected ServiceAccount token the agent presents (Istio's). */
export const CA_AUDIENCE = "istio-ca";
/** The metadata key carrying `Bearer <token>`. */
export const CA_AUTH_HEADER = "authorization";

// istio.v1.auth.IstioCertificateRequest: csr = 1, validity_duration = 3 (int64).
const req = {
  encode: (v: CertificateRequest): Buffer => new WireWriter().string(1, v.csr).uint(3, v.validity_duration).finish(),
  decode: (b: Buffer): CertificateRequest => {
    const out: CertificateRequest = { csr: "", validity_duration: 0 };
    for (const r = new WireReader(b); !r.done;) {
      const tag = r.uint32();
      if (tag === ((1 << 3) | LEN)) out.csr = r.string();
      else if (tag === ((3 << 3) | VARINT)) out.validity_duration = Number(longString(r.varint64(), true));
      else r.skip(tag & 7);
    }
    return out;
  },
};

// istio.v1.auth.IstioCertificateResponse: repeated cert_chain = 1.
const res = {
  encode: (v: CertificateResponse): Buffer => new WireWriter().strings(1, v.cert_chain).finish(),
  decode: (b: Buffer): CertificateResponse => {
    const out: CertificateResponse = { cert_chain: [] };
    for (const r = new WireReader(b); !r.done;) {
      const tag = r.uint32();
      if (tag === ((1 << 3) | LEN)) out.cert_chain.push(r.string());
      else r.skip(tag & 7);
    }
    return out;
  },
};

/** CreateCertificate's method, and its messages as bytes (the agent's client; discovery's server below). */
export const CREATE_CERTIFICATE = "/istio.v1.auth.IstioCertificateService/CreateCertificate";
export const encodeCertificateRequest = req.encode;
export const decodeCertificateResponse = res.decode;

export const caService: ServiceDefinition = {
  CreateCertificate: {
    path: CREATE_CERTIFICATE,
    requestStream: false,
    responseStream: false,
    requestSerialize: req.encode,
    requestDeserialize: req.decode,
    responseSerialize: res.encode,
    responseDeserialize: res.decode,
  },
};

/** A SPIFFE ID as Istio writes it. */
export function spiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

/** The namespace and ServiceAccount in `spiffe://<td>/ns/<ns>/sa/<sa>`, or undefined. */
export function parseSpiffeId(
  uri: string,
): { trustDomain: string; namespace: string; serviceAccount: string } | undefined {
  const m = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(uri);
  return m ? { trustDomain: m[1] as string, namespace: m[2] as string, serviceAccount: m[3] as string } : undefined;
}
