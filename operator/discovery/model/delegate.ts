// VirtualService delegation, as istiod merges it (pilot/pkg/model/virtualservice.go, mergeVirtualServicesIfNeeded):
// a VirtualService without hosts is a delegate; a root's http route that names one (`delegate: {name, namespace}`)
// is replaced by the delegate's routes, each with its match narrowed to the root's (a delegate match the root's
// doesn't contain is dropped) and the root route's settings where the delegate route has none. Translation then sees
// ordinary VirtualServices. Pure.
import type { HTTPMatchRequest, HTTPRoute, StringMatch, VirtualService } from "./istio.js";
import type { Named } from "./config.js";

/** The VirtualServices translation serves: roots merged with their delegates, delegates themselves left out. */
export function mergeDelegates(
  list: Named<VirtualService>[],
  warn: (message: string) => void = () => undefined,
): Named<VirtualService>[] {
  const delegates = new Map<string, Named<VirtualService>>();
  for (const vs of list) if (!vs.spec.hosts?.length) delegates.set(`${vs.namespace}/${vs.name}`, vs);
  if (!list.some(isRoot)) return delegates.size ? list.filter((vs) => vs.spec.hosts?.length) : list;
  const out: Named<VirtualService>[] = [];
  for (const vs of list) {
    if (!vs.spec.hosts?.length) continue;
    if (!isRoot(vs)) {
      out.push(vs);
      continue;
    }
    const http: HTTPRoute[] = [];
    for (const route of vs.spec.http ?? []) {
      const ref = route.delegate;
      if (!ref) {
        http.push(route);
        continue;
      }
      const ns = ref.namespace || vs.namespace;
      const where = `VirtualService/${vs.namespace}/${vs.name}: delegate ${ns}/${ref.name}`;
      const d = delegates.get(`${ns}/${ref.name}`);
      if (!d) warn(`${where} does not exist; its route is left out`);
      else if (!exportedTo(d, vs.namespace)) warn(`${where} is not exported to ${vs.namespace}; its route is left out`);
      else for (const sub of d.spec.http ?? []) http.push(...mergeRoute(route, sub));
    }
    out.push({ ...vs, spec: { ...vs.spec, http } });
  }
  return out;
}

const isRoot = (vs: Named<VirtualService>): boolean => (vs.spec.http ?? []).some((r) => r.delegate !== undefined);

function exportedTo(d: Named<VirtualService>, ns: string): boolean {
  const to = d.spec.exportTo;
  if (!to?.length) return true; // the mesh default: everywhere
  return to.some((e) => e === "*" || e === ns || (e === "." && d.namespace === ns));
}

/** A delegate route under its root route: none when its matches fall outside the root's. */
function mergeRoute(root: HTTPRoute, sub: HTTPRoute): HTTPRoute[] {
  const match = mergeMatches(root.match ?? [], sub.match ?? []);
  if (!match) return [];
  const { delegate: _, ...settings } = root;
  // A delegate's route can't delegate again (validation refuses it; config that came past it must not loop or
  // leave a route without an action): its own delegate is dropped, and a route that has nothing else is left out.
  const { delegate: again, ...own } = sub;
  if (again && !own.route?.length && !own.redirect && !own.directResponse) return [];
  const merged: HTTPRoute = { ...own, ...(match.length ? { match } : {}) };
  const name = sub.name ? (root.name ? `${root.name}-${sub.name}` : sub.name) : root.name;
  if (name) merged.name = name;
  for (const k of INHERITED)
    if (merged[k] === undefined && settings[k] !== undefined) Object.assign(merged, { [k]: settings[k] });
  return [merged];
}

/** What a delegate route takes from its root route when it sets none itself (Istio's list). */
const INHERITED = [
  "rewrite",
  "timeout",
  "retries",
  "fault",
  "mirror",
  "mirrorPercent",
  "mirrorPercentage",
  "corsPolicy",
  "headers",
] as const satisfies readonly (keyof HTTPRoute)[];

/** Each delegate match within each root match it fits: undefined when one fits none (the route is dropped). */
function mergeMatches(root: HTTPMatchRequest[], sub: HTTPMatchRequest[]): HTTPMatchRequest[] | undefined {
  if (!root.length) return sub;
  if (!sub.length) return root;
  const out: HTTPMatchRequest[] = [];
  for (const leaf of sub) {
    const fits = root.filter((r) => !conflicts(r, leaf));
    if (!fits.length) return undefined;
    for (const r of fits) out.push(mergeMatch(r, leaf));
  }
  return out;
}

function mergeMatch(root: HTTPMatchRequest, leaf: HTTPMatchRequest): HTTPMatchRequest {
  const out: HTTPMatchRequest = { ...leaf };
  const name = leaf.name ? (root.name ? `${root.name}-${leaf.name}` : leaf.name) : root.name;
  if (name) out.name = name;
  for (const k of ["uri", "scheme", "method", "authority"] as const) if (!out[k] && root[k]) out[k] = root[k];
  for (const k of ["headers", "withoutHeaders", "queryParams", "sourceLabels"] as const) {
    const both = { ...root[k], ...leaf[k] };
    if (Object.keys(both).length) Object.assign(out, { [k]: both });
  }
  if (!out.port && root.port) out.port = root.port;
  if (!out.sourceNamespace && root.sourceNamespace) out.sourceNamespace = root.sourceNamespace;
  if (!out.gateways?.length && root.gateways?.length) out.gateways = root.gateways;
  return out;
}

/** Whether `leaf` can't be narrowed to `root` (Istio's hasConflict). */
function conflicts(root: HTTPMatchRequest, leaf: HTTPMatchRequest): boolean {
  for (const k of ["uri", "scheme", "method", "authority"] as const) if (matchConflict(root[k], leaf[k])) return true;
  for (const k of ["headers", "withoutHeaders", "queryParams"] as const)
    for (const [key, m] of Object.entries(leaf[k] ?? {})) if (matchConflict(root[k]?.[key], m)) return true;
  if ((root.ignoreUriCase ?? false) !== (leaf.ignoreUriCase ?? false)) return true;
  if (root.port && leaf.port && root.port !== leaf.port) return true;
  if (root.sourceNamespace && leaf.sourceNamespace !== root.sourceNamespace) return true;
  for (const [key, v] of Object.entries(leaf.sourceLabels ?? {}))
    if (root.sourceLabels?.[key] !== undefined && root.sourceLabels[key] !== v) return true;
  const rg = root.gateways ?? [];
  const lg = leaf.gateways ?? [];
  return rg.length > 0 && lg.length > 0 && !lg.every((g) => rg.includes(g));
}

/** Whether a delegate's string match isn't within the root's: exact in exact, prefix or exact under a prefix. */
function matchConflict(root: StringMatch | undefined, leaf: StringMatch | undefined): boolean {
  if (!root || !leaf) return false;
  if (root.regex || leaf.regex)
    return !!(root.regex ? leaf.regex || leaf.prefix || leaf.exact : root.prefix || root.exact);
  if (root.exact) return !!leaf.prefix || leaf.exact !== root.exact;
  if (root.prefix) {
    if (leaf.prefix) return !leaf.prefix.startsWith(root.prefix);
    if (leaf.exact) return !leaf.exact.startsWith(root.prefix);
  }
  return true;
}
