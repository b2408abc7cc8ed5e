// translate(config, proxy) → the Envoy v3 resources that proxy needs, following Istio's conventions. Pure.
import { observing, type Observes, type Observing, type Side } from "./telemetry.js";
import { workloadAuthz } from "./authz.js";
import type {
  Cluster,
  ClusterLoadAssignment,
  Secret,
  Listener,
  RouteConfiguration,
  VirtualHost,
} from "../../../proxy/xds/resources.js";
import { prune, type Json } from "../../../proxy/xds/types.js";
import type { ConfigModel, Endpoint, Service, ServicePort } from "../model/config.js";
import { endpointPort, labelsMatch } from "../model/config.js";
import { isHttpProtocol, isRange } from "../model/normalise.js";
import { buildClusters, inboundClusters, outboundName } from "./clusters.js";
import { buildGateways } from "./gateway.js";
import { credentialRefusal } from "./gateway-credentials.js";
import { clusterCredentials } from "./upstream-credentials.js";
import { atTheEdge } from "./edge.js";
import { withProxyHeaders } from "./proxy-headers.js";
import { findService, servicesForHost } from "./hosts.js";
import { tcpChains, tcpFilterChains } from "./tcp-chains.js";
import { isTlsProtocol, outboundTlsListener, sharedTlsListeners, tlsChains, type TlsChain } from "./tls-outbound.js";
import {
  apiListener,
  catchAllVirtualHost,
  logConnections,
  outboundHttpListener,
  outboundTcpListener,
  virtualInbound,
  virtualOutbound,
} from "./listeners.js";
import type { ProxyIdentity } from "./proxy.js";
import { proxyLocality } from "./locality.js";
import { findWorkload } from "./proxy.js";
import { portMode, workloadMtls } from "./peer-authentication.js";
import type { RouteContext } from "./routes.js";
import type { TranslateMemo } from "./memo.js";
import { boundTo, routeConfiguration, serviceVirtualHost, virtualServiceFor } from "./virtualhosts.js";
import { proxyScope, type Scope } from "./scope.js";

export { parseNodeId } from "./proxy.js";
export type { ProxyIdentity } from "./proxy.js";

export interface TranslateOptions {
  /** Listener names the proxy subscribed to; names like `echo` or `echo:7070` get API listeners (gRPC). */
  listenerNames?: string[];
  /** Per-object results of earlier translations to reuse where their inputs are the same; the output is equal. */
  memo?: TranslateMemo;
  /**
   * Gateway Secrets (credentialName) for a router proxy that connected on plaintext xDS, its namespace unverified:
   * local mode only. Otherwise only a proxy on 15012 (`mtls`, its namespace the certificate's) gets them, as istiod
   * serves credentials only to an authenticated proxy.
   */
  credentialsOverPlaintext?: boolean;
}

export interface TranslateResult {
  listeners: Listener[];
  routes: RouteConfiguration[];
  clusters: Cluster[];
  endpoints: ClusterLoadAssignment[];
  /** SDS Secrets a gateway's credentialName servers need (`kubernetes://<name>`): only a router proxy gets any, and
   * only of its own namespace. */
  secrets: Secret[];
  /** Problems the user should hear about (unknown hosts, undefined subsets); the rest is still served. */
  warnings: string[];
}

/** What the proxy sees: the services exported to its namespace, and for a sidecar what its Sidecar imports. */
export function scopeOf(
  model: ConfigModel,
  proxy: ProxyIdentity,
  labels: Record<string, string> = findWorkload(model, proxy)?.labels ?? {},
): Scope {
  return proxyScope(model, proxy.kind, proxy.namespace, labels);
}

function baseContext(model: ConfigModel, proxy: ProxyIdentity, warnings: Set<string>): RouteContext & Observes {
  const labels = findWorkload(model, proxy)?.labels ?? {};
  const sides = new Map<Side, Observing | undefined>();
  const warn = (m: string) => warnings.add(m);
  return {
    observe: (side) => {
      if (!sides.has(side)) sides.set(side, observing(model, proxy.namespace, labels, side, warn));
      return sides.get(side);
    },
    model,
    scope: scopeOf(model, proxy, labels),
    port: 0,
    labels,
    proxyNamespace: proxy.namespace,
    proxyless: proxy.proxyless,
    gateway: "mesh",
    vsNamespace: proxy.namespace,
    warn: (m) => warnings.add(m),
  };
}

