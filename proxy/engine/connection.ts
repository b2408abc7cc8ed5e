// What the engine knows of a downstream connection's addresses, once per connection: the client, where it connected
// (the original destination when intercepted), and the SNI. The peer's identity is peer.ts's. RBAC reads both.
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";

export interface ConnectionInfo {
  /** The client's address as the socket saw it (no port). */
  readonly remoteIp: string;
  /** Where the client connected: the original destination when intercepted, else the socket's local address. */
  readonly localIp: string;
  readonly localPort: number;
  /** TLS server name (SNI), when the connection is TLS and the client sent one. */
  readonly sni: string | undefined;
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
  };
  infos.set(socket, info);
  return info;
}

/** The facts recorded for `socket`, or read from it now. */
export function connectionOf(socket: Socket): ConnectionInfo {
  return infos.get(socket) ?? describeConnection(socket);
}
