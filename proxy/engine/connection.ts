// What the engine knows of a downstream connection's addresses, once per connection: the client, where it connected
// (the original destination when intercepted), and the SNI. The peer's identity is peer.ts's. RBAC reads both.
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";

export interface ConnectionInfo {
  /** The client's address as the socket saw it (no port). */
  readonly remoteIp: string;
  /** The client's port (0 when unknown). */
  readonly remotePort: number;
  /** Where the client connected: the original destination when intercepted, else the socket's local address. */
  readonly localIp: string;
  readonly localPort: number;
  /**
   * The server name the client asked for (SNI), lower-cased as Envoy's requested server name: the TLS inspector's,
   * which passed-through TLS has too, else the terminated handshake's.
   */
  readonly sni: string | undefined;
}

const infos = new WeakMap<object, ConnectionInfo>();

/** ASCII lower case, as Envoy's AsciiStrToLower (other characters kept). */
const asciiLower = (s: string): string => s.replace(/[A-Z]+/g, (u) => u.toLowerCase());

/**
 * Records a connection's facts (call once it is ready: after the TLS handshake); `sni` is what the TLS inspector
 * read from the ClientHello.
 */
export function describeConnection(
  socket: Socket,
  dst?: { address: string; port: number },
  sni?: string,
): ConnectionInfo {
  const tls = (socket as Partial<TLSSocket>).encrypted === true ? (socket as TLSSocket) : undefined;
  const handshake = tls && typeof tls.servername === "string" && tls.servername ? tls.servername : undefined;
  const info: ConnectionInfo = {
    remoteIp: socket.remoteAddress ?? "",
    remotePort: socket.remotePort ?? 0,
    localIp: dst?.address ?? socket.localAddress ?? "",
    localPort: dst?.port ?? socket.localPort ?? 0,
    sni: sni ?? (handshake === undefined ? undefined : asciiLower(handshake)),
  };
  infos.set(socket, info);
  return info;
}

/** The facts recorded for `socket`, or read from it now. */
export function connectionOf(socket: Socket): ConnectionInfo {
  return infos.get(socket) ?? describeConnection(socket);
}
