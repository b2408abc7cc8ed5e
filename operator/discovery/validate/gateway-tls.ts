// A Gateway server's `tls`, as far as a Weft gateway implements it: HTTPS and TLS servers terminate TLS (SIMPLE;
// MUTUAL with client certificates checked against a CA; OPTIONAL_MUTUAL, as MUTUAL but a client may present none)
// with a certificate and key from files mounted into the gateway (serverCertificate, privateKey, caCertificates) or
// from a Kubernetes Secret of the gateway's namespace (credentialName, served over SDS), or two of either, an RSA and
// an ECDSA certificate (tlsCertificates, credentialNames: gateway-certificates.ts), or pass TLS through
// (PASSTHROUGH: routed by SNI with VirtualService tls routes); ISTIO_MUTUAL servers terminate mesh mTLS with the
// gateway's own certificate; a TLS server that terminates TLS proxies the bound VirtualServices' tcp routes; an HTTP
// server may redirect to https (httpsRedirect). Under MUTUAL and OPTIONAL_MUTUAL a client certificate must also
// satisfy subjectAltNames, caCrl (files only: a credentialName's Secret holds its own `ca.crl`/`crl`) and the pins
// verifyCertificateSpki and verifyCertificateHash; under ISTIO_MUTUAL subjectAltNames and caCrl. Anything else is
// refused by name, never ignored.
import type { ServerTLSSettings } from "../model/istio.js";
import { cipherSuiteError, cipherSuiteNames } from "../../../proxy/xds/cipher-suites.js";
import { certificateSourceProblems } from "./gateway-certificates.js";

/** What checks a client certificate further: with SIMPLE no certificate is asked for, so none would apply. */
const CLIENT_CHECKS = ["subjectAltNames", "caCrl", "verifyCertificateSpki", "verifyCertificateHash"];
/** Pins istiod applies only to MUTUAL and OPTIONAL_MUTUAL (ApplyCredentialSDSToServerCommonTLSContext). */
const PINS = ["verifyCertificateSpki", "verifyCertificateHash"];
const VERSIONS = ["TLS_AUTO", "TLSV1_0", "TLSV1_1", "TLSV1_2", "TLSV1_3"];
/** What ISTIO_MUTUAL can't have, in Istio's words (validateTLSOptions): the mesh certificate and root are used. */
const NOT_WITH_ISTIO_MUTUAL: Record<string, string> = {
  serverCertificate: "server certificate",
  privateKey: "private key",
  caCertificates: "CA bundle",
  tlsCertificates: "tlsCertificates",
  credentialName: "credentialName",
  credentialNames: "credentialNames",
};
/** Set with ISTIO_MUTUAL, istiod applies none of these (only SIMPLE and MUTUAL take them): refused, never ignored. */
const NOT_APPLIED_WITH_ISTIO_MUTUAL = ["minProtocolVersion", "maxProtocolVersion", "cipherSuites", "httpsRedirect"];

/** What is wrong with a server's tls for its protocol (HTTP: only httpsRedirect; HTTPS and TLS: SIMPLE, MUTUAL,
 * OPTIONAL_MUTUAL, ISTIO_MUTUAL or PASSTHROUGH). */
