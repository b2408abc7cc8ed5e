// A listening socket the agent owns and never accepts on. The agent binds it; each engine it starts gets the handle
// over IPC and calls listen(2) on it, so only engines take connections (no accept race, no connection crossing IPC),
// while the socket outlives every engine: a hot restart or a crash never closes it, and connections that arrive
// between two engines wait in the kernel's accept queue. (Before the first engine listens, the bound socket refuses.)
import { getSystemErrorName } from "node:util";
import { isIPv6 } from "node:net";

/** libuv's TCP handle as Node exposes it: a bound handle that child_process.send hands over as is ("net.Native"). */
export interface TcpHandle {
  bind(address: string, port: number): number;
  bind6(address: string, port: number, flags: number): number;
  getsockname(out: { address?: string; port?: number }): number;
  close(cb?: () => void): void;
}

interface TcpWrap {
  TCP: new (type: number) => TcpHandle;
  constants: { SERVER: number };
}

// process.binding('tcp_wrap') is on Node's allow-list; it is the only way to hold a bound socket without libuv
// polling it for accepts (net.Server always listens). Typed here once, at the boundary.
const tcpWrap = (process as unknown as { binding(name: "tcp_wrap"): TcpWrap }).binding("tcp_wrap");

export class ListenSocket {
  private constructor(
    readonly handle: TcpHandle,
    readonly address: string,
    readonly port: number,
  ) {}

  /** Binds address:port (0 for any port); throws with the errno's name (EADDRINUSE, EACCES, EADDRNOTAVAIL). */
  static bind(address: string, port: number): ListenSocket {
    const handle = new tcpWrap.TCP(tcpWrap.constants.SERVER);
    const err = isIPv6(address) ? handle.bind6(address, port, 0) : handle.bind(address, port);
    if (err) {
      handle.close();
      throw new Error(`${getSystemErrorName(err)} ${address}:${port}`);
    }
    // libuv defers a bind's EADDRINUSE to listen(), which happens in the engine, on a handle that doesn't carry the
    // deferred error across processes (the engine would listen on an ephemeral port instead). Unbound means in use.
    const out: { address?: string; port?: number } = {};
    handle.getsockname(out);
    if (!out.port || (port !== 0 && out.port !== port)) {
      handle.close();
      throw new Error(`EADDRINUSE ${address}:${port}`);
    }
    return new ListenSocket(handle, address, out.port);
  }

  close(): void {
    this.handle.close();
  }
}
