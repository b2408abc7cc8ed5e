// Host names: resolving what users write ("reviews", "reviews.default", "*.example.com") to services, and
// the domains a virtual host answers to.
import type { ConfigModel, Service, ServicePort } from "../model/config.js";
import { isRange } from "../model/normalise.js";

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

// Models don't change once built, so lookups by hostname are indexed once per model.
const byHostname = new WeakMap<ConfigModel, Map<string, Service[]>>();

function hostnameIndex(model: ConfigModel): Map<string, Service[]> {
  let index = byHostname.get(model);
  if (!index) {
    index = new Map();
    for (const s of model.services) index.set(s.hostname, [...(index.get(s.hostname) ?? []), s]);
    byHostname.set(model, index);
  }
  return index;
}

/** Every service a host (as written in `namespace`) names: by its name as written and as FQDN, or by wildcard. */
export function servicesForHost(model: ConfigModel, host: string, namespace: string): Service[] {
  if (host.startsWith("*")) return model.services.filter((s) => wildcardMatch(host, s.hostname));
  const index = hostnameIndex(model);
  const full = fqdn(host, namespace, model.domainSuffix);
  return [...(index.get(host) ?? []), ...(full !== host ? (index.get(full) ?? []) : [])];
}

/** The service a destination host names (exact names only), preferring one in the same namespace. */
export function findService(model: ConfigModel, host: string, namespace: string): Service | undefined {
  if (host.startsWith("*")) return undefined;
  const exact = servicesForHost(model, host, namespace);
  return exact.find((s) => s.namespace === namespace) ?? exact[0];
}

/** Objects (DestinationRules, VirtualServices) by the hostname of each service they name; once per model. */
export function indexByService<T extends { namespace: string }>(
  cache: WeakMap<ConfigModel, Map<string, T[]>>,
  model: ConfigModel,
  objects: T[],
  hostsOf: (o: T) => string[],
): Map<string, T[]> {
  let index = cache.get(model);
  if (!index) {
    index = new Map();
    for (const o of objects) {
      const seen = new Set<string>();
      for (const h of hostsOf(o)) {
        for (const s of servicesForHost(model, h, o.namespace)) {
          if (seen.has(s.hostname)) continue;
          seen.add(s.hostname);
          index.set(s.hostname, [...(index.get(s.hostname) ?? []), o]);
        }
      }
    }
    cache.set(model, index);
  }
  return index;
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
  for (const a of service.addresses) if (!isRange(a)) names.push(a); // a range is no Host a client sends
  const domains: string[] = [];
  for (const n of names) domains.push(n, `${n}:${port.number}`);
  return domains;
}