const unmatched = new WeakMap<ConfigModel, string[]>();

/**
 * VirtualService hosts (mesh-bound) that name no service: reported, not silently dropped. Once per model: every
 * proxy class's translation reports them.
 */
export function unmatchedHosts(model: ConfigModel, warnings: Set<string> = new Set()): Set<string> {
  let found = unmatched.get(model);
  if (!found) {
    found = [];
    for (const vs of model.virtualServices) {
      if (!boundTo(vs, "mesh")) continue;
      for (const host of vs.spec.hosts ?? [])
        if (servicesForHost(model, host, vs.namespace).length === 0)
          found.push(`VirtualService/${vs.namespace}/${vs.name}: host "${host}" matches no service`);
    }
    unmatched.set(model, found);
  }
  for (const w of found) warnings.add(w);
  return warnings;
}

/** The ports the proxy's own workload serves, found through the services whose endpoints it is. */
function inboundPorts(model: ConfigModel, proxy: ProxyIdentity): ServicePort[] {
  const workload = findWorkload(model, proxy);
  const address = workload?.address ?? proxy.ip;
  // On loopback (local mode) many workloads share an address; their labels tell them apart.
  const mine = (labels: Record<string, string>): boolean =>
    !workload || Object.keys(labels).length === 0 || labelsMatch(labels, workload.labels);
  const ports = new Map<number, ServicePort>();
  // The Services that select the pod, whether it is Ready yet or not (its endpoints are only listed once Ready).
  if (workload) {
    for (const service of model.services) {
      if (!service.selector || service.namespace !== workload.namespace) continue;
      if (!labelsMatch(service.selector, workload.labels)) continue;
      for (const port of service.ports) {
        const named = port.targetPortName === undefined ? undefined : workload.ports?.[port.targetPortName];
        if (port.targetPortName !== undefined && named === undefined) continue; // the pod doesn't serve that name
        const target = named ?? port.targetPort ?? port.number;
        if (!ports.has(target)) ports.set(target, { ...port, targetPort: target });
      }
    }
  }
  for (const { service, endpoint } of endpointsAt(model, address)) {
    if (!mine(endpoint.labels)) continue;
    for (const port of service.ports) {
      const target = endpointPort(endpoint, port);
      if (!ports.has(target)) ports.set(target, { ...port, targetPort: target });
    }
  }
  return [...ports.values()].sort((a, b) => (a.targetPort ?? 0) - (b.targetPort ?? 0));
}

const endpointIndexes = new WeakMap<ConfigModel, Map<string, { service: Service; endpoint: Endpoint }[]>>();

/** Every service endpoint at an address, indexed once per model. */
function endpointsAt(model: ConfigModel, address: string): { service: Service; endpoint: Endpoint }[] {
  let index = endpointIndexes.get(model);
  if (!index) {
    index = new Map();
    for (const service of model.services) {
      for (const endpoint of service.endpoints)
        index.set(endpoint.address, [...(index.get(endpoint.address) ?? []), { service, endpoint }]);
    }
    endpointIndexes.set(model, index);
  }
  return index.get(address) ?? [];
}

/**
 * The service's virtual host on a port, from the memo when its inputs are the same: the service, the proxy's
 * namespace and labels (which VirtualService, which match blocks apply), the VirtualService, and what its routes
 * look up: the other services (their shape), the DestinationRules (subsets, hash policies), the mesh config.
 */
function virtualHost(ctx: RouteContext, service: Service, port: ServicePort, memo?: TranslateMemo): VirtualHost {
  const at = { ...ctx, port: port.number };
  if (!memo) return serviceVirtualHost(at, service, port);
  // proxyless: its routes are shaped for gRPC clients (timeouts), though today only sidecars reach this memo.
  const key = `${port.number}\0${ctx.proxyNamespace}\0${ctx.proxyless === true}\0${JSON.stringify(Object.entries(ctx.labels).sort())}`;
  const m = ctx.model;
  const deps = [virtualServiceFor(at, service), memo.shape, m.destinationRules, m.mesh, m.domainSuffix];
  return memo.get("vhost", service, key, deps, ctx.warn, (warn) => serviceVirtualHost({ ...at, warn }, service, port));
}

