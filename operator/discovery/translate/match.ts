// VirtualService match blocks → Envoy RouteMatch. Conditions inside one block are ANDed; blocks are ORed, so
// each block becomes its own Envoy route. Blocks that can't apply to this proxy (port, sourceLabels,
// gateways, sourceNamespace) are dropped here.
import type { HeaderMatcher, QueryParameterMatcher, RouteMatch, StringMatcher } from "../../../proxy/xds/resources.js";
import { labelsMatch } from "../model/config.js";
import type { HTTPMatchRequest, StringMatch } from "../model/istio.js";

export interface MatchContext {
  /** The listener port the route table serves. */
  port: number;
  /** Labels of the proxy's own workload. */
  labels: Record<string, string>;
  proxyNamespace: string;
  /** `mesh` for sidecars, `<ns>/<name>` of the gateway otherwise. */
  gateway: string;
  vsNamespace: string;
}

export function stringMatch(m: StringMatch, ignoreCase = false): StringMatcher {
  if (m.exact !== undefined) return { exact: m.exact, ignore_case: ignoreCase || undefined };
  if (m.prefix !== undefined) return { prefix: m.prefix, ignore_case: ignoreCase || undefined };
  if (m.regex !== undefined) return { safe_regex: { regex: m.regex } };
  return {};
}

function isEmpty(m: StringMatch): boolean {
  return m.exact === undefined && m.prefix === undefined && m.regex === undefined;
}

export function headerMatcher(name: string, m: StringMatch, invert = false): HeaderMatcher {
  const out: HeaderMatcher = isEmpty(m) ? { name, present_match: true } : { name, string_match: stringMatch(m) };
  if (invert) out.invert_match = true;
  return out;
}

export function qualifyGateway(name: string, namespace: string): string {
  if (name === "mesh") return name;
  return name.includes("/") ? name : `${namespace}/${name}`;
}

/** Does this match block apply where the route table is being built? */
export function blockApplies(m: HTTPMatchRequest, ctx: MatchContext): boolean {
  if (m.port !== undefined && m.port !== ctx.port) return false;
  if (m.sourceLabels && !labelsMatch(m.sourceLabels, ctx.labels)) return false;
  if (m.sourceNamespace !== undefined && m.sourceNamespace !== ctx.proxyNamespace) return false;
  if (m.gateways?.length && !m.gateways.map((g) => qualifyGateway(g, ctx.vsNamespace)).includes(ctx.gateway))
    return false;
  return true;
}

export function routeMatch(m: HTTPMatchRequest | undefined): RouteMatch {
  const out: RouteMatch = {};
  const uri = m?.uri;
  const ignoreCase = m?.ignoreUriCase === true;
  if (uri?.exact !== undefined) out.path = uri.exact;
  else if (uri?.regex !== undefined) out.safe_regex = { regex: uri.regex };
  else out.prefix = uri?.prefix ?? "/";
  if (ignoreCase) out.case_sensitive = false;
  const headers: HeaderMatcher[] = [];
  for (const [name, value] of Object.entries(m?.headers ?? {})) headers.push(headerMatcher(name.toLowerCase(), value));
  for (const [name, value] of Object.entries(m?.withoutHeaders ?? {}))
    headers.push(headerMatcher(name.toLowerCase(), value, true));
  if (m?.method) headers.push(headerMatcher(":method", m.method));
  if (m?.authority) headers.push(headerMatcher(":authority", m.authority));
  if (m?.scheme) headers.push(headerMatcher(":scheme", m.scheme));
  if (headers.length) out.headers = headers;
  const query = Object.entries(m?.queryParams ?? {}).map(([name, value]): QueryParameterMatcher =>
    isEmpty(value) ? { name, present_match: true } : { name, string_match: stringMatch(value) },
  );
  if (query.length) out.query_parameters = query;
  return out;
}
