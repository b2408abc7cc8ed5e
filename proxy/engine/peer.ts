// Who is on the other end of a downstream connection, as Envoy's connection info exposes it to RBAC and the access
// log: whether the connection is TLS, and the peer certificate's principal.
import type { Socket } from "node:net";
import type { DetailedPeerCertificate, TLSSocket } from "node:tls";
import { xfccElement, type XfccDetails } from "./xfcc.js";

export interface DownstreamPeer {
  /** The connection was TLS, terminated by this listener. */
  readonly tls: boolean;
  /**
   * Envoy's `source.principal`: the verified peer certificate's first URI SAN without the `spiffe://` prefix
   * (`cluster.local/ns/default/sa/bookinfo-productpage`); "" for plaintext, no client certificate, or no URI SAN.
   */
  readonly principal: string;
  /**
   * This connection's element of x-forwarded-client-cert as Envoy writes it for these set_current_client_cert_details
   * (xfcc.ts); "" without a verified peer. Made once per connection: the same details give the same string.
   */
  readonly xfcc: (details: XfccDetails) => string;
  /** Every URI SAN of the verified peer certificate, as written (RBAC's `authenticated.principal_name` matches
   * these, `spiffe://` included, as Envoy's does). */
  readonly uriSans: readonly string[];
}

export const PLAINTEXT_PEER: DownstreamPeer = Object.freeze({
  tls: false,
  principal: "",
  xfcc: () => "",
  uriSans: [],
});

/**
 * Every SAN in a subjectaltname string as Node formats it (`DNS:a, IP Address:1.2.3.4, URI:x`), each kind as Node
 * names it and its value as the certificate holds it: Node writes a value with a comma, quote, backslash, apostrophe
 * or control character as a JSON string, which is read back.
 */
export function subjectAltNames(subjectAltName: string | undefined): { kind: string; value: string }[] {
  const out: { kind: string; value: string }[] = [];
  for (const m of (subjectAltName ?? "").matchAll(SAN)) {
    const v = m[2] ?? "";
    out.push({ kind: m[1] ?? "", value: v.startsWith('"') ? (JSON.parse(v) as string) : v });
  }
  return out;
}
const SAN = /(?:^|, )([^:,]+):("(?:[^"\\]|\\.)*"|[^,]*)/g;

/** Every SAN of a kind in a subjectaltname string as Node formats it. */
export function sansOf(subjectAltName: string | undefined, kind: "URI" | "DNS"): string[] {
  const out: string[] = [];
  for (const san of subjectAltNames(subjectAltName)) if (san.kind === kind) out.push(san.value);
  return out;
}

/** Every URI SAN in a subjectaltname string as Node formats it. */
export const uriSansOf = (subjectAltName: string | undefined): string[] => sansOf(subjectAltName, "URI");

/** The principal in a subjectaltname string as Node formats it (`URI:spiffe://a/ns/b/sa/c, DNS:x`). */
export function principalOf(subjectAltName: string | undefined): string {
  if (!subjectAltName) return "";
  const uri = uriSansOf(subjectAltName)[0] ?? "";
  return uri.startsWith("spiffe://") ? uri.slice("spiffe://".length) : uri;
}

/** The peer of an accepted socket: a TLSSocket whose client certificate verified gives its principal. */
export function peerOf(socket: Socket): DownstreamPeer {
  if (!("encrypted" in socket)) return PLAINTEXT_PEER;
  const t = socket as TLSSocket;
  if (!t.authorized) return { tls: true, principal: "", xfcc: () => "", uriSans: [] };
  const peer = t.getPeerCertificate();
  const uriSans = uriSansOf(peer?.subjectaltname);
  let cachedFor: XfccDetails | undefined;
  let cached = "";
  return {
    tls: true,
    principal: principalOf(peer?.subjectaltname),
    uriSans,
    xfcc: (details) => {
      if (details === cachedFor) return cached;
      const own = t.getCertificate();
      const ownSans = own && "subjectaltname" in own ? (own as { subjectaltname?: string }).subjectaltname : undefined;
      cached = xfccElement(
        {
          localUris: uriSansOf(ownSans),
          peerDer: peer.raw,
          peerUris: uriSans,
          peerDns: sansOf(peer.subjectaltname, "DNS"),
          chain: () => sentChain(t.getPeerCertificate(true)),
        },
        details,
      );
      cachedFor = details;
      return cached;
    },
  };
}

/**
 * The client's chain, leaf first, as Envoy's Chain (SSL_get_peer_full_cert_chain): Node links each certificate to its
 * issuer and ends at the trusted root even when the client didn't send it, so a self-signed root is left out (a
 * client sending its root too is the one case that differs from Envoy's).
 */
function sentChain(leaf: DetailedPeerCertificate): Buffer[] {
  const out: Buffer[] = [leaf.raw];
  for (let c = leaf.issuerCertificate; c && c !== leaf && out.length < 16; c = c.issuerCertificate) {
    if (c.issuerCertificate === c || c.fingerprint256 === c.issuerCertificate?.fingerprint256) break;
    out.push(c.raw);
  }
  return out;
}
