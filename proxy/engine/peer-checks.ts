// What a peer's certificate must be beyond a chain the CA signed, as Envoy's DefaultCertValidator checks it: a SAN
// one of the matchers accepts (fail_verify_san), and a pinned SHA-256 of the certificate or of its public key
// (verify_certificate_hash or verify_certificate_spki: either list matching; fail_verify_cert_hash).
import { createHash, type X509Certificate } from "node:crypto";
import { SocketAddress } from "node:net";
import type { PeerCertificate } from "node:tls";
import type { SanMatcher } from "./config/types.js";
import { subjectAltNames } from "./peer.js";

/** Node's names of the SAN kinds the matchers take. */
const KINDS: Record<string, SanMatcher["type"]> = {
  DNS: "DNS",
  URI: "URI",
  email: "EMAIL",
  "IP Address": "IP_ADDRESS",
};

/**
 * The certificate's SANs by type as Envoy's generalNameAsString has them: the value as written, an IP address as
 * its text form (Node writes IPv6 uncompressed and upper case, `FD00:0:0:0:0:0:0:1`; Envoy `fd00::1`).
 */
function sansOf(cert: PeerCertificate): { type: SanMatcher["type"]; value: string }[] {
  const out: { type: SanMatcher["type"]; value: string }[] = [];
  for (const { kind, value } of subjectAltNames(cert.subjectaltname)) {
    const type = KINDS[kind];
    if (type === "IP_ADDRESS" && value.includes(":"))
      out.push({ type, value: new SocketAddress({ address: value, family: "ipv6" }).address });
    else if (type) out.push({ type, value });
  }
  return out;
}

/**
 * A DNS SAN against an exact matcher, as Envoy's dnsNameMatch (the SAN the pattern): equal in any ASCII case, or a
 * wildcard in the SAN's first label (`*`, `api*`, `*-east`; not in an A-label `xn--`) standing for the name's first
 * label, the rest equal.
 */
function dnsNameMatch(name: string, pattern: string): boolean {
  const n = asciiLower(name);
  const p = asciiLower(pattern);
  if (n === p) return true;
  const nd = n.indexOf(".");
  const pd = p.indexOf(".");
  if (nd < 0 || pd < 0) return false;
  const label = n.slice(0, nd);
  const glob = p.slice(0, pd);
  const star = glob.indexOf("*");
  if (star < 0 || p.includes("*", pd) || glob.startsWith("xn--") || n.slice(nd) !== p.slice(pd)) return false;
  if (glob === "*") return true;
  return (
    glob.lastIndexOf("*") === star &&
    glob.length <= label.length + 1 &&
    label.startsWith(glob.slice(0, star)) &&
    label.endsWith(glob.slice(star + 1))
  );
}
const asciiLower = (s: string) => s.replace(/[A-Z]+/g, (c) => c.toLowerCase());

/** Envoy's StringSanMatcher: an exact matcher on a DNS SAN is a DNS name match, any other compares the SAN. */
const sanMatches = (m: SanMatcher, value: string): boolean =>
  m.type === "DNS" && m.exact !== undefined ? dnsNameMatch(m.exact, value) : m.test(value);

/** Does the peer certificate satisfy the SAN matchers (any one of them, as Envoy)? */
export function sanAccepted(matchers: readonly SanMatcher[], cert: PeerCertificate): boolean {
  if (!matchers.length) return true;
  const sans = sansOf(cert);
  return matchers.some((m) => sans.some((s) => s.type === m.type && sanMatches(m, s.value)));
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
