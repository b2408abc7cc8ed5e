// HTTP filter configs, compiled by the filter the registry (filters/index.ts) finds for them: by typed_config's @type,
// or else by Envoy's well-known name. One the engine doesn't implement is refused, named.
import type { PerFilterConfig } from "./types.js";
import { anyType, join, type Obj, type Reader } from "./read.js";
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
