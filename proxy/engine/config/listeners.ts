// Compiles a Listener with its HttpConnectionManager and http_filters.
import { tlsParams } from "./tls-params.js";
import { isIP } from "node:net";
import type { HttpFilter, Listener, ListenerTls, RouteConfig, TcpProxy, WeightedCluster } from "./types.js";
import { adsSource, anyType, ConfigError, isObj, join, nameOf, onlyKnown, Reader, type Obj } from "./read.js";
import { compileFilter } from "./filters.js";
import { filterConfig } from "../filters/api.js";
import { routerFilter, suppressesEnvoyHeaders } from "../filters/router.js";
import { compileRouteConfig } from "./routes.js";
import { compileAccessLog } from "./access-log.js";
import { dataSource } from "./upstream.js";
import { resolveSds, type Secrets } from "./secrets.js";
import { validationContext } from "./validation-context.js";
import { TYPE, typeName } from "../../xds/types.js";
import { CONNECTION_LIMIT, connectionLimit, hcmOptions } from "./hcm.js";
import { compileRbac } from "../rbac/filter.js";
import { compileTracing } from "./tracing.js";
import { chainMatch, chainTree } from "./chain-match.js";
import { matchesSource } from "./source-chains.js";

const HCM = typeName(TYPE.httpConnectionManager);
const LISTENER_FIELDS: ReadonlySet<string> = new Set([
  "@type",
  "name",
  "address",
  "filter_chains",
  "bind_to_port",
  "use_original_dst",
  "traffic_direction",
  "listener_filters",
  "listener_filters_timeout",
  "continue_on_listener_filters_timeout",
]);
/** Envoy's default listener_filters_timeout. */
const LISTENER_FILTERS_TIMEOUT_MS = 15_000;
const TCP = typeName(TYPE.tcpProxy);
const NETWORK_RBAC = typeName(TYPE.networkRbac);
/** The network RBAC filter's own fields (beyond the HTTP filter's); enforcement_type: only the default. */
const NETWORK_FIELDS = ["stat_prefix", "enforcement_type"];

