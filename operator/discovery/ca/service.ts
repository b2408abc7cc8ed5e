// The mesh CA's CreateCertificate: authenticate the token, check the CSR asks for nothing but the token's identity,
// sign a short-lived workload certificate with that SPIFFE ID as its only SAN.
import { status, type sendUnaryData, type ServerUnaryCall, type UntypedServiceImplementation } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { CA_AUTH_HEADER, spiffeId, type CertificateRequest, type CertificateResponse } from "../../../proxy/xds/ca.js";
import { csrProblem, signCsr, type KeyPair } from "../../runtime/pki.js";
import { AuthnError, type Authenticator } from "./authn.js";

export interface MeshCaOptions {
  ca: KeyPair;
  authn: Authenticator;
  /** The mesh's trust domain now (meshConfig.trustDomain, default cluster.local). */
  trustDomain: () => string;
  /** The longest (and default) lifetime of a workload certificate. Istio's default: 24 h. */
  ttlMs: number;
  log?: Pick<Logger, "info" | "warn">;
}

export const DEFAULT_WORKLOAD_TTL_MS = 24 * 3600_000;

/** A refusal for the caller: a gRPC error with a code and a reason. */
function refusal(code: status, message: string): Error {
  return Object.assign(new Error(message), { code, details: message });
}

export function bearerToken(values: (string | Buffer)[]): string | undefined {
  for (const v of values) {
    const m = /^Bearer\s+(\S+)$/i.exec(String(v));
    if (m) return m[1];
  }
  return undefined;
}

export async function createCertificate(o: MeshCaOptions, token: string | undefined, req: CertificateRequest) {
  if (!token) throw refusal(status.UNAUTHENTICATED, `no token: send "${CA_AUTH_HEADER}: Bearer <token>"`);
  let id;
  try {
    id = await o.authn.authenticate(token);
  } catch (err) {
    const message = err instanceof AuthnError ? err.message : `token review failed: ${(err as Error).message}`;
    throw refusal(err instanceof AuthnError ? status.UNAUTHENTICATED : status.UNAVAILABLE, message);
  }
  const uri = spiffeId(o.trustDomain(), id.namespace, id.serviceAccount);
  const problem = await csrProblem(req.csr, uri);
  if (problem) throw refusal(status.INVALID_ARGUMENT, problem);
  const asked = req.validity_duration > 0 ? req.validity_duration * 1000 : o.ttlMs;
  const certPem = await signCsr(o.ca, req.csr, uri, Math.min(asked, o.ttlMs));
  o.log?.info(
    { identity: uri, ttlSeconds: Math.round(Math.min(asked, o.ttlMs) / 1000) },
    "workload certificate issued",
  );
  const response: CertificateResponse = { cert_chain: [certPem, o.ca.certPem] };
  return response;
}

/** Handlers for `grpcServer.addService(caService, ...)`. */
export function caHandlers(o: MeshCaOptions): UntypedServiceImplementation {
  return {
    CreateCertificate: (
      call: ServerUnaryCall<CertificateRequest, CertificateResponse>,
      done: sendUnaryData<CertificateResponse>,
    ) => {
      createCertificate(o, bearerToken(call.metadata.get(CA_AUTH_HEADER)), call.request).then(
        (r) => done(null, r),
        (err: Error & { code?: status }) => {
          o.log?.warn({ peer: call.getPeer(), error: err.message }, "certificate refused");
          done({ code: err.code ?? status.INTERNAL, details: err.message });
        },
      );
    },
  };
}
