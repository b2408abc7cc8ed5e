// What a peer's certificate must be beyond a chain the CA signed, as Envoy's DefaultCertValidator checks it: a SAN
// one of the matchers accepts (fail_verify_san), and a pinned SHA-256 of the certificate or of its public key
// (verify_certificate_hash or verify_certificate_spki: either list matching; fail_verify_cert_hash).
import { createHash, type X509Certificate } from "node:crypto";
import type { PeerCertificate } from "node:tls";
import type { SanMatcher } from "./config/types.js";

/** The certificate's SANs by type, from Node's `subjectaltname` ("DNS:a, IP Address:1.2.3.4, URI:x"). */
function sansOf(cert: PeerCertificate): { type: SanMatcher["type"]; value: string }[] {
  const out: { type: SanMatcher["type"]; value: string }[] = [];
  for (const part of (cert.subjectaltname ?? "").split(", ")) {
    const i = part.indexOf(":");
    if (i < 0) continue;
    const kind = part.slice(0, i);
    const value = part.slice(i + 1);
    const type =
      kind === "DNS"
        ? "DNS"
        : kind === "URI"
          ? "URI"
          : kind === "email"
            ? "EMAIL"
            : kind === "IP Address"
              ? "IP_ADDRESS"
              : undefined;
    if (type) out.push({ type, value });
  }
  return out;
}

/** A DNS SAN `*.example.com` matches an exact name with one label in place of the star (Envoy's dnsNameMatch). */
function dnsMatches(m: SanMatcher, san: string): boolean {
  if (m.test(san)) return true;
  if (m.exact === undefined || !san.startsWith("*.")) return false;
  const dot = m.exact.indexOf(".");
  return dot > 0 && m.exact.slice(dot + 1).toLowerCase() === san.slice(2).toLowerCase();
}

/** Does the peer certificate satisfy the SAN matchers (any one of them, as Envoy)? */
export function sanAccepted(matchers: readonly SanMatcher[], cert: PeerCertificate): boolean {
  if (!matchers.length) return true;
  const sans = sansOf(cert);
  return matchers.some((m) =>
    sans.some((s) => s.type === m.type && (m.type === "DNS" ? dnsMatches(m, s.value) : m.test(s.value))),
  );
}

/** Is the certificate pinned (no pins: any is)? SHA-256 of its DER, or of its SubjectPublicKeyInfo's DER. */
export function pinAccepted(hashes: readonly Buffer[], spki: readonly Buffer[], cert: X509Certificate): boolean {
  if (!hashes.length && !spki.length) return true;
  const sha256 = (b: Buffer) => createHash("sha256").update(b).digest();
  const hash = sha256(cert.raw);
  if (hashes.some((h) => h.equals(hash))) return true;
  const key = sha256(cert.publicKey.export({ type: "spki", format: "der" }));
  return spki.some((k) => k.equals(key));
}