export function compileListener(
  raw: unknown,
  index: number,
  routes: ReadonlyMap<string, RouteConfig>,
  hasCluster: (name: string) => boolean,
  secrets: Secrets = new Map(),
): Listener {
  const name = nameOf(raw, "name", index);
  const r = new Reader("Listener", name);
  const o = r.obj(raw, "");
  r.reqStr(o, "name", "");
  // A field not read here would be ignored: refused, naming it. listener_filters: only tls_inspector (see below).
  for (const key of Object.keys(o))
    if (!LISTENER_FIELDS.has(key)) r.fail(key, `not supported (supported: ${[...LISTENER_FIELDS].join(", ")})`);
  const addr = r.obj(o.address, "address");
  onlyKnown(r, addr, "address", ["socket_address"], "Address");
  const sa = r.obj(addr.socket_address, "address.socket_address");
  onlyKnown(r, sa, "address.socket_address", ["address", "port_value"], "SocketAddress");
  const port = r.num(sa, "port_value", "address.socket_address") ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    r.fail("address.socket_address.port_value", `invalid port ${port}`);
  // An IP, as Envoy requires: anything else (a CIDR range, a name) would never equal a destination, and the listener
  // would take no connection while its config was accepted.
  const ip = r.str(sa, "address", "address.socket_address");
  if (ip !== undefined && !isIP(ip)) r.fail("address.socket_address.address", `"${ip}" is not an IP address`);
  const chains = r.list(o, "filter_chains", "");
  if (chains.length === 0) r.fail("filter_chains", "at least one filter chain is required");
  const flags = {
    bindToPort: r.bool(o, "bind_to_port", "") ?? true,
    useOriginalDst: r.bool(o, "use_original_dst", "") ?? false,
    inspectTimeoutMs: r.duration(o, "listener_filters_timeout", "") ?? LISTENER_FILTERS_TIMEOUT_MS,
  };
  if (r.bool(o, "continue_on_listener_filters_timeout", ""))
    r.fail(
      "continue_on_listener_filters_timeout",
      "only false is supported: a connection the inspector can't place is closed",
    );
  const inspectsTls = listenerFilters(r, o);
  const matched = chains.map((c, i) => ({ i, c: r.obj(c, `filter_chains[${i}]`), ...chainMatch(r, c, i) }));
  for (const m of matched)
    for (const [field, set] of [
      ["transport_protocol", m.transport],
      ["server_names", m.names],
    ] as const)
      if (set && !inspectsTls)
        r.fail(
          `filter_chains[${m.i}].filter_chain_match.${field}`,
          "needs the envoy.filters.listener.tls_inspector listener filter",
        );
  const defaults = matched.filter(
    (m) => m.port === undefined && m.transport === undefined && !m.names && !m.destinations && !matchesSource(m),
  );
  if (defaults.length > 1)
    r.fail(`filter_chains[${defaults[1]?.i}]`, "only one filter chain may have no filter_chain_match");
  if (chains.length > 1 || defaults.length === 0) {
    // Several chains: each compiled as a one-chain listener of the same name, chosen per connection (chain-match.ts).
    const one = (m: (typeof matched)[number]): Listener => {
      const { filter_chain_match: _m, ...chain } = m.c;
      try {
        const { listener_filters: _f, ...rest } = o;
        const compiled = compileListener(
          { ...rest, filter_chains: [chain], use_original_dst: false },
          index,
          routes,
          hasCluster,
          secrets,
        );
        return { ...compiled, chainIndex: m.i };
      } catch (err) {
        if (err instanceof ConfigError)
          throw new ConfigError(
            err.kind,
            err.resource,
            err.path.replace(/^filter_chains\[0\]/, `filter_chains[${m.i}]`),
            err.detail,
          );
        throw err;
      }
    };
    const { byPort, fallback } = chainTree(r, matched, one);
    return {
      ...(fallback ?? {
        name,
        tls: undefined,
        address: byPort.values().next().value?.address ?? "0.0.0.0",
        port,
        direction: "outbound",
        hcm: undefined,
        tcp: undefined,
        connectionLimit: undefined,
        networkRbac: [],
        byTransport: undefined,
      }),
      ...flags,
      byPort,
    };
  }
  const chain = r.obj(chains[0], "filter_chains[0]");
  // name and metadata are informational; on_demand_configuration, transport_socket_connect_timeout: refused.
  onlyKnown(
    r,
    chain,
    "filter_chains[0]",
    ["filters", "filter_chain_match", "transport_socket", "name", "metadata"],
    "FilterChain",
  );
  const filters = r.list(chain, "filters", "filter_chains[0]");
  filters.forEach((f, i) =>
    onlyKnown(
      r,
      r.obj(f, `filter_chains[0].filters[${i}]`),
      `filter_chains[0].filters[${i}]`,
      ["name", "typed_config"],
      "Filter",
    ),
  );
  const typeOf = (f: unknown) => {
    const config = isObj(f) ? f.typed_config : undefined;
    return anyType(isObj(config) ? config : undefined);
  };
  // An optional connection_limit, network RBAC filters, then exactly one of HCM and TcpProxy.
  const limited = filters.length >= 2 && typeOf(filters[0]) === CONNECTION_LIMIT;
  let at = limited ? 1 : 0;
  const networkRbac: Listener["networkRbac"] = [];
  for (; at < filters.length - 1 && typeOf(filters[at]) === NETWORK_RBAC; at++) {
    const np = `filter_chains[0].filters[${at}].typed_config`;
    const nt = r.obj(r.obj(filters[at], `filter_chains[0].filters[${at}]`).typed_config, np);
    const statPrefix = r.reqStr(nt, "stat_prefix", np);
    networkRbac.push({ statPrefix, rbac: compileRbac(r, nt, np, NETWORK_FIELDS, statPrefix) });
  }
  const type = filters.length === at + 1 ? typeOf(filters[at]) : undefined;
  if (type !== HCM && type !== TCP) {
    r.fail(
      "filter_chains[0].filters",
      `exactly one network filter, ${HCM} or ${TCP}, optionally after ${CONNECTION_LIMIT} and ${NETWORK_RBAC} filters, is supported`,
    );
  }
  const hp = `filter_chains[0].filters[${at}].typed_config`;
  const typed = r.obj(r.obj(filters[at], `filter_chains[0].filters[${at}]`).typed_config, hp);
  const base = {
    connectionLimit: limited ? connectionLimit(r, filters[0], "filter_chains[0].filters[0]") : undefined,
    networkRbac,
    name,
    tls: listenerTls(r, r.optObj(chain, "transport_socket", "filter_chains[0]"), secrets),
    address: r.str(sa, "address", "address.socket_address") ?? "0.0.0.0",
    port,
    direction: r.str(o, "traffic_direction", "") === "INBOUND" ? ("inbound" as const) : ("outbound" as const),
    ...flags,
    byPort: undefined,
    byTransport: undefined,
  };
  if (type === TCP) return { ...base, hcm: undefined, tcp: tcpProxy(r, typed, hp) };
  const hcm = typed;
  const options = hcmOptions(r, hcm, hp);
  let routeConfig: RouteConfig | undefined;
  let rdsName: string | undefined;
  const inline = r.optObj(hcm, "route_config", hp);
  const rds = r.optObj(hcm, "rds", hp);
  if (inline) routeConfig = compileRouteConfig(inline, hasCluster, 0, true);
  else if (rds) {
    onlyKnown(r, rds, join(hp, "rds"), ["route_config_name", "config_source"], "Rds");
    adsSource(r, r.optObj(rds, "config_source", join(hp, "rds")), join(hp, "rds.config_source"));
    rdsName = r.reqStr(rds, "route_config_name", join(hp, "rds"));
    routeConfig = routes.get(rdsName);
  } else r.fail(hp, "one of route_config or rds is required");
  const httpFilters: HttpFilter[] = r.list(hcm, "http_filters", hp).map((f, i) => {
    const fp = join(join(hp, "http_filters"), i);
    const fo = r.obj(f, fp);
    // disabled (a filter off unless a route turns it on) and config_discovery (ECDS) are not implemented: refused.
    onlyKnown(r, fo, fp, ["name", "typed_config", "is_optional"], "HttpFilter");
    const fname = r.reqStr(fo, "name", fp);
    const typed = r.optObj(fo, "typed_config", fp);
    return { name: fname, config: compileFilter(r, fname, typed, fp) };
  });
  if (!httpFilters.length) httpFilters.push({ name: routerFilter.name, config: filterConfig(routerFilter, undefined) });
  const last = httpFilters.length - 1;
  httpFilters.forEach((f, i) => {
    if ((f.config.extension.terminal === true) !== (i === last))
      r.fail(join(join(hp, "http_filters"), i), "the router filter must be last, and only last");
  });
  return {
    ...base,
    tcp: undefined,
    hcm: {
      statPrefix: r.str(hcm, "stat_prefix", hp) ?? "",
      routeConfig,
      rdsName,
      filters: httpFilters,
      stripAnyHostPort: r.bool(hcm, "strip_any_host_port", hp) ?? false,
      stripMatchingHostPort: r.bool(hcm, "strip_matching_host_port", hp) ?? false,
      generateRequestId: r.bool(hcm, "generate_request_id", hp) ?? true,
      accessLog: compileAccessLog(r, hcm, hp),
      ...compileTracing(r, hcm, hp, hasCluster),
      ...options,
      suppressEnvoyHeaders: suppressesEnvoyHeaders(httpFilters[last]?.config),
    },
  };
}

