// Where discovery reads a proxy's Istio metrics, for the service graph. The agent announces its Prometheus address
// in node.metadata `WEFT_STATS` ("host:port", as it bound it); discovery dials it back only if that host is the
// address the proxy's xDS stream comes from (or both are loopback, as in local mode), or, on the mTLS port, the
// address of a workload that runs as the identity of the proxy's certificate. Either way a client of the xDS port
// can't point discovery at another host: the announcement picks a port, never a target. The second rule is what
// works on a cluster whose Service traffic is masqueraded (kube-proxy --masquerade-all, some CNIs): there the
// stream's peer is a node address, not the pod's. Pure.
import { isIP } from "node:net";

export const STATS_METADATA = "WEFT_STATS";
export const STATS_PATH = "/stats/prometheus";

const isLoopback = (ip: string): boolean => ip === "::1" || /^127\./.test(ip) || /^::ffff:127\./.test(ip);
const unspecified = (ip: string): boolean => ip === "0.0.0.0" || ip === "::";

/** The IP of a gRPC peer string: `ipv4:1.2.3.4:5`, `ipv6:[::1]:5`, `1.2.3.4:5`, `[::1]:5`. */
export function peerIp(peer: string): string | undefined {
  const rest = peer.replace(/^ipv[46]:/, "");
  const ip = rest.startsWith("[") ? rest.slice(1, rest.indexOf("]")) : rest.slice(0, rest.lastIndexOf(":"));
  return isIP(ip) ? ip : undefined;
}

function splitHostPort(address: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address);
  if (!m) return undefined;
  const host = m[1] ?? m[2] ?? "";
  const port = Number(m[3]);
  return isIP(host) && port > 0 && port < 65536 ? { host, port } : undefined;
}

/**
 * On the mTLS port: the proxy's own IP as its node id says (INSTANCE_IP), and whether a workload at an IP runs as the
 * identity of the proxy's certificate (same namespace and ServiceAccount).
 */
export interface Vouched {
  nodeIp: string;
  isOwn: (ip: string) => boolean;
}

/** The URL to scrape, or why not (in words for the dashboard). */
export function scrapeUrl(
  announced: string | undefined,
  peer: string,
  vouched?: Vouched,
): { url: string } | { error: string } {
  if (!announced) return { error: "the proxy does not announce its metrics address" };
  const a = splitHostPort(announced);
  if (!a) return { error: `announced metrics address is not ip:port` };
  const from = peerIp(peer);
  if (!from) return { error: "the proxy's connection has no IP address" };
  const own = (ip: string) => ip === from || (isLoopback(ip) && isLoopback(from)) || vouched?.isOwn(ip) === true;
  let host = a.host;
  if (unspecified(host)) host = vouched && isIP(vouched.nodeIp) && own(vouched.nodeIp) ? vouched.nodeIp : from;
  else if (!own(host)) return { error: `announced metrics host ${host} is not the proxy's own address ${from}` };
  return { url: `http://${isIP(host) === 6 ? `[${host}]` : host}:${a.port}${STATS_PATH}` };
}

/** The announcement in a request's node.metadata (untrusted: a string of bounded length, or nothing). */
export function statsFromMetadata(metadata: unknown): string | undefined {
  const raw = (metadata as { fields?: Record<string, { stringValue?: unknown }> } | undefined)?.fields?.[STATS_METADATA]
    ?.stringValue;
  return typeof raw === "string" && raw.length <= 64 ? raw : undefined;
}
