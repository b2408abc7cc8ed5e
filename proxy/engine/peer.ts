// Who is on the other end of a downstream connection, as Envoy's connection info exposes it to RBAC and the access
// log: whether the connection is TLS, and the peer certificate's principal.
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";

export interface DownstreamPeer {
  /** The connection was TLS, terminated by this listener. */
  readonly tls: boolean;
  /**
   * Envoy's `source.principal`: the verified peer certificate's first URI SAN without the `spiffe://` prefix
   * (`cluster.local/ns/default/sa/bookinfo-productpage`); "" for plaintext, no client certificate, or no URI SAN.
   */
  readonly principal: string;
  /** Every URI SAN of the verified peer certificate, as written (RBAC's `authenticated.principal_name` matches
   * these, `spiffe://` included, as Envoy's does). */
  readonly uriSans: readonly string[];
}

export const PLAINTEXT_PEER: DownstreamPeer = Object.freeze({ tls: false, principal: "", uriSans: [] });

/** Every URI SAN in a subjectaltname string as Node formats it (a value with ", " in it comes JSON-quoted). */
export function uriSansOf(subjectAltName: string | undefined): string[] {
  const out: string[] = [];
  for (const m of (subjectAltName ?? "").matchAll(/(?:^|, )URI:("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    const v = m[1] ?? "";
    out.push(v.startsWith('"') ? (JSON.parse(v) as string) : v);
  }
  return out;
}

/** The principal in a subjectaltname string as Node formats it (`URI:spiffe://a/ns/b/sa/c, DNS:x`). */
export function principalOf(subjectAltName: string | undefined): string {
  if (!subjectAltName) return "";
  for (const part of subjectAltName.split(", ")) {
    if (!part.startsWith("URI:")) continue;
    const uri = part.slice(4);
    return uri.startsWith("spiffe://") ? uri.slice("spiffe://".length) : uri;
  }
  return "";
}

/** The peer of an accepted socket: a TLSSocket whose client certificate verified gives its principal. */
export function peerOf(socket: Socket): DownstreamPeer {
  if (!("encrypted" in socket)) return PLAINTEXT_PEER;
  const t = socket as TLSSocket;
  if (!t.authorized) return { tls: true, principal: "", uriSans: [] };
  const san = t.getPeerCertificate()?.subjectaltname;
  return { tls: true, principal: principalOf(san), uriSans: uriSansOf(san) };
}
