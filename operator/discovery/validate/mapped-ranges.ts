// Warnings, not errors: an IPv4-mapped IPv6 address or range (::ffff:a.b.c.d, ::ffff:10.0.0.0/104) in an
// AuthorizationPolicy's ipBlocks or a VirtualService match's subnets. Istio's webhook accepts them, and Envoy's
// CidrRange keeps them IPv6, while a dual-stack socket reports an IPv4 client as the IPv4 address it is: no IPv4
// client is ever in such a range (proxy/xds/ip.ts). An ALLOW rule written that way lets none of them in and a DENY
// rule keeps none of them out, so the webhook and discovery name the field and the IPv4 form to write instead.
import { parseIp } from "../../../proxy/xds/ip.js";
import type { VirtualService } from "../model/istio.js";
import type { AuthorizationPolicy } from "../model/security.js";

const bytes = new Uint8Array(16);

/** The warning for `value` at `at`, when it is IPv4-mapped. */
function mapped(at: string, value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const slash = value.indexOf("/");
  const address = slash < 0 ? value : value.slice(0, slash);
  if (parseIp(address, bytes, true) !== 16 || parseIp(address, bytes) !== 4) return undefined;
  const v4 = `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const bits = slash < 0 ? NaN : Number(value.slice(slash + 1));
  const instead = Number.isInteger(bits) && bits >= 96 ? `${v4}/${bits - 96}` : slash < 0 ? v4 : undefined;
  return (
    `${at}: "${value}" is an IPv4-mapped IPv6 ${slash < 0 ? "address" : "range"}, which no IPv4 client matches ` +
    `(an IPv4 client's address is IPv4, as Envoy's)${instead ? `; write "${instead}"` : ""}`
  );
}

const list = (x: unknown): unknown[] => (Array.isArray(x) ? x : []);

export function mappedRangeWarnings(kind: string, spec: unknown): string[] {
  const out: string[] = [];
  const add = (at: string, v: unknown) => {
    const w = mapped(at, v);
    if (w) out.push(w);
  };
  if (!spec || typeof spec !== "object") return out;
  if (kind === "AuthorizationPolicy") {
    list((spec as AuthorizationPolicy).rules).forEach((rule, i) =>
      list((rule as { from?: unknown })?.from).forEach((from, j) => {
        const source = (from as { source?: Record<string, unknown> })?.source;
        for (const k of ["ipBlocks", "notIpBlocks", "remoteIpBlocks", "notRemoteIpBlocks"])
          list(source?.[k]).forEach((v, n) => add(`spec.rules[${i}].from[${j}].source.${k}[${n}]`, v));
      }),
    );
  } else if (kind === "VirtualService") {
    for (const route of ["tcp", "tls"] as const)
      list((spec as VirtualService)[route]).forEach((r, i) =>
        list((r as { match?: unknown })?.match).forEach((m, j) => {
          const match = m as { sourceSubnet?: unknown; destinationSubnets?: unknown } | undefined;
          const at = `spec.${route}[${i}].match[${j}]`;
          add(`${at}.sourceSubnet`, match?.sourceSubnet);
          list(match?.destinationSubnets).forEach((v, n) => add(`${at}.destinationSubnets[${n}]`, v));
        }),
      );
  }
  return out;
}