const TLS_INSPECTOR = "envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector";

/** listener_filters: only the TLS inspector (what transport_protocol matching needs). True when it is there. */
function listenerFilters(r: Reader, o: Obj): boolean {
  let tls = false;
  r.list(o, "listener_filters", "").forEach((f, i) => {
    const p = `listener_filters[${i}]`;
    const fo = r.obj(f, p);
    // filter_disabled and config_discovery are not implemented, nor the inspector's ja3 and buffer options: refused.
    onlyKnown(r, fo, p, ["name", "typed_config"], "ListenerFilter");
    const typed = r.optObj(fo, "typed_config", p);
    if (typed) onlyKnown(r, typed, join(p, "typed_config"), [], "TlsInspector");
    const type = anyType(typed);
    const name = r.str(fo, "name", p);
    if (type === TLS_INSPECTOR || (!type && name === "envoy.filters.listener.tls_inspector")) tls = true;
    else r.fail(p, `listener filter ${JSON.stringify(type ?? name)} is not supported (only ${TLS_INSPECTOR})`);
  });
  return tls;
}

// As in Envoy, the clusters named need not exist yet: a connection routed to a missing one is closed (flag NC).
function tcpProxy(r: Reader, o: Obj, path: string): TcpProxy {
  // Not implemented, so refused: hash_policy, tunneling_config, metadata_match, max_connect_attempts,
  // max_downstream_connection_duration and the rest.
  onlyKnown(r, o, path, ["stat_prefix", "cluster", "weighted_clusters", "idle_timeout", "access_log"], "TcpProxy");
  const cluster = r.str(o, "cluster", path);
  const weighted: WeightedCluster[] = [];
  const wc = r.optObj(o, "weighted_clusters", path);
  if (cluster !== undefined) {
    if (cluster === "") r.fail(join(path, "cluster"), "must not be empty");
  } else if (wc) {
    onlyKnown(r, wc, join(path, "weighted_clusters"), ["clusters"], "TcpProxy.WeightedCluster");
    r.list(wc, "clusters", join(path, "weighted_clusters")).forEach((c, i) => {
      const cp = join(join(path, "weighted_clusters.clusters"), i);
      const co = r.obj(c, cp);
      onlyKnown(r, co, cp, ["name", "weight"], "ClusterWeight");
      const n = r.reqStr(co, "name", cp);
      weighted.push({ name: n, weight: r.num(co, "weight", cp) ?? 0, edits: undefined, perFilter: new Map() });
    });
  } else r.fail(path, "one of cluster or weighted_clusters is required");
  const cumulative: number[] = [];
  let totalWeight = 0;
  for (const w of weighted) cumulative.push((totalWeight += w.weight));
  if (weighted.length && totalWeight <= 0) r.fail(join(path, "weighted_clusters"), "weights sum to 0");
  return {
    statPrefix: r.str(o, "stat_prefix", path) ?? "",
    cluster,
    weighted,
    cumulative,
    totalWeight,
    idleTimeoutMs: r.duration(o, "idle_timeout", path) ?? 3_600_000,
    accessLog: compileAccessLog(r, o, path),
  };
}

