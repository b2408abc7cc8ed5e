// A VirtualService's `tls` routes, as Istio's webhook checks them (validateTLSRoute, validateTLSMatch,
// validateSniHost): each needs a match, each match SNI hosts within the VirtualService's hosts (and subnets that are
// CIDR blocks or IPs), and destinations.
import type { L4Route } from "../model/istio.js";
import { hostSubsetOf } from "../translate/scope.js";
import { destinationErrors } from "./destination.js";
import { hostError } from "./gateway-entry.js";
import { subnetErrors } from "./subnets.js";

/** Istio's validateTLSRoute: each match names SNI hosts within the VirtualService's hosts; destinations required. */
export function validateTlsRoute(tls: L4Route, path: string, hosts: string[]): string[] {
  const out: string[] = [];
  const e = { add: (at: string, message: string) => void out.push(`${at}: ${message}`), list: out };
  if (!tls.match?.length) e.add(`${path}.match`, "TLS route must have at least one match condition");
  (tls.match ?? []).forEach((m, j) => {
    const at = `${path}.match[${j}]`;
    if (!m.sniHosts?.length) e.add(`${at}.sniHosts`, "TLS match must have at least one SNI host");
    (m.sniHosts ?? []).forEach((sni, k) => {
      const problem =
        sni === "*" ? 'a bare "*" matches no server name (Envoy\'s wildcards are "*.suffix")' : hostError(sni, false);
      if (problem) return e.add(`${at}.sniHosts[${k}]`, problem);
      if (!hosts.some((h) => hostSubsetOf(sni.toLowerCase(), h.toLowerCase())))
        e.add(
          `${at}.sniHosts[${k}]`,
          `SNI host "${sni}" is not a compatible subset of any of the virtual service hosts: [${hosts.join(", ")}]`,
        );
    });
    e.list.push(...subnetErrors({ destinationSubnets: m.destinationSubnets }, at));
    if (m.sourceSubnet !== undefined) e.add(`${at}.sourceSubnet`, "is not a TLS match field");
  });
  if (!tls.route?.length) e.add(`${path}.route`, "TLS route is required");
  (tls.route ?? []).forEach((r, j) =>
    e.list.push(...destinationErrors(r.destination, `${path}.route[${j}].destination`)),
  );
  return out;
}
