// Validation of Gateway, ServiceEntry and WorkloadEntry beyond their fields' types: what istiod's webhook rejects
// (pilot/pkg/config/validation). Pure; messages start with the field path.
import { isIP } from "node:net";
import type { Gateway, ServerPort, ServiceEntry, WorkloadEntry } from "../model/istio.js";
import { isHttpProtocol, portProtocol } from "../model/normalise.js";
import { serverTlsProblems } from "./gateway-tls.js";

const PROTOCOLS = ["HTTP", "HTTPS", "GRPC", "GRPC-WEB", "HTTP2", "MONGO", "TCP", "TLS", "UDP", "REDIS", "MYSQL"];
/** The server protocols a Weft gateway serves (HTTPS and TLS as validate/gateway-tls.ts says). */
const SERVED = ["HTTP", "HTTPS", "HTTP2", "GRPC", "GRPC-WEB", "TCP", "TLS"];

function port(out: string[], p: ServerPort | undefined, path: string): void {
  if (!p) return void out.push(`${path}: is required`);
  // Ranges are the shape's (validate/istio-shapes.ts).
  if (p.number === undefined || p.number === null) out.push(`${path}.number: is required`);
  if (!p.protocol) out.push(`${path}.protocol: is required`);
  else if (!PROTOCOLS.includes(p.protocol.toUpperCase()))
    out.push(`${path}.protocol: "${p.protocol}" is not one of ${PROTOCOLS.join(", ")}`);
}

/** A host as Istio takes it: a DNS name, optionally `*.`-prefixed, or `*`; a Gateway's may carry `namespace/`. */
export function hostError(host: string, withNamespace: boolean): string | undefined {
  const name = withNamespace && host.includes("/") ? host.slice(host.indexOf("/") + 1) : host;
  if (name === "*") return undefined;
  const bare = name.startsWith("*.") ? name.slice(2) : name;
  if (!/^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*\.?$/i.test(bare)) {
    return `"${host}" is not a valid host name`;
  }
  return undefined;
}

export function validateGateway(spec: Gateway): string[] {
  const out: string[] = [];
  if (!spec.servers?.length) out.push("spec.servers: at least one server is required");
  const portNames = new Set<string>();
  (spec.servers ?? []).forEach((s, i) => {
    const path = `spec.servers[${i}]`;
    port(out, s.port, `${path}.port`);
    // As istiod's: an HTTPS server's route table is named after its port's name (https.<port>.<name>.<gateway>…).
    if (s.port?.name !== undefined && portNames.has(s.port.name))
      out.push(`${path}.port.name: port names in servers must be unique: duplicate name ${s.port.name}`);
    if (s.port?.name !== undefined) portNames.add(s.port.name);
    if (!s.hosts?.length) out.push(`${path}.hosts: at least one host is required`);
    (s.hosts ?? []).forEach((h, j) => {
      const e = hostError(h, true);
      if (e) out.push(`${path}.hosts[${j}]: ${e}`);
    });
    const protocol = s.port?.protocol?.toUpperCase();
    if ((protocol === "HTTPS" || protocol === "TLS") && !s.tls)
      out.push(`${path}.tls: is required for protocol ${protocol}`);
    if (protocol && PROTOCOLS.includes(protocol) && !SERVED.includes(protocol))
      out.push(`${path}.port.protocol: ${protocol} servers are not supported by Weft yet (${SERVED.join(", ")} are)`);
    else if (s.tls && protocol) out.push(...serverTlsProblems(s.tls, protocol, path));
  });
  return out;
}

function entryAddress(out: string[], w: WorkloadEntry, path: string, requireIp: boolean): void {
  if (w.address !== undefined && requireIp && !isIP(w.address) && !w.address.startsWith("unix://")) {
    out.push(`${path}.address: "${w.address}" must be an IP address with resolution STATIC`);
  }
}

export function validateWorkloadEntry(spec: WorkloadEntry): string[] {
  const out: string[] = [];
  if (!spec.address) out.push("spec.address: is required");
  entryAddress(out, spec, "spec", false);
  return out;
}

export function validateServiceEntry(spec: ServiceEntry): string[] {
  const out: string[] = [];
  if (!spec.hosts?.length) out.push("spec.hosts: at least one host is required");
  (spec.hosts ?? []).forEach((h, i) => {
    const e = h === "*" ? `"*" is not allowed in a ServiceEntry` : hostError(h, false);
    if (e) out.push(`spec.hosts[${i}]: ${e}`);
  });
  const tcpPort = (spec.ports ?? []).find((p) => !isHttpProtocol(portProtocol(p.name, undefined, p.protocol)))?.name;
  (spec.addresses ?? []).forEach((a, i) => {
    const [ip, bits, extra] = a.split("/");
    const family = isIP(ip ?? "");
    const maxBits = family === 6 ? 128 : 32;
    if (
      !family ||
      extra !== undefined ||
      (bits !== undefined && !(Number(bits) >= 0 && Number(bits) <= maxBits && /^\d+$/.test(bits)))
    ) {
      out.push(`spec.addresses[${i}]: "${a}" is not an IP address or CIDR`);
    } else if (bits !== undefined && Number(bits) !== maxBits && tcpPort) {
      // A TCP port is matched by its destination address alone: a range would need a listener per range.
      out.push(
        `spec.addresses[${i}]: "${a}" is a range; ranges are not supported yet with non-HTTP ports (${tcpPort}): give single addresses`,
      );
    }
  });
  const seen = new Map<number, number>();
  (spec.ports ?? []).forEach((p, i) => {
    port(out, p, `spec.ports[${i}]`);
    if (!p.name) out.push(`spec.ports[${i}].name: is required`);
    if (seen.has(p.number)) out.push(`spec.ports[${i}].number: port ${p.number} is declared twice`);
    seen.set(p.number, i);
  });
  if (spec.endpoints?.length && spec.workloadSelector)
    out.push("spec.workloadSelector: set workloadSelector or endpoints, not both");
  const resolution = spec.resolution ?? "NONE";
  if (resolution === "STATIC" && !spec.endpoints?.length && !spec.workloadSelector) {
    out.push("spec.endpoints: resolution STATIC needs endpoints or a workloadSelector");
  }
  (spec.endpoints ?? []).forEach((w, i) => {
    if (!w.address && resolution !== "DNS" && resolution !== "DNS_ROUND_ROBIN")
      out.push(`spec.endpoints[${i}].address: is required`);
    entryAddress(out, w, `spec.endpoints[${i}]`, resolution === "STATIC");
  });
  return out;
}
