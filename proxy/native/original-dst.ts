// The original destination of a connection iptables REDIRECTed to the proxy (interception REDIRECT), from the
// small N-API addon hack/native.ts builds (Node has no getsockopt). Loaded on first use; when it can't be loaded,
// `originalDstUnavailable` says why and the caller decides (the REDIRECT sidecar stays unready, saying so).
import { loadAddon } from "./addon.js";
import type { Socket } from "node:net";

export interface OriginalDst {
  address: string;
  port: number;
  family: "IPv4" | "IPv6";
}

interface Addon {
  originalDst(fd: number): OriginalDst | null;
}

let addon: Addon | undefined;
let unavailable: string | undefined;
let tried = false;

function load(): Addon | undefined {
  if (tried) return addon;
  tried = true;
  const loaded = loadAddon<Addon>("original_dst.node");
  if (typeof loaded !== "string") return (addon = loaded);
  unavailable = `the original-destination addon (original_dst.node) is not built: ${loaded}; run npm run build where a C compiler and Node's headers are`;
  return undefined;
}

/** Why original destinations can't be read, or undefined when they can. */
export function originalDstUnavailable(): string | undefined {
  load();
  return unavailable;
}

/** The connection's address before REDIRECT; undefined when it wasn't redirected (or the addon is missing). */
export function originalDst(socket: Socket): OriginalDst | undefined {
  const a = load();
  // net.Socket keeps its file descriptor on the libuv handle; there is no public accessor.
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (!a || fd === undefined || fd < 0) return undefined;
  const dst = a.originalDst(fd);
  if (!dst) return undefined;
  // Not redirected, but conntrack answers with the address as dialled: the proxy's own port.
  if (dst.port === socket.localPort && dst.address === socket.localAddress?.replace(/^::ffff:/, "")) return undefined;
  return dst;
}
