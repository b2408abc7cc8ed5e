// HTTP filter configs, compiled by the filter the registry (filters/index.ts) finds for them: by typed_config's @type,
// or else by Envoy's well-known name. One the engine doesn't implement is refused, named.
import type { Listener, PerFilterConfig, RouteConfig } from "./types.js";
import { anyType, ConfigError, join, type Obj, type Reader } from "./read.js";
import { TYPE, typeName } from "../../xds/types.js";
import type { HttpFilterExtension } from "../filters/api.js";
import { filterConfig, type FilterConfig } from "../filters/api.js";
import { filterByName, filterByType } from "../filters/index.js";

/** The filter named by typed_config's @type, or else by the filter's well-known name. */
export function filterFor(r: Reader, name: string, typed: Obj | undefined, path: string): HttpFilterExtension<unknown> {
  const t = anyType(typed);
  if (t !== undefined) {
    const f = filterByType(t);
    if (!f) r.fail(join(path, "typed_config.@type"), `unknown http filter type "${t}"`);
    return f;
  }
  const f = filterByName(name);
  if (!f) r.fail(join(path, "name"), `unknown http filter "${name}"`);
  return f;
}

/** One filter's config (typed_config, or none), compiled by its filter. */
export function compileFilter(r: Reader, name: string, typed: Obj | undefined, path: string): FilterConfig {
  const f = filterFor(r, name, typed, path);
  return filterConfig(f, f.compile(r, typed, join(path, "typed_config")));
}

/** typed_per_filter_config: {filter name: Any}. Unknown filter types are rejected. */
export function perFilter(r: Reader, o: Obj, path: string): PerFilterConfig {
  const tpfc = r.optObj(o, "typed_per_filter_config", path);
  const out = new Map<string, FilterConfig>();
  if (!tpfc) return out;
  for (const [name, v] of Object.entries(tpfc)) {
    const p = join(join(path, "typed_per_filter_config"), name);
    let typed = r.obj(v, p);
    // envoy.config.route.v3.FilterConfig wraps the real config: {config: Any, is_optional}
    if (anyType(typed) === typeName(TYPE.routeFilterConfig)) typed = r.obj(typed.config ?? {}, join(p, "config"));
    const f = filterFor(r, name, typed, p);
    out.set(name, filterConfig(f, f.compile(r, typed, p)));
  }
  return out;
}

/**
 * Every chain a listener serves: its own, by destination port, destination IP, server name, transport (TLS,
 * plaintext, ALPN), direct source IP, source type, source IP and source port.
 */
export function chainsOf(l: Listener): Listener[] {
  const t = l.byTransport;
  const grouped = [l.bySni, l.byDestination, l.byDirectSource, l.bySource].flatMap((s) =>
    s ? [s.fallback, ...s.groups.map((g) => g.listener)] : [],
  );
  const type = l.bySourceType;
  const port = l.bySourcePort;
  const bySource = [
    ...(type ? [type.local, type.external, type.any] : []),
    ...(port ? [port.any, ...port.ports.values()] : []),
  ];
  const nested = [
    ...(l.byPort?.values() ?? []),
    ...grouped,
    ...bySource,
    ...(t ? [t.tls, t.raw, ...t.alpn.chains] : []),
  ];
  return [l, ...nested.flatMap((c) => (c ? chainsOf(c) : []))];
}

/**
 * A route's typed_per_filter_config for a filter of the chain must be that filter's own kind: a fault config under
 * the RBAC filter's name would otherwise take the RBAC filter's place on the route. Refused, naming both, as Envoy
 * refuses a per-route config its filter can't read.
 */
export function checkPerFilter(listeners: readonly Listener[], routes: ReadonlyMap<string, RouteConfig>): void {
  for (const chain of listeners.flatMap(chainsOf)) {
    const hcm = chain.hcm;
    const rc = hcm && (hcm.routeConfig ?? (hcm.rdsName !== undefined ? routes.get(hcm.rdsName) : undefined));
    if (!hcm || !rc) continue;
    const kinds = new Map(hcm.filters.map((f) => [f.name, f.config.extension] as const));
    const check = (perFilter: PerFilterConfig, at: string) => {
      for (const [name, cfg] of perFilter) {
        const kind = kinds.get(name);
        if (kind && kind !== cfg.extension)
          throw new ConfigError(
            "RouteConfiguration",
            rc.name,
            `${at}.typed_per_filter_config.${name}`,
            `a ${cfg.extension.name} config for the ${kind.name} filter of listener "${chain.name}"`,
          );
      }
    };
    rc.virtualHosts.forEach((vh, i) => {
      check(vh.perFilter, `virtual_hosts[${i}]`);
      vh.routes.forEach((route, j) => {
        const at = `virtual_hosts[${i}].routes[${j}]`;
        check(route.perFilter, at);
        if (route.action.kind === "route")
          route.action.weighted.forEach((w, k) => check(w.perFilter, `${at}.route.weighted_clusters.clusters[${k}]`));
      });
    });
  }
}
