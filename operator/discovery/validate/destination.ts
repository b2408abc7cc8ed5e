// A VirtualService destination (http and tcp routes, mirror, mirrors), as istiod's validateDestination checks it: a
// host that is a DNS name or a `*.` wildcard (not `*`), a subset that is a DNS-1123 label (the port's range is the shape's, validate/istio-shapes.ts). Pure.
import type { Destination } from "../model/istio.js";
import { hostError } from "./gateway-entry.js";
import { LABEL } from "./sidecar.js";

export function destinationErrors(d: Destination | undefined, path: string): string[] {
  if (!d) return [`${path}: is required`];
  const out: string[] = [];
  if (!d.host) out.push(`${path}.host: is required`);
  else if (d.host === "*") out.push(`${path}.host: "*" is not a destination; name a service`);
  else {
    const e = typeof d.host === "string" ? hostError(d.host, false) : undefined;
    if (e) out.push(`${path}.host: ${e}`);
  }
  if (d.subset && !LABEL.test(d.subset))
    out.push(`${path}.subset: "${d.subset}" is not a subset name (a DNS-1123 label)`);
  return out;
}
