// envoy.config.route.v3.RouteMatch, compiled once: the path (prefix, path, path_separated_prefix, safe_regex, with
// case_sensitive), headers and query parameters. Routes use it, and so do filters whose rules match requests the same
// way (jwt_authn's rules).
import type { HeaderMatcher, RequestView, ValueTest } from "./types.js";
import { headerMatcher, queryMatcher } from "./matchers.js";
import { join, onlyKnown, type Obj, type Reader } from "./read.js";

export const ROUTE_MATCH_FIELDS = [
  "prefix",
  "path",
  "path_separated_prefix",
  "safe_regex",
  "case_sensitive",
  "headers",
  "query_parameters",
];

export interface RouteMatch {
  matchPath: (path: string) => boolean;
  /** The prefix, when the match is one. */
  prefix: string | undefined;
  headers: HeaderMatcher[];
  query: { name: string; test: ValueTest }[];
}

export function compileRouteMatch(r: Reader, m: Obj, mp: string): RouteMatch {
  onlyKnown(r, m, mp, ROUTE_MATCH_FIELDS, "RouteMatch");
  const caseSensitive = r.bool(m, "case_sensitive", mp) ?? true;
  let matchPath: (p: string) => boolean;
  const prefix = r.str(m, "prefix", mp);
  const exactPath = r.str(m, "path", mp);
  const sepPrefix = r.str(m, "path_separated_prefix", mp);
  const safe = r.optObj(m, "safe_regex", mp);
  if (prefix !== undefined) {
    const p = caseSensitive ? prefix : prefix.toLowerCase();
    matchPath = caseSensitive ? (s) => s.startsWith(p) : (s) => s.toLowerCase().startsWith(p);
  } else if (exactPath !== undefined) {
    const p = caseSensitive ? exactPath : exactPath.toLowerCase();
    matchPath = caseSensitive ? (s) => s === p : (s) => s.toLowerCase() === p;
  } else if (sepPrefix !== undefined) {
    matchPath = (s) => s === sepPrefix || (s.startsWith(sepPrefix) && s[sepPrefix.length] === "/");
  } else if (safe) {
    const re = r.regex(safe.regex, join(join(mp, "safe_regex"), "regex"), !caseSensitive);
    matchPath = (s) => re.full(s);
  } else {
    r.fail(mp, "one of prefix, path, path_separated_prefix or safe_regex is required");
  }
  return {
    matchPath,
    prefix,
    headers: r
      .list(m, "headers", mp)
      .map((h, i) => headerMatcher(r, r.obj(h, join(join(mp, "headers"), i)), join(join(mp, "headers"), i))),
    query: r.list(m, "query_parameters", mp).map((q, i) => {
      const qp = join(join(mp, "query_parameters"), i);
      return queryMatcher(r, r.obj(q, qp), qp);
    }),
  };
}

/** The value of one query parameter (the first), decoded; undefined when absent. */
export function queryParam(query: string, name: string): string | undefined {
  if (!query) return undefined;
  for (const part of query.split("&")) {
    const eq = part.indexOf("=");
    const k = eq < 0 ? part : part.slice(0, eq);
    if (k === name) {
      const v = eq < 0 ? "" : part.slice(eq + 1);
      try {
        return decodeURIComponent(v.replace(/\+/g, " "));
      } catch {
        return v;
      }
    }
  }
  return undefined;
}

/** Whether the request matches: its path, then every header and query parameter matcher. */
export function routeMatches(match: RouteMatch, req: RequestView): boolean {
  if (!match.matchPath(req.path)) return false;
  for (const h of match.headers) {
    const v = h.name === ":method" ? req.method : h.name === ":path" ? req.path : req.header(h.name);
    if (!h.test(v)) return false;
  }
  for (const q of match.query) if (!q.test(queryParam(req.query, q.name))) return false;
  return true;
}
