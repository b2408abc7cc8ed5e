// PeerAuthentication (security.istio.io): its fields (strict, as istio/api security/v1beta1/peer_authentication.proto
// defines them) and what they may mean, as istiod's validation says: port-level modes need a workload selector, ports
// are port numbers. targetRef(s) (Gateway API attachment) are refused: Weft selects workloads by labels. Pure.
import type { PeerAuthentication } from "../model/security.js";
import type { Shape } from "./shape.js";

const MODES = ["UNSET", "DISABLE", "PERMISSIVE", "STRICT"];
const mtls: Shape = { fields: { mode: { enum: MODES } } };
const ref: Shape = { fields: { group: "string", kind: "string", name: "string", namespace: "string" } };

export const PEER_AUTHENTICATION_SHAPE: Shape = {
  fields: {
    selector: { fields: { matchLabels: { map: "string" } } },
    targetRef: ref,
    targetRefs: { list: ref },
    mtls,
    portLevelMtls: { map: mtls },
  },
};

export function validatePeerAuthentication(spec: PeerAuthentication): string[] {
  const out: string[] = [];
  const s = spec as PeerAuthentication & { targetRef?: unknown; targetRefs?: unknown };
  if (s.targetRef !== undefined) out.push("spec.targetRef: not supported by Weft (use spec.selector)");
  if (s.targetRefs !== undefined) out.push("spec.targetRefs: not supported by Weft (use spec.selector)");
  const ports = Object.keys(spec.portLevelMtls ?? {});
  const selects = Object.keys(spec.selector?.matchLabels ?? {}).length > 0;
  if (ports.length && !selects)
    out.push("spec.portLevelMtls: a mesh-wide or namespace-wide policy (no selector) cannot have portLevelMtls");
  for (const p of ports) {
    const n = Number(p);
    if (!/^\d{1,5}$/.test(p) || n < 1 || n > 65535)
      out.push(`spec.portLevelMtls[${JSON.stringify(p)}]: is not a port number (1-65535)`);
  }
  return out;
}
