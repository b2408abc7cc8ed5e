// A CertificateValidationContext, as both sides of TLS read it: the CA (trusted_ca), a CRL, SAN matchers (typed, and
// the deprecated untyped match_subject_alt_names istiod still renders, which Envoy's BackwardsCompatibleSanMatcher
// tries on every SAN type), and certificate pins (verify_certificate_spki, verify_certificate_hash), each checked as
// Envoy's DefaultCertValidator checks it. Anything else in a validation context is refused naming the field.
import type { DataSource, SanMatcher } from "./types.js";
import { join, onlyKnown, type Obj, type Reader } from "./read.js";
import { stringMatcher } from "./matchers.js";
import { dataSource } from "./upstream.js";

const SAN_TYPES = ["SAN_TYPE_UNSPECIFIED", "EMAIL", "DNS", "URI", "IP_ADDRESS", "OTHER_NAME"] as const;
const ANY_SAN: SanMatcher["type"][] = ["DNS", "URI", "EMAIL", "IP_ADDRESS"];

export interface ValidationContext {
  ca: DataSource | undefined;
  /** crl: certificates it revokes fail the chain's verification (PEM, one or more CRLs). */
  crl: DataSource | undefined;
  /** A certificate is accepted when one matcher matches one of its SANs (none: any). */
  sans: SanMatcher[];
  /** verify_certificate_spki: SHA-256 of the certificate's SubjectPublicKeyInfo (32 bytes, base64-decoded). */
  spki: Buffer[];
  /** verify_certificate_hash: SHA-256 of the certificate (32 bytes, hex-decoded). */
  hashes: Buffer[];
}

/**
 * The validation context's fields. `downstream`: a listener's, where verify_certificate_spki/hash are taken and SANs
 * need trusted_ca (as Envoy); a cluster's checks SANs even without one (its server's chain then unverified).
 */
export function validationContext(r: Reader, v: Obj | undefined, vp: string, downstream: boolean): ValidationContext {
  if (!v) return { ca: undefined, crl: undefined, sans: [], spki: [], hashes: [] };
  const known = ["trusted_ca", "crl", "match_typed_subject_alt_names", "match_subject_alt_names"];
  onlyKnown(
    r,
    v,
    vp,
    downstream ? [...known, "verify_certificate_spki", "verify_certificate_hash"] : known,
    "validation_context",
  );
  // A CRL is checked with the chain, so there must be one to check (Envoy refuses it without trusted_ca too).
  if (v.crl !== undefined && v.trusted_ca === undefined) r.fail(join(vp, "crl"), "needs trusted_ca");
  const typed = r.list(v, "match_typed_subject_alt_names", vp).map((m, i) => {
    const mp = join(join(vp, "match_typed_subject_alt_names"), i);
    const mo = r.obj(m, mp);
    onlyKnown(r, mo, mp, ["san_type", "matcher"], "SubjectAltNameMatcher");
    const type = r.enumName(mo, "san_type", mp, SAN_TYPES, "SAN_TYPE_UNSPECIFIED");
    if (type === "SAN_TYPE_UNSPECIFIED" || type === "OTHER_NAME")
      r.fail(join(mp, "san_type"), `${type} is not supported (DNS, URI, EMAIL or IP_ADDRESS)`);
    return sanMatcher(r, type as SanMatcher["type"], r.obj(mo.matcher, join(mp, "matcher")), join(mp, "matcher"));
  });
  const untyped = r.list(v, "match_subject_alt_names", vp).flatMap((m, i) => {
    const mp = join(join(vp, "match_subject_alt_names"), i);
    return ANY_SAN.map((type) => sanMatcher(r, type, r.obj(m, mp), mp));
  });
  const pin = (key: string, decode: (s: string) => Buffer, what: string): Buffer[] =>
    r.list(v, key, vp).map((s, i) => {
      const b = typeof s === "string" ? decode(s) : Buffer.alloc(0);
      if (b.length !== 32) r.fail(join(join(vp, key), i), `Invalid ${what} SHA-256 ${String(s)}`);
      return b;
    });
  const spki = pin("verify_certificate_spki", (s) => Buffer.from(s, "base64"), "base64-encoded");
  const hashes = pin("verify_certificate_hash", hexHash, "hex-encoded");
  // As Envoy: "SAN-based verification of peer certificates without trusted CA is insecure and not allowed"; pinning
  // without a CA (accepting any chain) is not implemented.
  const sans = [...typed, ...untyped];
  if (v.trusted_ca === undefined) {
    if (sans.length && downstream) r.fail(vp, "SAN-based verification of peer certificates needs trusted_ca");
    if (spki.length) r.fail(join(vp, "verify_certificate_spki"), "needs trusted_ca");
    if (hashes.length) r.fail(join(vp, "verify_certificate_hash"), "needs trusted_ca");
  }
  return {
    ca: v.trusted_ca !== undefined ? dataSource(r, v, "trusted_ca", vp) : undefined,
    crl: v.crl !== undefined ? dataSource(r, v, "crl", vp) : undefined,
    sans,
    spki,
    hashes,
  };
}

function sanMatcher(r: Reader, type: SanMatcher["type"], matcher: Obj, path: string): SanMatcher {
  return {
    type,
    test: stringMatcher(r, matcher, path),
    exact: typeof matcher.exact === "string" ? matcher.exact : undefined,
  };
}

/** Envoy's reading of a hash: 64 hex digits, or the 95-character colon-separated fingerprint (either case). */
function hexHash(s: string): Buffer {
  const hex = s.length === 95 ? s.replaceAll(":", "") : s;
  return /^[0-9a-fA-F]{64}$/.test(hex) ? Buffer.from(hex, "hex") : Buffer.alloc(0);
}
