// Host names: resolving what users write ("reviews", "reviews.default", "*.example.com") to services, and
// the domains a virtual host answers to.
import type { ConfigModel, Service, ServicePort } from "../model/config.js";

/** Istio resolves a short name relative to the namespace of the object that wrote it. */
export function fqdn(host: string, namespace: string, suffix: string): string {
  if (host.startsWith("*")) return host;
  const dots = host.split(".").length - 1;
  if (dots === 0) return `${host}.${namespace}.svc.${suffix}`;
  if (dots === 1) return `${host}.svc.${suffix}`;
  return host;
}

function wildcardMatch(pattern: string, hostname: string): boolean {
  if (pattern === "*") return true;
  if (pattern.startsWith("*.")) return hostname.endsWith(pattern.slice(1));
  return false;
}

/** Does `host`, written in `namespace`, name this service? Exact names are tried as written and as FQDN. */
export function hostMatches(host: string, namespace: string, service: Service, suffix: string): boolean {
  if (host.startsWith("*")) return wildcardMatch(host, service.hostname);
  return service.hostname === host || service.hostname === fqdn(host, namespace, suffix);
}

/** The service a destination host names; an exact name wins over a wildcard. */
export function findService(model: ConfigModel, host: string, namespace: string): Service | undefined {
  const exact = model.services.filter((s) => !host.startsWith("*") && hostMatches(host, namespace, s, model.domainSuffix));
  return exact.find((s) => s.namespace === namespace) ?? exact[0];
}

export function servicesForHost(model: ConfigModel, host: string, namespace: string): Service[] {
  return model.services.filter((s) => hostMatches(host, namespace, s, model.domainSuffix));
}

/**
 * Domains for a service's virtual host, as Istio writes them: for `reviews.default.svc.cluster.local` on port
 * 9080, the FQDN, `reviews`, `reviews.default`, `reviews.default.svc` (the short names only from the same
 * namespace), each also with `:9080`, and the service's virtual IPs.
 */
export function serviceDomains(service: Service, port: ServicePort, proxyNamespace: string, suffix: string): string[] {
  const names = [service.hostname];
  const kubeSuffix = `.${service.namespace}.svc.${suffix}`;
  if (service.hostname.endsWith(kubeSuffix)) {
    const short = service.hostname.slice(0, -kubeSuffix.length);
    names.push(`${short}.${service.namespace}.svc`, `${short}.${service.namespace}`);
    if (service.namespace === proxyNamespace) names.push(short);
  }
  names.push(...service.addresses);
  const domains: string[] = [];
  for (const n of names) domains.push(n, `${n}:${port.number}`);
  return domains;
}