function sidecar(ctx: RouteContext & Observes, proxy: ProxyIdentity, out: TranslateResult, memo?: TranslateMemo): void {
  const byPort = new Map<number, VirtualHost[]>();
  const tcp: Listener[] = [];
  /** TLS ports of services without a virtual IP: their chains on 0.0.0.0_<port>, told apart by server name. */
  const sharedTls = new Map<number, (TlsChain & { owner: string })[]>();
  const mode = ctx.scope?.outboundTrafficPolicy ?? ctx.model.mesh?.outboundTrafficPolicy ?? "ALLOW_ANY";
  /** Each VIP:port's listener is the first service's (by hostname) that has it; two would NACK all of LDS. */
  const vipOwners = new Map<string, string>();
  for (const service of ctx.scope?.services ?? ctx.model.services) {
    for (const port of service.ports) {
      if (!isHttpProtocol(port.protocol)) {
        const cluster = outboundName(port.number, "", service.hostname);
        const at = { ...ctx, port: port.number };
        const vs = virtualServiceFor(at, service);
        const vips = service.addresses.filter((a) => !isRange(a));
        if (isTlsProtocol(port.protocol) && !vips.length) {
          // Without a virtual IP, TLS is told apart by server name, on 0.0.0.0_<port> (shared).
          const chains = sharedTls.get(port.number) ?? [];
          chains.push(...tlsChains(at, service, port, vs, true).map((c) => ({ ...c, owner: service.hostname })));
          sharedTls.set(port.number, chains);
          continue;
        }
        // Plain TCP can only be told apart by destination address: one listener per virtual IP.
        for (const vip of service.addresses) {
          if (isRange(vip)) continue; // refused by validation for TCP ports: no listener address can be a range
          const owner = vipOwners.get(`${vip}_${port.number}`);
          if (owner !== undefined) {
            ctx.warn(`${service.hostname}: ${vip}:${port.number} is also ${owner}'s, whose it stays`);
            continue;
          }
          vipOwners.set(`${vip}_${port.number}`, service.hostname);
          tcp.push(
            isTlsProtocol(port.protocol)
              ? outboundTlsListener(vip, port.number, tlsChains(at, service, port, vs, false), mode)
              : outboundTcpListener(vip, port.number, cluster, tcpFilterChains(tcpChains(at, vs, cluster, cluster))),
          );
        }
        continue;
      }
      const vhosts = byPort.get(port.number) ?? [];
      vhosts.push(virtualHost(ctx, service, port, memo));
      byPort.set(port.number, vhosts);
    }
  }
  out.listeners.push(virtualOutbound(mode));
  for (const [port, vhosts] of [...byPort.entries()].sort((a, b) => a[0] - b[0])) {
    out.listeners.push(outboundHttpListener(port, ctx.observe("CLIENT")));
    out.routes.push(routeConfiguration(String(port), [...vhosts, catchAllVirtualHost(mode, ctx.model.mesh)]));
  }
  out.listeners.push(...tcp, ...sharedTlsListeners(ctx, sharedTls, byPort, mode));
  const inbound = inboundPorts(ctx.model, proxy);
  if (inbound.length) {
    const peers = workloadMtls(ctx.model, proxy.namespace, ctx.labels);
    out.listeners.push(
      virtualInbound(inbound, ctx.observe("SERVER"), workloadAuthz(ctx.model, proxy), {
        modeFor: (port) => portMode(peers, port),
        identity: proxy.mtls === true,
      }),
    );
    out.clusters.push(...inboundClusters(inbound));
  }
}

/** `echo`, `echo:7070`, `echo.default.svc.cluster.local:7070` → an API listener and its routes. */
function apiListeners(ctx: RouteContext, names: string[], out: TranslateResult): void {
  for (const name of names) {
    if (!name || out.listeners.some((l) => l["name"] === name)) continue;
    const m = /^(.*?)(?::(\d+))?$/.exec(name);
    const found = findService(ctx.model, m?.[1] ?? name, ctx.proxyNamespace);
    const service = found && (!ctx.scope || ctx.scope.has(found)) ? found : undefined;
    const port = service?.ports.find((p) => (m?.[2] ? p.number === Number(m[2]) : true));
    if (!service || !port) {
      ctx.warn(`listener "${name}" requested by ${ctx.proxyNamespace} names no service port`);
      continue;
    }
    out.listeners.push(apiListener(name));
    out.routes.push(
      routeConfiguration(name, [serviceVirtualHost({ ...ctx, port: port.number }, service, port, [name])]),
    );
  }
}

