// Where a terminating Gateway server's certificates come from (SIMPLE, MUTUAL, OPTIONAL_MUTUAL), as istiod's
// validateTLSOptions and the CRD's bounds: one source of credentialName (a Secret), credentialNames (one or two
// Secrets: an RSA and an ECDSA certificate, the proxy presenting the one a client can verify), serverCertificate and
// privateKey (files mounted into the gateway), tlsCertificates (one or two such pairs). With Secrets the CA
// (MUTUAL) and its CRL are the Secret's (the first credentialName's `-cacert`), so file fields beside them would be
// ignored by istiod: refused. With files, MUTUAL's CA is the server's caCertificates (istiod reads no other).
import type { ServerTLSSettings } from "../model/istio.js";

/** The CRD's MaxItems for credentialNames and tlsCertificates; istiod's "can support up to 2 server certificates". */
const MAX_CERTIFICATES = 2;

/** What is wrong with where a SIMPLE, MUTUAL or OPTIONAL_MUTUAL server's certificates (and client CA) come from. */
export function certificateSourceProblems(tls: ServerTLSSettings, mode: string, path: string): string[] {
  const set = (k: string) => tls[k] !== undefined && tls[k] !== null;
  const given = [
    set("credentialName") && "credentialName",
    set("credentialNames") && "credentialNames",
    (set("serverCertificate") || set("privateKey")) && (set("serverCertificate") ? "serverCertificate" : "privateKey"),
    set("tlsCertificates") && "tlsCertificates",
  ].filter((k): k is string => !!k);
  // credentialName beside files keeps its own message below (the Secret holds them); the plural sources take Istio's.
  if (given.length > 1 && (set("credentialNames") || set("tlsCertificates")))
    return [
      `${path}.tls.${given[1]}: only one of credential_name, credential_names, server_certificate/private_key, tls_certificates should be specified`,
    ];
  const prefix = mode === "SIMPLE" ? "SIMPLE TLS" : "MUTUAL TLS";
  const tooMany = (k: string, n: number) =>
    n > MAX_CERTIFICATES ? [`${path}.tls.${k}: ${prefix} can support up to 2 server certificates`] : [];
  const out: string[] = [];
  if (set("credentialName") || set("credentialNames")) {
    const field = set("credentialName") ? "credentialName" : "credentialNames";
    if (set("credentialName") && (typeof tls.credentialName !== "string" || !tls.credentialName))
      out.push(`${path}.tls.credentialName: must be a Secret's name`);
    const names = Array.isArray(tls.credentialNames) ? (tls.credentialNames as unknown[]) : [];
    if (set("credentialNames")) {
      if (!names.length) out.push(`${path}.tls.credentialNames: must have at least 1 item`);
      out.push(...tooMany("credentialNames", names.length));
      names.forEach((n, i) => {
        if (typeof n !== "string" || !n) out.push(`${path}.tls.credentialNames[${i}]: must be a Secret's name`);
        else if (names.indexOf(n) < i) out.push(`${path}.tls.credentialNames[${i}]: ${n} is listed twice`);
      });
    }
    // The Secret holds them all (the CA: its cacert or ca.crt, or Secret <name>-cacert): files as well would be ignored.
    for (const k of ["serverCertificate", "privateKey", "caCertificates"])
      if (set(k)) out.push(`${path}.tls.${k}: is not used with ${field} (the Secret holds it)`);
    if (set("caCrl"))
      out.push(
        `${path}.tls.caCrl: CRL is not supported with credentialName. CRL has to be specified in the credential`,
      );
    return out;
  }
  if (set("tlsCertificates")) {
    const list = Array.isArray(tls.tlsCertificates) ? (tls.tlsCertificates as Record<string, unknown>[]) : [];
    if (!list.length) out.push(`${path}.tls.tlsCertificates: must have at least 1 item`);
    out.push(...tooMany("tlsCertificates", list.length));
    list.forEach((c, i) => {
      const at = `${path}.tls.tlsCertificates[${i}]`;
      if (!c.serverCertificate) out.push(`${at}.serverCertificate: is required (the certificate's file)`);
      if (!c.privateKey) out.push(`${at}.privateKey: is required (the key's file)`);
      // Hidden from Istio's docs and never read by istiod (its client CA is the server's caCertificates).
      if (c.caCertificates) out.push(`${at}.caCertificates: is not used: give the server's caCertificates`);
    });
  } else {
    if (!tls.serverCertificate) out.push(`${path}.tls.serverCertificate: is required (the certificate's file)`);
    if (!tls.privateKey) out.push(`${path}.tls.privateKey: is required (the key's file)`);
  }
  // As istiod's validateTLSOptions ("MUTUAL TLS requires a client CA bundle"): OPTIONAL_MUTUAL checks a certificate a
  // client presents against the same CA.
  if ((mode === "MUTUAL" || mode === "OPTIONAL_MUTUAL") && !tls.caCertificates)
    out.push(`${path}.tls.caCertificates: is required with ${mode} (the CA client certificates are checked against)`);
  return out;
}
