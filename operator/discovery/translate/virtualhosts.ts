// Virtual hosts: which VirtualService serves which service, and the RouteConfigurations that hold them.
import { attemptCount } from "./proxy-headers.js";
import type { RouteConfiguration, VirtualHost } from "../../../proxy/xds/resources.js";
import { TYPE } from "../../../proxy/xds/types.js";
import type { ConfigModel, Named, Service, ServicePort } from "../model/config.js";
import type { VirtualService } from "../model/istio.js";
import { indexByService, serviceDomains } from "./hosts.js";
import { qualifyGateway } from "./match.js";
import type { RouteContext } from "./routes.js";
import { defaultRoute, virtualServiceRoutes } from "./routes.js";
import { visibleIn } from "./scope.js";

/** Is the VirtualService bound to this gateway (`mesh` for sidecars)? No `gateways` means mesh only. */
export function boundTo(vs: Named<VirtualService>, gateway: string): boolean {
  const gateways = vs.spec.gateways?.length ? vs.spec.gateways : ["mesh"];
  return gateways.map((g) => qualifyGateway(g, vs.namespace)).includes(gateway);
}

/**
 * The mesh VirtualService for a service, of those the proxy sees (exported to its namespace, imported by its
 * Sidecar): one in the proxy's namespace first, then the service's, then any.
 */
const meshByService = new WeakMap<ConfigModel, Map<string, Named<VirtualService>[]>>();

export function virtualServiceFor(ctx: RouteContext, service: Service): Named<VirtualService> | undefined {
  const meshHosts = (vs: Named<VirtualService>): string[] => (boundTo(vs, "mesh") ? (vs.spec.hosts ?? []) : []);
  const all = (
    indexByService(meshByService, ctx.model, ctx.model.virtualServices, meshHosts).get(service.hostname) ?? []
  ).filter((v) =>
    ctx.scope ? ctx.scope.virtualService(v) : visibleIn(v.spec.exportTo, v.namespace, ctx.proxyNamespace),
  );
  return (
    all.find((v) => v.namespace === ctx.proxyNamespace) ?? all.find((v) => v.namespace === service.namespace) ?? all[0]
  );
}

export function serviceVirtualHost(
  ctx: RouteContext,
  service: Service,
  port: ServicePort,
  extraDomains: string[] = [],
): VirtualHost {
  const vs = virtualServiceFor(ctx, service);
  const routes = vs
    ? virtualServiceRoutes({ ...ctx, vsNamespace: vs.namespace }, vs)
    : [defaultRoute(ctx, service, port.number)];
  return {
    name: `${service.hostname}:${port.number}`,
    domains: [...extraDomains, ...serviceDomains(service, port, ctx.proxyNamespace, ctx.model.domainSuffix)],
    routes,
    ...attemptCount(ctx.model.mesh),
  };
}

/**
 * Envoy rejects a domain that appears twice in a route table (in two virtual hosts, or one listing it twice: a
 * ServiceEntry whose host is its address), case-insensitively as it matches them (a ServiceEntry for
 * `Reviews.Default.svc.cluster.local` beside the Service); the first keeps it.
 */
export function routeConfiguration(name: string, virtualHosts: VirtualHost[]): RouteConfiguration {
  const seen = new Set<string>();
  const hosts = virtualHosts.map((vh) => {
    const domains = (vh.domains ?? []).filter((d) => !seen.has(d.toLowerCase()) && Boolean(seen.add(d.toLowerCase())));
    // The same object when nothing was taken out: a memoised virtual host stays itself, and is encoded once.
    return domains.length === vh.domains?.length ? (vh as VirtualHost & { domains: string[] }) : { ...vh, domains };
  });
  return {
    "@type": TYPE.route,
    name,
    virtual_hosts: hosts.filter((vh) => vh.domains.length > 0),
    validate_clusters: false,
  };
}