/**
 * Proxies with equal keys get equal resources: translate once per key, not once per proxy. The key holds what
 * translate reads from a proxy: kind, namespace, gRPC-ness, workload labels, served ports, requested listeners,
 * and the Sidecar that scopes it.
 */
export function proxyClassKey(model: ConfigModel, proxy: ProxyIdentity, options: TranslateOptions = {}): string {
  const labels = findWorkload(model, proxy)?.labels ?? {};
  const ports = proxy.kind === "sidecar" && !proxy.proxyless ? inboundPorts(model, proxy) : [];
  return JSON.stringify([
    proxy.kind,
    proxy.namespace,
    proxy.proxyless,
    proxy.mtls === true,
    Object.entries(labels).sort(),
    ports.map((p) => [p.targetPort, p.protocol]),
    [...(options.listenerNames ?? [])].sort(),
    scopeOf(model, proxy, labels).key,
    // Its EDS priorities and weights are its locality's (translate/locality.ts): zones must not share a translation.
    proxyLocality(model, proxy),
    // A gateway whose ServiceAccount may not read its namespace's Secrets gets none (and a warning saying why).
    proxy.credentialsDenied ?? "",
    // A sidecar allowed them gets its selector rules' credentialName Secrets.
    proxy.credentialsAllowed === true,
  ]);
}

export function translate(model: ConfigModel, proxy: ProxyIdentity, options: TranslateOptions = {}): TranslateResult {
  const warnings = new Set<string>();
  const out: TranslateResult = { listeners: [], routes: [], clusters: [], endpoints: [], secrets: [], warnings: [] };
  const ctx = baseContext(model, proxy, warnings);
  const memo = options.memo;
  memo?.model(model);
  const built = buildClusters(model, proxy, ctx.scope?.services ?? model.services, memo);
  out.clusters.push(...built.clusters);
  out.endpoints.push(...built.endpoints);
  unmatchedHosts(model, warnings);
  const refusal = proxy.kind === "router" ? credentialRefusal(proxy, options.credentialsOverPlaintext === true) : "";
  if (proxy.kind === "router") {
    buildGateways(ctx, proxy, out, refusal);
    out.listeners = atTheEdge(out.listeners, model.mesh);
  } else if (!proxy.proxyless) sidecar(ctx, proxy, out, memo);
  if (!proxy.proxyless) out.listeners = withProxyHeaders(out.listeners, model.mesh, proxy.kind);
  const upstream = clusterCredentials(model, proxy, out.clusters, refusal);
  for (const w of upstream.warnings) warnings.add(w);
  const served = new Set(out.secrets.map((x) => x.name));
  out.secrets.push(...upstream.secrets.filter((x) => !served.has(x.name)));
  out.secrets.sort((a, b) => (a.name ?? "").localeCompare(b.name ?? ""));
  if (!proxy.proxyless) out.listeners = logConnections(out.listeners, ctx.observe);
  apiListeners(ctx, options.listenerNames ?? [], out);
  // A reused resource is the same object as before: pruned once, it stays one object, which is encoded once.
  const pruneOne = <T extends Json>(x: T): T => (memo ? memo.prune(x, prune) : prune(x));
  const pruneAll = <T extends Json>(list: T[]): T[] => list.map(pruneOne);
  return {
    listeners: pruneAll(out.listeners),
    // A route table is new each time, but most of its virtual hosts are reused: those keep their identity.
    routes: out.routes.map((r) => ({
      ...prune({ ...r, virtual_hosts: [] }),
      virtual_hosts: pruneAll(r.virtual_hosts ?? []),
    })),
    clusters: pruneAll(out.clusters),
    endpoints: pruneAll(out.endpoints),
    secrets: out.secrets.map((x) => prune(x)),
    warnings: [...warnings].sort(),
  };
}
