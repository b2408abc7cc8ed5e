// A tcp or tls match's subnets, as Istio's webhook checks them (agent.ValidateIPSubnet): "a.b.c.d/xx" (or an IPv6
// prefix) must be a CIDR block, anything else an IP address.
import { cidr, parseIp } from "../../../proxy/xds/ip.js";
import type { L4MatchAttributes } from "../model/istio.js";

/** Istio's ValidateIPSubnet message for `s`, or undefined when it is a CIDR block or an IP. */
export function subnetError(s: string): string | undefined {
  const slash = s.indexOf("/");
  // As Istio's: exactly one "/" makes it a CIDR block; anything else must be an address.
  if (slash < 0 || s.indexOf("/", slash + 1) >= 0)
    return parseIp(s) && !s.includes("%") ? undefined : `${s} is not a valid IP`;
  const bits = s.slice(slash + 1);
  const ok = /^(0|[1-9]\d{0,2})$/.test(bits) && !s.includes("%") && typeof cidr(s.slice(0, slash), +bits) !== "string";
  return ok ? undefined : `${s} is not a valid CIDR block`;
}

/** Each bad subnet of a match's destinationSubnets and sourceSubnet, naming the field. */
export function subnetErrors(m: L4MatchAttributes, at: string): string[] {
  const out: string[] = [];
  (m.destinationSubnets ?? []).forEach((s, k) => {
    const problem = subnetError(s);
    if (problem) out.push(`${at}.destinationSubnets[${k}]: ${problem}`);
  });
  const problem = m.sourceSubnet !== undefined ? subnetError(m.sourceSubnet) : undefined;
  if (problem) out.push(`${at}.sourceSubnet: ${problem}`);
  return out;
}
