// VirtualService http routes → Envoy routes, in order, first match wins.
import type {
  RetryPolicy,
  Route,
  RouteAction,
  RouteAction_HashPolicy,
  RouteAction_RequestMirrorPolicy,
} from "../../../proxy/xds/resources.js";
import type { ConfigModel, Named, Service } from "../model/config.js";
import type { Destination, HTTPRoute, HTTPRouteDestination, VirtualService } from "../model/istio.js";
import { protoDuration } from "../model/duration.js";
import {
  CORS_FILTER,
  FAULT_FILTER,
  corsConfig,
  faultConfig,
  fraction,
  headerEdits,
  type HeaderEdits,
  redirectAction,
  retryPolicy,
  rewriteFields,
} from "./actions.js";
import { outboundName } from "./clusters.js";
import { xForwardedHost } from "./proxy-headers.js";
import { findService, fqdn } from "./hosts.js";
import type { MatchContext } from "./match.js";
import { blockApplies, routeMatch } from "./match.js";
import { effectivePolicy, hashPolicy } from "./policy.js";
import { ruleFor } from "./rule-select.js";
import type { Scope } from "./scope.js";

export interface RouteContext extends MatchContext {
  model: ConfigModel;
  /** What the proxy sees (exportTo, its Sidecar); unset: everything. */
  scope?: Scope;
  /** A gRPC client that reads xDS itself: it takes its deadline from max_stream_duration (gRFC A31). */
  proxyless?: boolean;
  warn(message: string): void;
}

interface Target {
  cluster: string;
  hash?: RouteAction_HashPolicy[];
}

/** Where a route sends requests, with the header edits of a single destination. */
type Targets = Pick<RouteAction, "cluster" | "weighted_clusters" | "hash_policy"> & HeaderEdits;

/** The cluster a destination names; unknown hosts and subsets are reported, and still named. */
export function destinationCluster(ctx: RouteContext, dest: Destination, where: string): Target {
  const service = findService(ctx.model, dest.host, ctx.vsNamespace);
  const subset = dest.subset ?? "";
  if (!service) {
    ctx.warn(`${where}: destination host "${dest.host}" matches no service`);
    return {
      cluster: outboundName(
        dest.port?.number ?? ctx.port,
        subset,
        fqdn(dest.host, ctx.vsNamespace, ctx.model.domainSuffix),
      ),
    };
  }
  const port = dest.port?.number ?? (service.ports.length === 1 ? service.ports[0]?.number : undefined) ?? ctx.port;
  if (!service.ports.some((p) => p.number === port))
    ctx.warn(`${where}: service "${service.hostname}" has no port ${port}`);
  const rule = ruleFor(ctx.model, service, { namespace: ctx.proxyNamespace, labels: ctx.labels });
  if (subset && !rule?.spec.subsets?.some((s) => s.name === subset)) {
    ctx.warn(`${where}: subset "${subset}" of "${dest.host}" is not defined by any DestinationRule`);
  }
  return {
    cluster: outboundName(port, subset, service.hostname),
    hash: hashPolicy(effectivePolicy(rule?.spec, port, subset)),
  };
}

function weightedTargets(ctx: RouteContext, dests: HTTPRouteDestination[], where: string): Targets {
  const first = dests[0];
  if (dests.length === 1 && first) {
    const target = destinationCluster(ctx, first.destination, `${where}.route[0]`);
    return { cluster: target.cluster, hash_policy: target.hash, ...headerEdits(first.headers) };
  }
  let clusters = dests
    .map((d, i) => ({ d, target: destinationCluster(ctx, d.destination, `${where}.route[${i}]`) }))
    .filter(({ d }) => (d.weight ?? 0) > 0)
    .map(({ d, target }) => ({ name: target.cluster, weight: d.weight, ...headerEdits(d.headers) }));
  if (clusters.length === 0) {
    ctx.warn(`${where}: every destination has weight 0; splitting evenly`);
    clusters = dests.map((d, i) => ({
      name: destinationCluster(ctx, d.destination, `${where}.route[${i}]`).cluster,
      weight: 1,
    }));
  }
  const hash = first ? destinationCluster({ ...ctx, warn: () => undefined }, first.destination, where).hash : undefined;
  return { weighted_clusters: { clusters }, hash_policy: hash };
}

function mirrors(ctx: RouteContext, http: HTTPRoute, where: string): RouteAction_RequestMirrorPolicy[] | undefined {
  const list: { destination: Destination; percent: number }[] = [];
  if (http.mirror)
    list.push({ destination: http.mirror, percent: http.mirrorPercentage?.value ?? http.mirrorPercent ?? 100 });
  for (const m of http.mirrors ?? []) list.push({ destination: m.destination, percent: m.percentage?.value ?? 100 });
  if (!list.length) return undefined;
  return list.map((m, i) => ({
    cluster: destinationCluster(ctx, m.destination, `${where}.mirror[${i}]`).cluster,
    runtime_fraction: { default_value: fraction(m.percent) },
  }));
}

