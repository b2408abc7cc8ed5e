// What the engine knows of a downstream connection, once per connection: its addresses, the SNI, and the peer's
// certificate identity when the client presented one that the listener verified (mTLS). Filters (RBAC) read it.
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";

const SPIFFE = "spiffe://";

/** The verified client certificate's identity. */
export interface PeerIdentity {
  /** Envoy's peer principal (Istio's `source.principal`): the first URI SAN without `spiffe://`, e.g.
   * `cluster.local/ns/default/sa/sleep`; undefined when the certificate has no URI SAN. */
  readonly principal: string | undefined;
  /** Every URI SAN as written (`spiffe://cluster.local/ns/default/sa/sleep`). */
  readonly uriSans: readonly string[];
  readonly dnsSans: readonly string[];
  /** The subject, as Envoy prints it (`CN=…,O=…`). */
  readonly subject: string;
}

export interface ConnectionInfo {
  /** The client's address as the socket saw it (no port). */
  readonly remoteIp: string;
  /** Where the client connected: the original destination when intercepted, else the socket's local address. */
  readonly localIp: string;
  readonly localPort: number;
  /** TLS server name (SNI), when the connection is TLS and the client sent one. */
  readonly sni: string | undefined;
  /** Set when the connection is TLS and the client's certificate was verified. */
  readonly peer: PeerIdentity | undefined;
}

const infos = new WeakMap<object, ConnectionInfo>();

/** Records a connection's facts (call once it is ready: after the TLS handshake). */
export function describeConnection(socket: Socket, dst?: { address: string; port: number }): ConnectionInfo {
  const tls = (socket as Partial<TLSSocket>).encrypted === true ? (socket as TLSSocket) : undefined;
  const info: ConnectionInfo = {
    remoteIp: socket.remoteAddress ?? "",
    localIp: dst?.address ?? socket.localAddress ?? "",
    localPort: dst?.port ?? socket.localPort ?? 0,
    sni: tls && typeof tls.servername === "string" && tls.servername ? tls.servername : undefined,
    peer: tls?.authorized ? peerIdentity(tls) : undefined,
  };
  infos.set(socket, info);
  return info;
}

/** The facts recorded for `socket`, or read from it now. */
export function connectionOf(socket: Socket): ConnectionInfo {
  return infos.get(socket) ?? describeConnection(socket);
}

function peerIdentity(tls: TLSSocket): PeerIdentity | undefined {
  const cert = tls.getPeerCertificate();
  if (!cert || !cert.raw) return undefined;
  const uriSans: string[] = [];
  const dnsSans: string[] = [];
  // Node prints subjectaltname as `URI:a, DNS:b`; values with commas are quoted JSON strings.
  for (const m of (cert.subjectaltname ?? "").matchAll(/(URI|DNS):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g)) {
    const raw = m[2] ?? "";
    const v = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
    (m[1] === "URI" ? uriSans : dnsSans).push(v);
  }
  const first = uriSans[0];
  const subject = Object.entries(cert.subject ?? {})
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("+") : String(v)}`)
    .join(",");
  return {
    principal: first === undefined ? undefined : first.startsWith(SPIFFE) ? first.slice(SPIFFE.length) : first,
    uriSans,
    dnsSans,
    subject,
  };
}
