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
  /**
   * This connection's element of x-forwarded-client-cert as Envoy writes it with set_current_client_cert_details
   * {uri}: `By=<our URI SAN>;Hash=<sha256 of the peer certificate>;URI=<its URI SAN>`; "" without a verified peer.
   */
  readonly clientCertDetails: string;
  /** Every URI SAN of the verified peer certificate, as written (RBAC's `authenticated.principal_name` matches
   * these, `spiffe://` included, as Envoy's does). */
  readonly uriSans: readonly string[];
}

export const PLAINTEXT_PEER: DownstreamPeer = Object.freeze({
  tls: false,
  principal: "",
  clientCertDetails: "",
  uriSans: [],
});

const uriSan = (san: string | undefined): string =>
  san
    ?.split(", ")
    .find((n) => n.startsWith("URI:"))
    ?.slice(4) ?? "";

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
  if (!t.authorized) return { tls: true, principal: "", clientCertDetails: "", uriSans: [] };
  const peer = t.getPeerCertificate();
  const own = t.getCertificate();
  const by = uriSan(own && "subjectaltname" in own ? (own as { subjectaltname?: string }).subjectaltname : undefined);
  const hash = (peer?.fingerprint256 ?? "").replace(/:/g, "").toLowerCase();
  return {
    tls: true,
    principal: principalOf(peer?.subjectaltname),
    clientCertDetails: `${by ? `By=${by};` : ""}Hash=${hash};URI=${uriSan(peer?.subjectaltname)}`,
    uriSans: uriSansOf(peer?.subjectaltname),
  };
}