/**
 * The route timeout as Istio writes it (None given: "0s", no timeout). A proxy gets it as `timeout`, and as the cap
 * on a gRPC request's own grpc-timeout (max_grpc_timeout: "0s" leaves it uncapped); a proxyless gRPC client, which
 * reads neither, as its stream's limit (max_stream_duration).
 */
function timeouts(
  ctx: RouteContext,
  timeout: string | undefined,
): Pick<RouteAction, "timeout" | "max_grpc_timeout" | "max_stream_duration"> {
  const t = protoDuration(timeout) ?? "0s";
  return ctx.proxyless
    ? { timeout: t, max_stream_duration: { max_stream_duration: t, grpc_timeout_header_max: t } }
    : { timeout: t, max_grpc_timeout: t };
}

/** The action part of an Envoy route, with its per-filter overrides. */
function action(ctx: RouteContext, http: HTTPRoute, where: string): Omit<Route, "name" | "match"> {
  const perFilter: NonNullable<Route["typed_per_filter_config"]> = {};
  if (http.fault) perFilter[FAULT_FILTER] = faultConfig(http.fault);
  if (http.corsPolicy) perFilter[CORS_FILTER] = corsConfig(http.corsPolicy);
  const out: Omit<Route, "name" | "match"> = { ...headerEdits(http.headers) };
  if (Object.keys(perFilter).length) out.typed_per_filter_config = perFilter;
  if (http.redirect) return { ...out, redirect: redirectAction(http.redirect) };
  if (http.directResponse) {
    const body = http.directResponse.body;
    const source =
      body?.string !== undefined
        ? { inline_string: body.string }
        : body?.bytes !== undefined
          ? { inline_bytes: body.bytes }
          : undefined;
    return { ...out, direct_response: { status: http.directResponse.status, body: source } };
  }
  const target = weightedTargets(ctx, http.route ?? [], where);
  const {
    request_headers_to_add,
    request_headers_to_remove,
    response_headers_to_add,
    response_headers_to_remove,
    hash_policy,
    ...cluster
  } = target;
  // A single destination's header edits apply to the whole route.
  const merge = <T>(a: T[] | undefined, b: T[] | undefined): T[] | undefined => {
    const all = [...(a ?? []), ...(b ?? [])];
    return all.length ? all : undefined;
  };
  out.request_headers_to_add = merge(out.request_headers_to_add, request_headers_to_add);
  out.request_headers_to_remove = merge(out.request_headers_to_remove, request_headers_to_remove);
  out.response_headers_to_add = merge(out.response_headers_to_add, response_headers_to_add);
  out.response_headers_to_remove = merge(out.response_headers_to_remove, response_headers_to_remove);
  // Faults disable retries and timeouts on their route.
  const faulted = http.fault !== undefined;
  out.route = {
    ...cluster,
    ...rewriteFields(http.rewrite),
    ...(http.rewrite ? xForwardedHost(ctx.model.mesh) : {}),
    ...timeouts(ctx, faulted ? undefined : http.timeout),
    retry_policy: faulted
      ? undefined
      : http.retries
        ? retryPolicy(http.retries, hash_policy !== undefined)
        : meshRetry(ctx, hash_policy !== undefined),
    hash_policy,
    request_mirror_policies: mirrors(ctx, http, where),
  };
  return out;
}

/** Envoy routes for one VirtualService on one port (or gateway), in order. */
export function virtualServiceRoutes(ctx: RouteContext, vs: Named<VirtualService>): Route[] {
  const routes: Route[] = [];
  (vs.spec.http ?? []).forEach((http, i) => {
    const where = `VirtualService/${vs.namespace}/${vs.name}: http[${i}]`;
    const name = http.name ?? `${vs.namespace}.${vs.name}.${i}`;
    const blocks = http.match?.length ? http.match.filter((m) => blockApplies(m, ctx)) : [undefined];
    if (!blocks.length) return;
    const act = action(ctx, http, where);
    for (const block of blocks) routes.push({ name, match: routeMatch(block), ...act });
  });
  return routes;
}

/** A route's retries when its VirtualService sets none: the mesh config's defaultHttpRetryPolicy, else Istio's default. */
function meshRetry(ctx: RouteContext, consistentHash: boolean): RetryPolicy | undefined {
  const policy = retryPolicy(ctx.model.mesh?.defaultRetry, consistentHash);
  // Istio's default policy retries 503 under retriable-status-codes; keep that when the mesh config names no codes.
  if (
    policy &&
    policy.retriable_status_codes === undefined &&
    String(policy.retry_on).includes("retriable-status-codes")
  )
    policy.retriable_status_codes = [503];
  return policy;
}

/** The route Istio writes when no VirtualService applies: everything to the service's default cluster. */
export function defaultRoute(ctx: RouteContext, service: Service, port: number): Route {
  const rule = ruleFor(ctx.model, service, { namespace: ctx.proxyNamespace, labels: ctx.labels });
  const hash = hashPolicy(effectivePolicy(rule?.spec, port, ""));
  return {
    name: "default",
    match: { prefix: "/" },
    route: {
      cluster: outboundName(port, "", service.hostname),
      ...timeouts(ctx, undefined),
      retry_policy: meshRetry(ctx, hash !== undefined),
      hash_policy: hash,
    },
  };
}
