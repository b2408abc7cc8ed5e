// Istio's certificate API (istio.v1.auth.IstioCertificateService, security/proto/pki/ca.proto), shared by the
// mesh CA in discovery (server) and the agent (client). The messages are built here with protobufjs: three fields.
import type { ServiceDefinition } from "@grpc/grpc-js";
import protobuf from "protobufjs";

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

const root = protobuf.Root.fromJSON({
  nested: {
    istio: {
      nested: {
        v1: {
          nested: {
            auth: {
              nested: {
                IstioCertificateRequest: {
                  fields: { csr: { type: "string", id: 1 }, validity_duration: { type: "int64", id: 3 } },
                },
                IstioCertificateResponse: { fields: { cert_chain: { rule: "repeated", type: "string", id: 1 } } },
              },
            },
          },
        },
      },
    },
  },
});
const Request = root.lookupType("istio.v1.auth.IstioCertificateRequest");
const Response = root.lookupType("istio.v1.auth.IstioCertificateResponse");

function codec<T extends object>(type: protobuf.Type, defaults: Partial<T>) {
  return {
    encode: (v: T): Buffer => Buffer.from(type.encode(type.fromObject(v as Record<string, unknown>)).finish()),
    decode: (b: Buffer): T =>
      ({ ...defaults, ...type.toObject(type.decode(b), { longs: Number, arrays: true, defaults: true }) }) as T,
  };
}

const req = codec<CertificateRequest>(Request, { csr: "", validity_duration: 0 });
const res = codec<CertificateResponse>(Response, { cert_chain: [] });

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
