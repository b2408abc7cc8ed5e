// The pod's traffic capture as iptables-restore input: Istio's REDIRECT mode (istio-iptables), with its chain
// names, so `iptables -t nat -S` reads the same as in an Istio pod. Pure.
//   inbound:  PREROUTING → ISTIO_INBOUND: excluded ports RETURN, captured ports → ISTIO_IN_REDIRECT → :15006
//   outbound: OUTPUT → ISTIO_OUTPUT: the proxy's own UID/GID RETURN (no loop), loopback RETURN (except the proxy
//             calling its own pod IP, which goes to inbound), excluded ports/CIDRs RETURN, the rest → :15001
// IPv4 only: ip6tables is not set up, so IPv6 traffic is not captured.
import { UsageError } from "../../operator/api/contract.js";

export interface CaptureOptions {
  outboundPort: number;
  inboundPort: number;
  proxyUid: number;
  proxyGid: number;
  /** "*" or a list of ports. */
  inboundPorts: "*" | number[];
  excludeInboundPorts: number[];
  excludeOutboundPorts: number[];
  /** "*" or a list of CIDRs. */
  outboundCidrs: "*" | string[];
  excludeOutboundCidrs: string[];
}

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(\/(\d{1,2}))?$/;

/** A comma-separated flag value, each item checked by `item` (which names what it wanted). */
function list<T>(flag: string, text: string, item: (s: string) => T | undefined, want: string): T[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const v = item(s);
      if (v === undefined) throw new UsageError(`--${flag}: "${s}" is not ${want}`);
      return v;
    });
}

const port = (s: string): number | undefined =>
  /^\d+$/.test(s) && Number(s) >= 1 && Number(s) <= 65535 ? Number(s) : undefined;

function cidr(s: string): string | undefined {
  const m = CIDR.exec(s);
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[6] ?? 32) > 32) return undefined;
  return m[5] ? s : `${s}/32`;
}

const ports = (flag: string, text: string) => list(flag, text, port, "a port");
const cidrs = (flag: string, text: string) => list(flag, text, cidr, "an IPv4 CIDR");

/** `weft init`'s flags → options; a bad list names its flag. */
export function parseCaptureOptions(v: {
  "outbound-port": number;
  "inbound-port": number;
  "proxy-uid": number;
  "proxy-gid": number;
  "inbound-ports": string;
  "exclude-inbound-ports": string;
  "exclude-outbound-ports": string;
  "outbound-cidrs": string;
  "exclude-outbound-cidrs": string;
}): CaptureOptions {
  return {
    outboundPort: v["outbound-port"],
    inboundPort: v["inbound-port"],
    proxyUid: v["proxy-uid"],
    proxyGid: v["proxy-gid"],
    inboundPorts: v["inbound-ports"].trim() === "*" ? "*" : ports("inbound-ports", v["inbound-ports"]),
    excludeInboundPorts: ports("exclude-inbound-ports", v["exclude-inbound-ports"]),
    excludeOutboundPorts: ports("exclude-outbound-ports", v["exclude-outbound-ports"]),
    outboundCidrs: v["outbound-cidrs"].trim() === "*" ? "*" : cidrs("outbound-cidrs", v["outbound-cidrs"]),
    excludeOutboundCidrs: cidrs("exclude-outbound-cidrs", v["exclude-outbound-cidrs"]),
  };
}

const CHAINS = ["ISTIO_INBOUND", "ISTIO_REDIRECT", "ISTIO_IN_REDIRECT", "ISTIO_OUTPUT"];
const JUMPS = ["-A PREROUTING -p tcp -j ISTIO_INBOUND", "-A OUTPUT -p tcp -j ISTIO_OUTPUT"];

/**
 * iptables-restore input for table nat (use --noflush). Our chains are declared, so a rerun (an init container
 * restarted in the same pod) replaces their rules; the jumps from PREROUTING and OUTPUT are left out when
 * `existing` (`iptables-save -t nat`) already has them.
 */
export function captureRules(o: CaptureOptions, existing = ""): string {
  const have = new Set(existing.split("\n").map((l) => l.trim()));
  const inbound: string[] = [];
  // The inbound capture port itself is excluded, so a connection to 15006 isn't redirected to itself.
  for (const p of [o.inboundPort, ...o.excludeInboundPorts])
    inbound.push(`-A ISTIO_INBOUND -p tcp --dport ${p} -j RETURN`);
  if (o.inboundPorts === "*") inbound.push("-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT");
  else for (const p of o.inboundPorts) inbound.push(`-A ISTIO_INBOUND -p tcp --dport ${p} -j ISTIO_IN_REDIRECT`);
  const out: string[] = [
    // Istio's inbound passthrough source address: the proxy reaching the app as 127.0.0.6.
    "-A ISTIO_OUTPUT -o lo -s 127.0.0.6/32 -j RETURN",
    // The proxy calling its own pod IP (app → own service VIP → endpoint is itself): through inbound.
    `-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -m owner --uid-owner ${o.proxyUid} -j ISTIO_IN_REDIRECT`,
    // Anyone else on loopback: the app talking to itself (or the proxy's admin) is left alone.
    `-A ISTIO_OUTPUT -o lo -m owner ! --uid-owner ${o.proxyUid} -j RETURN`,
    // The proxy's own upstream connections are never captured.
    `-A ISTIO_OUTPUT -m owner --uid-owner ${o.proxyUid} -j RETURN`,
    `-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -m owner --gid-owner ${o.proxyGid} -j ISTIO_IN_REDIRECT`,
    `-A ISTIO_OUTPUT -o lo -m owner ! --gid-owner ${o.proxyGid} -j RETURN`,
    `-A ISTIO_OUTPUT -m owner --gid-owner ${o.proxyGid} -j RETURN`,
    "-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN",
    ...o.excludeOutboundPorts.map((p) => `-A ISTIO_OUTPUT -p tcp --dport ${p} -j RETURN`),
    ...o.excludeOutboundCidrs.map((c) => `-A ISTIO_OUTPUT -d ${c} -j RETURN`),
    ...(o.outboundCidrs === "*"
      ? ["-A ISTIO_OUTPUT -j ISTIO_REDIRECT"]
      : o.outboundCidrs.map((c) => `-A ISTIO_OUTPUT -d ${c} -j ISTIO_REDIRECT`)),
  ];
  return [
    "*nat",
    ...CHAINS.map((c) => `:${c} - [0:0]`),
    `-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports ${o.outboundPort}`,
    `-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports ${o.inboundPort}`,
    ...inbound,
    ...out,
    ...JUMPS.filter((j) => !have.has(j)),
    "COMMIT",
    "",
  ].join("\n");
}