const TLS = typeName(TYPE.downstreamTlsContext);

function listenerTls(r: Reader, ts: Obj | undefined, secrets: Secrets): ListenerTls | undefined {
  if (!ts) return undefined;
  const p = "filter_chains[0].transport_socket.typed_config";
  const typed = r.obj(ts.typed_config, p);
  if (anyType(typed) !== TLS) r.fail(join(p, "@type"), `unsupported transport socket (expected ${TLS})`);
  onlyKnown(r, typed, p, ["common_tls_context", "require_client_certificate"], "DownstreamTlsContext");
  const cp = join(p, "common_tls_context");
  const common = resolveSds(r, r.obj(typed.common_tls_context ?? {}, cp), cp, secrets);
  onlyKnown(
    r,
    common,
    cp,
    ["tls_certificates", "alpn_protocols", "validation_context", "tls_params"],
    "common_tls_context",
  );
  const certs = r.list(common, "tls_certificates", cp);
  if (!certs.length) r.fail(join(cp, "tls_certificates"), "a certificate is required");
  const certificates = certs.map((c, i) => {
    const tp = join(join(cp, "tls_certificates"), i);
    const cert = r.obj(c, tp);
    onlyKnown(r, cert, tp, ["certificate_chain", "private_key"], "TlsCertificate");
    return {
      certificateChain: dataSource(r, cert, "certificate_chain", tp),
      privateKey: dataSource(r, cert, "private_key", tp),
    };
  });
  const alpn = r.list(common, "alpn_protocols", cp).map(String);
  const vp = join(cp, "validation_context");
  const v = validationContext(r, r.optObj(common, "validation_context", cp), vp, true);
  const requireClientCert = r.bool(typed, "require_client_certificate", p) ?? false;
  if (requireClientCert && !v.ca)
    r.fail(join(p, "require_client_certificate"), "needs a validation context (trusted_ca) to verify clients with");
  return {
    certificates,
    alpn: alpn.length ? alpn : ["h2", "http/1.1"],
    ...v,
    requireClientCert,
    ...tlsParams(r, common, cp, true),
  };
}
