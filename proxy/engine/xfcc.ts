// This hop's element of x-forwarded-client-cert, as Envoy's mutateXfccRequestHeader writes it for APPEND_FORWARD and
// SANITIZE_SET: `By=<each local URI SAN>;Hash=<sha256 of the peer certificate>`, then what
// set_current_client_cert_details asks for, in Envoy's order: Cert, Chain, Subject, URI, DNS.
import { createHash, X509Certificate } from "node:crypto";
import { headerValue } from "./http/head.js";
import { removeHeader } from "./router/index.js";

/** forward_client_cert_details (Envoy's enum; Istio's meshconfig has the same names, after its UNDEFINED). */
export const FORWARD_CLIENT_CERT_MODES = [
  "SANITIZE",
  "FORWARD_ONLY",
  "APPEND_FORWARD",
  "SANITIZE_SET",
  "ALWAYS_FORWARD_ONLY",
] as const;
export type XfccMode = (typeof FORWARD_CLIENT_CERT_MODES)[number];

/** set_current_client_cert_details: which facts of the client certificate the element carries. */
export interface XfccDetails {
  readonly cert: boolean;
  readonly chain: boolean;
  readonly subject: boolean;
  readonly uri: boolean;
  readonly dns: boolean;
}

export const NO_XFCC_DETAILS: XfccDetails = Object.freeze({
  cert: false,
  chain: false,
  subject: false,
  uri: false,
  dns: false,
});

/** What the element is made of: this listener's certificate and the verified client's. */
export interface XfccCerts {
  /** The URI SANs of this listener's own certificate. */
  readonly localUris: readonly string[];
  /** The client's certificate, DER. */
  readonly peerDer: Buffer;
  readonly peerUris: readonly string[];
  readonly peerDns: readonly string[];
  /** The client's chain, DER, leaf first (asked only for `chain`). */
  readonly chain: () => readonly Buffer[];
}

export function xfccElement(c: XfccCerts, d: XfccDetails): string {
  const parts = c.localUris.map((u) => `By=${u}`);
  parts.push(`Hash=${createHash("sha256").update(c.peerDer).digest("hex")}`);
  if (d.cert) parts.push(`Cert="${urlEncodedPem(c.peerDer)}"`);
  if (d.chain) {
    const chain = c.chain().map(urlEncodedPem).join("");
    if (chain) parts.push(`Chain="${chain}"`);
  }
  // Subject and URI are written even when empty, as Envoy does.
  if (d.subject) parts.push(`Subject="${rfc2253(new X509Certificate(c.peerDer).subject)}"`);
  if (d.uri) {
    if (c.peerUris.length) for (const u of c.peerUris) parts.push(`URI=${u}`);
    else parts.push("URI=");
  }
  if (d.dns) for (const n of c.peerDns) parts.push(`DNS=${n}`);
  return headerSafe(parts.join(";"));
}

/**
 * x-forwarded-client-cert in the request's headers as Envoy's forward_client_cert_details has it: without a verified
 * client certificate (`element` "") the header is removed (but for ALWAYS_FORWARD_ONLY); with one, SANITIZE removes
 * it, FORWARD_ONLY keeps it, APPEND_FORWARD appends this hop's element, SANITIZE_SET replaces it with that element.
 * As Envoy's mutateRequestHeaders, done once as the request arrives, before routes, RBAC or any filter read it.
 */
export function settleXfcc(headers: string[], mode: XfccMode, element: string): void {
  if (mode === "ALWAYS_FORWARD_ONLY" || (element && mode === "FORWARD_ONLY")) return;
  const prior = headerValue(headers, XFCC);
  if (prior !== undefined) removeHeader(headers, XFCC);
  if (!element || mode === "SANITIZE") return;
  headers.push(XFCC, mode === "APPEND_FORWARD" && prior ? `${prior},${element}` : element);
}
const XFCC = "x-forwarded-client-cert";

/**
 * The element as a header value can carry it: a SAN is an IA5String a CA may fill with any byte (Node returns it
 * JSON-unquoted, CR and LF included), and written raw it would end the header and start another. Control characters,
 * DEL and anything beyond ASCII are percent-encoded (UTF-8 bytes), as a URI would have them.
 */
function headerSafe(v: string): string {
  return UNSAFE.test(v) ? v.replace(UNSAFE_ALL, percentEncoded) : v;
}
const UNSAFE = /[^\t\x20-\x7e]/u;
const UNSAFE_ALL = /[^\t\x20-\x7e]/gu;
const percentEncoded = (ch: string): string => hexBytes(ch, "%");

/**
 * A certificate as PEM_write_bio_X509 writes it, url-encoded as Envoy's urlEncodedPemEncodedPeerCertificate: only
 * newline, space, `+`, `/` and `=` are escaped.
 */
export function urlEncodedPem(der: Buffer): string {
  const b64 = der.toString("base64").replace(/(.{64})(?!$)/g, "$1\n");
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`.replace(/[\n +/=]/g, (ch) => PEM_ESC[ch]!);
}
const PEM_ESC: Record<string, string> = { "\n": "%0A", " ": "%20", "+": "%2B", "/": "%2F", "=": "%3D" };

/**
 * A subject as Node prints it (X509Certificate.subject: one RDN a line in certificate order, the entries of a
 * multi-valued RDN joined by " + ", values escaped as RFC 2253 but for non-ASCII) in the form Envoy writes
 * (X509_NAME_print_ex with XN_FLAG_RFC2253): entries in reverse, "," between RDNs, "+" within one, and every byte of
 * a non-ASCII character escaped as `\XX`.
 */
export function rfc2253(multiline: string): string {
  if (!multiline) return "";
  const entries: { rdn: number; text: string }[] = [];
  multiline.split("\n").forEach((line, rdn) => {
    for (const text of line.split(" + ")) entries.push({ rdn, text });
  });
  let out = "";
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i]!;
    if (i < entries.length - 1) out += entries[i + 1]!.rdn === e.rdn ? "+" : ",";
    out += e.text.replace(/[^\p{ASCII}]/gu, escapeUtf8);
  }
  return out;
}

const escapeUtf8 = (ch: string): string => hexBytes(ch, "\\");

/** Each UTF-8 byte of `ch` as `prefix` and two upper-case hex digits. */
function hexBytes(ch: string, prefix: string): string {
  return [...Buffer.from(ch, "utf8")].map((b) => `${prefix}${b.toString(16).toUpperCase().padStart(2, "0")}`).join("");
}
