// Warnings, not errors: a VirtualService tcp or tls match naming sourceSubnet or destinationSubnets that binds a
// Gateway. istiod ignores both fields on gateways (its gateway builders never read them), which there would take
// every client; Weft fails closed instead: such a match never applies to a gateway's traffic (translate/tcp.ts,
// gateway-passthrough.ts). Either way what the user wrote has no effect there, so the webhook and discovery say so.
import type { L4MatchAttributes, VirtualService } from "../model/istio.js";

const MESH = "mesh";

/** The gateways a match applies to other than the sidecars ("mesh"): its own list, else the VirtualService's. */
function gatewaysOf(vs: VirtualService, m: L4MatchAttributes): string[] {
  const list = (x: unknown): string[] => (Array.isArray(x) ? x.filter((g): g is string => typeof g === "string") : []);
  const own = list(m.gateways);
  const names = own.length ? own : list(vs.gateways).length ? list(vs.gateways) : [MESH];
  return names.filter((g) => g !== MESH);
}

/** One warning per subnet field of a tcp or tls match that binds a Gateway, naming the field. Never throws. */
export function gatewaySubnetWarnings(vs: VirtualService): string[] {
  const out: string[] = [];
  const each = <T>(x: T[] | undefined, f: (t: T, i: number) => void) => Array.isArray(x) && x.forEach(f);
  for (const kind of ["tcp", "tls"] as const)
    each(vs[kind], (route, i) =>
      each(route?.match, (m, j) => {
        if (!m || typeof m !== "object") return;
        const gateways = gatewaysOf(vs, m);
        if (!gateways.length) return;
        const fields = [
          ...(m.sourceSubnet !== undefined ? ["sourceSubnet"] : []),
          ...(Array.isArray(m.destinationSubnets) && m.destinationSubnets.length ? ["destinationSubnets"] : []),
        ];
        for (const f of fields)
          out.push(
            `spec.${kind}[${i}].match[${j}].${f}: a gateway never applies this match (gateways: ${gateways.join(", ")}): ` +
              `istiod ignores ${f} on gateways, which would take every client, and Weft takes none; ` +
              `it applies to sidecars ("mesh") only`,
          );
      }),
    );
  return out;
}
