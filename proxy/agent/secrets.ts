// The workload certificate as the SDS Secrets Istio's agent serves Envoy: `default` (certificate chain and key) and
// `ROOTCA` (the mesh root). The agent adds them to every config it hands the engine (Resources.secrets).
import type { WorkloadCert } from "./ca-client.js";

export const DEFAULT_SECRET = "default";
export const ROOT_SECRET = "ROOTCA";

export function workloadSecrets(c: Pick<WorkloadCert, "certChainPem" | "keyPem" | "rootPem">): unknown[] {
  return [
    {
      name: DEFAULT_SECRET,
      tls_certificate: {
        certificate_chain: { inline_string: c.certChainPem },
        private_key: { inline_string: c.keyPem },
      },
    },
    { name: ROOT_SECRET, validation_context: { trusted_ca: { inline_string: c.rootPem } } },
  ];
}
