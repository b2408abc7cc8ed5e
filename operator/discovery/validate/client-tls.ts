// A DestinationRule's `tls` (ClientTLSSettings), as Istio's webhook checks it (pkg/config/validation/agent ValidateTLS),
// with its messages, and what this proxy adds: the files can't be set under ISTIO_MUTUAL, a CRL needs verification.
// `credentialName` (SIMPLE and MUTUAL): the Secret holds the client certificate, key, CA and CRL, so none of those
// files may be set beside it. Pure.
import type { ClientTLSSettings } from "../model/istio.js";

/** `[path, message]` pairs; `path` is the tls field's (`spec.trafficPolicy.tls`). */
export function clientTlsProblems(tls: ClientTLSSettings | undefined, path: string): [string, string][] {
  if (!tls) return [];
  const out: [string, string][] = [];
  const origination = tls.mode === "SIMPLE" || tls.mode === "MUTUAL";
  if (
    tls.insecureSkipVerify &&
    tls.mode === "SIMPLE" &&
    (tls.caCertificates || tls.credentialName || tls.subjectAltNames)
  )
    out.push([
      path,
      "cannot specify CaCertificates or CredentialName or SubjectAltNames when InsecureSkipVerify is set true",
    ]);
  if (tls.insecureSkipVerify && tls.mode === "MUTUAL" && (tls.caCertificates || tls.subjectAltNames))
    out.push([path, "cannot specify CaCertificates or SubjectAltNames when InsecureSkipVerify is set true"]);
  if (origination && tls.credentialName) {
    if (tls.clientCertificate || tls.caCertificates || tls.privateKey || tls.caCrl)
      out.push([path, "cannot specify client certificates or CA certificate or CA CRL If credentialName is set"]);
    return out;
  }
  if (tls.mode === "ISTIO_MUTUAL")
    for (const k of ["caCertificates", "clientCertificate", "privateKey", "caCrl", "credentialName"] as const)
      if (tls[k] !== undefined)
        out.push([`${path}.${k}`, "cannot be set with ISTIO_MUTUAL (the mesh certificate and root are used)"]);
  if (tls.caCrl && tls.insecureSkipVerify)
    out.push([`${path}.caCrl`, "cannot be enforced with insecureSkipVerify (nothing is verified)"]);
  if (tls.mode === "MUTUAL" && (!tls.clientCertificate || !tls.privateKey))
    out.push([path, "MUTUAL needs clientCertificate and privateKey"]);
  return out;
}