export function serverTlsProblems(tls: ServerTLSSettings, protocol: string, path: string): string[] {
  const out: string[] = [];
  const set = (k: string) => tls[k] !== undefined && tls[k] !== null;
  if (protocol !== "HTTPS" && protocol !== "TLS") {
    for (const k of Object.keys(tls))
      if (k !== "httpsRedirect" && set(k))
        out.push(`${path}.tls.${k}: only httpsRedirect applies to a ${protocol} server`);
    return out;
  }
  const mode = tls.mode ?? "PASSTHROUGH"; // Istio's default
  if (mode === "PASSTHROUGH") {
    // The backend terminates TLS: the gateway routes the ClientHello's server name (VirtualService tls routes).
    for (const k of Object.keys(tls))
      if (k !== "mode" && set(k) && tls[k] !== false)
        out.push(`${path}.tls.${k}: is not used with PASSTHROUGH (the backend terminates TLS)`);
    return out;
  }
  if (mode === "ISTIO_MUTUAL") {
    // The gateway presents its own mesh certificate (SDS default) and verifies clients against the mesh root (ROOTCA).
    for (const [k, what] of Object.entries(NOT_WITH_ISTIO_MUTUAL))
      if (set(k)) out.push(`${path}.tls.${k}: ISTIO_MUTUAL TLS cannot have associated ${what}`);
    for (const k of NOT_APPLIED_WITH_ISTIO_MUTUAL)
      if (set(k) && tls[k] !== false)
        out.push(`${path}.tls.${k}: is not applied with ISTIO_MUTUAL (the mesh's TLS settings are used)`);
    for (const k of PINS)
      if (set(k)) out.push(`${path}.tls.${k}: is not applied with ISTIO_MUTUAL (only MUTUAL and OPTIONAL_MUTUAL)`);
    return [...out, ...clientCheckProblems(tls, path)];
  }
  out.push(...clientCheckProblems(tls, path));
  // As istiod's validateTLSOptions; the other checks, which istiod would drop or Envoy refuse, are refused as well.
  if (mode === "SIMPLE")
    for (const k of CLIENT_CHECKS)
      if (set(k))
        out.push(
          k === "caCrl"
            ? `${path}.tls.caCrl: CRL is not supported with SIMPLE TLS`
            : `${path}.tls.${k}: is not used with SIMPLE (no client certificate is asked for)`,
        );
  // As Envoy's tls_params: a minimum above the maximum, or a suite the proxies don't have, would be NACKed.
  const [min, max] = [VERSIONS.indexOf(tls.minProtocolVersion ?? ""), VERSIONS.indexOf(tls.maxProtocolVersion ?? "")];
  if (min > 0 && max > 0 && min > max)
    out.push(
      `${path}.tls.minProtocolVersion: ${tls.minProtocolVersion} is above maxProtocolVersion ${tls.maxProtocolVersion}`,
    );
  (tls.cipherSuites ?? []).forEach((c, i) => {
    for (const n of cipherSuiteNames(c)) {
      const why = cipherSuiteError(n);
      if (why) out.push(`${path}.tls.cipherSuites[${i}]: ${why}`);
    }
  });
  // A TLS server terminating TLS proxies the bound VirtualServices' tcp routes (istiod's TLS-terminating TCP server).
  if (mode !== "SIMPLE" && mode !== "MUTUAL" && mode !== "OPTIONAL_MUTUAL")
    out.push(
      `${path}.tls.mode: ${mode} is not supported yet for ${protocol} servers (SIMPLE, MUTUAL, OPTIONAL_MUTUAL, ISTIO_MUTUAL and PASSTHROUGH are)`,
    );
  return [...out, ...certificateSourceProblems(tls, mode, path)];
}

/** The client checks' values: lists of strings, and pins Envoy can read (its messages, which would NACK the listener). */
function clientCheckProblems(tls: ServerTLSSettings, path: string): string[] {
  const out: string[] = [];
  const list = (k: string): unknown[] => {
    const v = tls[k];
    if (v === undefined || v === null) return [];
    if (Array.isArray(v) && v.every((x) => typeof x === "string" && x)) return v;
    out.push(`${path}.tls.${k}: must be a list of non-empty strings`);
    return [];
  };
  list("subjectAltNames");
  if (tls.caCrl !== undefined && (typeof tls.caCrl !== "string" || !tls.caCrl))
    out.push(`${path}.tls.caCrl: must be the CRL's file`);
  list("verifyCertificateSpki").forEach((v, i) => {
    if (Buffer.from(String(v), "base64").length !== 32)
      out.push(`${path}.tls.verifyCertificateSpki[${i}]: Invalid base64-encoded SHA-256 ${String(v)}`);
  });
  list("verifyCertificateHash").forEach((v, i) => {
    const hex = String(v).length === 95 ? String(v).replaceAll(":", "") : String(v);
    if (!/^[0-9a-fA-F]{64}$/.test(hex))
      out.push(`${path}.tls.verifyCertificateHash[${i}]: Invalid hex-encoded SHA-256 ${String(v)}`);
  });
  return out;
}
