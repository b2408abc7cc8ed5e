// Filter chain matches through the engine with real TCP clients: echo backends that say who they are, TcpProxy
// chains, and a client that connects from a chosen local address. Loopback 127.0.0.0/8 is all local on Linux, so a
// client bound to 127.0.0.5 arrives from 127.0.0.5.
import { connect, createServer, type AddressInfo, type Server } from "node:net";

const TCP = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";

/** A TCP echo server that prefixes what it sends back with its name. */
export async function echo(name: string): Promise<{ port: number; server: Server }> {
  const server = createServer((s) => s.on("data", (d: Buffer) => s.write(`${name}:${d.toString()}`)));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as AddressInfo).port, server };
}

/** A CidrRange from "address/len". */
export const range = (cidr: string): { address_prefix: string; prefix_len: number } => {
  const [address_prefix, len] = cidr.split("/");
  return { address_prefix: address_prefix!, prefix_len: Number(len) };
};

/** A chain proxying to the cluster `to`, matched by `match` (a filter_chain_match; none: no match). */
export function tcpChain(to: string, match?: Record<string, unknown>): Record<string, unknown> {
  return {
    ...(match ? { filter_chain_match: match } : {}),
    filters: [{ name: "tcp", typed_config: { "@type": TCP, stat_prefix: to, cluster: to } }],
  };
}

/**
 * What the backend behind the chain a client from `from` (an address, or also a port) to `to` gets says, or
 * "closed" when no chain takes it.
 */
export function reach(
  port: number,
  from: string | { address: string; port: number },
  to = "127.0.0.1",
): Promise<string> {
  const local =
    typeof from === "string" ? { localAddress: from } : { localAddress: from.address, localPort: from.port };
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: to, ...local }, () => s.write("hi"));
    s.once("data", (d: Buffer) => {
      resolve(d.toString());
      s.end();
    });
    s.once("close", () => resolve("closed"));
    s.on("error", (e: NodeJS.ErrnoException) => (e.code === "ECONNRESET" ? resolve("closed") : reject(e)));
  });
}
