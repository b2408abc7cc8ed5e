// Who the client is, as Envoy's connection manager decides it before anything reads the request
// (ConnectionManagerUtility::mutateRequestHeaders): the request's remote address (what RBAC's remote_ip, the access
// log and source-IP hashing see), x-forwarded-for appended and x-forwarded-proto set at the edge (use_remote_address),
// x-envoy-internal set only by the proxy, x-envoy-external-address at the edge, and Envoy's x-envoy control headers
// dropped from requests that are not internal. Pure: it edits a head's header list.
import { BlockList, isIP } from "node:net";
import { removeHeader, setHeader } from "../router/index.js";
import { headerValue } from "./head.js";

/** HttpConnectionManager use_remote_address, xff_num_trusted_hops, skip_xff_append and append_x_forwarded_port. */
export interface Forwarding {
  useRemoteAddress: boolean;
  xffTrustedHops: number;
  skipXffAppend: boolean;
  /** With use_remote_address: x-forwarded-port is the port the client connected to (Istio's xForwardedPort). */
  appendXForwardedPort: boolean;
}

export const NOT_AT_EDGE: Forwarding = {
  useRemoteAddress: false,
  xffTrustedHops: 0,
  skipXffAppend: false,
  appendXForwardedPort: false,
};

/** The connection the request came on. */
export interface Arrival {
  /** The peer's address. */
  peer: string;
  /** This proxy's address on the connection (appended instead of a loopback peer, as Envoy appends its own). */
  local: string;
  /** Its port: the one the client connected to (the original destination's, when interception redirected it). */
  localPort: number;
  tls: boolean;
}

/** Dropped from every request that is not internal (Envoy's cleanInternalHeaders). */
const CONTROL = new Set([
  "x-envoy-retriable-status-codes",
  "x-envoy-retriable-header-names",
  "x-envoy-retry-on",
  "x-envoy-retry-grpc-on",
  "x-envoy-max-retries",
  "x-envoy-upstream-alt-stat-name",
  "x-envoy-upstream-rq-timeout-ms",
  "x-envoy-upstream-rq-per-try-timeout-ms",
  "x-envoy-upstream-rq-timeout-alt-response",
  "x-envoy-expected-rq-timeout-ms",
  "x-envoy-force-trace",
  "x-envoy-ip-tags",
  "x-envoy-original-url",
  "x-envoy-hedge-on-per-try-timeout",
]);
/** Dropped from edge requests too. */
const EDGE_ONLY = new Set([
  "x-envoy-decorator-operation",
  "x-envoy-downstream-service-cluster",
  "x-envoy-downstream-service-node",
]);

/**
 * The address `fromRight` entries from the right end of x-forwarded-for (0: the last), when it is an IP address;
 * `single`: the header holds one entry (Envoy's getLastAddressFromXFF).
 */
export function xffAddress(xff: string | undefined, fromRight: number): { ip: string | undefined; single: boolean } {
  if (!xff) return { ip: undefined, single: false };
  let end = xff.length;
  for (let i = 0; i < fromRight; i++) {
    const comma = xff.lastIndexOf(",", end - 1);
    if (comma < 0) return { ip: undefined, single: false };
    end = comma;
  }
  const start = xff.lastIndexOf(",", end - 1) + 1;
  const ip = xff.slice(start, end).trim();
  return { ip: isIP(ip) ? ip : undefined, single: !xff.includes(",") };
}

/** Envoy's default internal addresses (Utility::isInternalAddress): RFC 1918, 127.0.0.1, fd00::/8 and ::1. */
const INTERNAL = new BlockList();
INTERNAL.addSubnet("10.0.0.0", 8, "ipv4");
INTERNAL.addSubnet("172.16.0.0", 12, "ipv4");
INTERNAL.addSubnet("192.168.0.0", 16, "ipv4");
INTERNAL.addAddress("127.0.0.1", "ipv4");
INTERNAL.addSubnet("fd00::", 8, "ipv6");
INTERNAL.addAddress("::1", "ipv6");

/** Whether `ip` is one of Envoy's default internal addresses (an IPv4-mapped one as its IPv4 address). */
export function isInternalAddress(ip: string): boolean {
  const v4 = ip.toLowerCase().startsWith("::ffff:") && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
  const family = isIP(v4);
  return family !== 0 && INTERNAL.check(v4, family === 4 ? "ipv4" : "ipv6");
}

const isLoopback = (ip: string): boolean => ip === "::1" || ip.startsWith("127.") || ip.startsWith("::ffff:127.");

/** Applies `f` to a request's `headers`; returns the request's remote address. */
export function applyForwarding(headers: string[], f: Forwarding, at: Arrival): string {
  removeHeader(headers, "x-envoy-internal"); // only this proxy says so
  let remote: string | undefined;
  let single: boolean;
  if (f.useRemoteAddress) {
    const xff = headerValue(headers, "x-forwarded-for");
    single = xff === undefined;
    // Trusted proxies in front: the client is the one they saw, before this proxy appends its peer.
    if (f.xffTrustedHops > 0) remote = xffAddress(xff, f.xffTrustedHops - 1).ip;
    remote ??= at.peer;
    if (!f.skipXffAppend) {
      const me = isLoopback(at.peer) ? at.local : at.peer;
      setHeader(headers, "x-forwarded-for", xff ? `${xff},${me}` : me);
    }
    // A trusted proxy in front says what its client spoke; otherwise the client's word is not taken.
    if (f.xffTrustedHops === 0 || headerValue(headers, "x-forwarded-proto") === undefined)
      setHeader(headers, "x-forwarded-proto", at.tls ? "https" : "http");
    // So with x-forwarded-port, when asked for (Envoy's append_x_forwarded_port).
    if (f.appendXForwardedPort && (f.xffTrustedHops === 0 || headerValue(headers, "x-forwarded-port") === undefined))
      setHeader(headers, "x-forwarded-port", String(at.localPort));
  } else {
    ({ ip: remote, single } = xffAddress(headerValue(headers, "x-forwarded-for"), f.xffTrustedHops));
  }
  const internal = single && remote !== undefined && isInternalAddress(remote);
  remote ??= at.peer;
  if (internal) {
    headers.push("x-envoy-internal", "true");
    return remote;
  }
  const edge = f.useRemoteAddress;
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    const n = headers[i] as string;
    if (n.startsWith("x-envoy-") && (CONTROL.has(n) || (edge && EDGE_ONLY.has(n)))) headers.splice(i, 2);
  }
  if (edge && isIP(remote)) setHeader(headers, "x-envoy-external-address", remote);
  return remote;
}
