// Compiles a RouteConfiguration: virtual hosts, routes, matches and actions.
import type {
  RegexRewrite,
  ForwardAction,
  HashPolicy,
  RedirectAction,
  Route,
  RouteAction,
  RouteConfig,
  VirtualHost,
  WeightedCluster,
} from "./types.js";
import { fraction, join, nameOf, Reader, type Obj, onlyKnown } from "./read.js";
import { compileRouteMatch } from "./route-match.js";
import { headerEdits } from "./headers.js";
import { perFilter } from "./filters.js";
import { corsField } from "./cors.js";
import { websocketUpgrade } from "./upgrade.js";
import { retryPolicy } from "./retry-policy.js";

const EDITS = [
  "request_headers_to_add",
  "request_headers_to_remove",
  "response_headers_to_add",
  "response_headers_to_remove",
];

/**
 * The fields this proxy implements, per message: any other field set to other than its default is refused, naming it,
 * rather than taken and ignored (a `runtime_fraction` match would otherwise match every request).
 */
const KNOWN = {
  RouteConfiguration: ["name", "virtual_hosts", "validate_clusters", "ignore_port_in_host_matching", ...EDITS],
  VirtualHost: [
    "name",
    "domains",
    "routes",
    "retry_policy",
    "typed_per_filter_config",
    "cors",
    "include_request_attempt_count",
    "per_request_buffer_limit_bytes",
    "require_tls",
    ...EDITS,
  ],
  Route: [
    "name",
    "match",
    "route",
    "redirect",
    "direct_response",
    "typed_per_filter_config",
    "per_request_buffer_limit_bytes",
    ...EDITS,
  ],
  RouteAction: [
    "cluster",
    "weighted_clusters",
    "timeout",
    "retry_policy",
    "prefix_rewrite",
    "regex_rewrite",
    "host_rewrite_literal",
    "append_x_forwarded_host",
    "request_mirror_policies",
    "hash_policy",
    "cors",
    "max_stream_duration",
    "max_grpc_timeout",
    "grpc_timeout_offset",
    "upgrade_configs",
  ],
  WeightedCluster: ["clusters"],
  ClusterWeight: ["name", "weight", "typed_per_filter_config", ...EDITS],
  RedirectAction: [
    "response_code",
    "https_redirect",
    "scheme_redirect",
    "host_redirect",
    "port_redirect",
    "path_redirect",
    "prefix_rewrite",
    "strip_query",
  ],
  DirectResponseAction: ["status", "body"],
  MirrorPolicy: ["cluster", "runtime_fraction"],
} as const;

/**
 * `inline`: the table sits in a listener's `route_config` rather than arriving over RDS. As in Envoy,
 * `validate_clusters` defaults to true only then: an RDS table may name clusters that haven't arrived (or were
 * just removed), and a request routed to one gets 503 with response flag NC.
 */
export function compileRouteConfig(
  raw: unknown,
  knownCluster: (name: string) => boolean,
  index = 0,
  inline = false,
): RouteConfig {
  const name = nameOf(raw, "name", index);
  const r = new Reader("RouteConfiguration", name);
  const o = r.obj(raw, "");
  onlyKnown(r, o, "", KNOWN.RouteConfiguration, "RouteConfiguration");
  const validate = r.bool(o, "validate_clusters", "") ?? inline;
  const hasCluster = validate ? knownCluster : () => true;
  const virtualHosts = r
    .list(o, "virtual_hosts", "")
    .map((v, i) => virtualHost(r, v, join("virtual_hosts", i), hasCluster));
  const exact = new Map<string, VirtualHost>();
  const suffixes: RouteConfig["suffixes"] = [];
  const prefixes: RouteConfig["prefixes"] = [];
  let any: VirtualHost | undefined;
  virtualHosts.forEach((vh, i) => {
    vh.domains.forEach((d, j) => {
      const p = join(join(join("virtual_hosts", i), "domains"), j);
      if (d === "*") {
        if (any) r.fail(p, `duplicate domain "*"`);
        any = vh;
      } else if (d.startsWith("*")) suffixes.push({ suffix: d.slice(1), vhost: vh });
      else if (d.endsWith("*")) prefixes.push({ prefix: d.slice(0, -1), vhost: vh });
      else {
        if (exact.has(d)) r.fail(p, `duplicate domain "${d}"`);
        exact.set(d, vh);
      }
    });
  });
  suffixes.sort((a, b) => b.suffix.length - a.suffix.length);
  prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
  return {
    name,
    exact,
    suffixes,
    prefixes,
    any,
    ignorePort: r.bool(o, "ignore_port_in_host_matching", "") ?? false,
    edits: headerEdits(r, o, ""),
    virtualHosts,
  };
}

function virtualHost(r: Reader, raw: unknown, path: string, hasCluster: (n: string) => boolean): VirtualHost {
  const o = r.obj(raw, path);
  onlyKnown(r, o, path, KNOWN.VirtualHost, "VirtualHost");
  const domains = r.list(o, "domains", path).map((d, i) => {
    if (typeof d !== "string" || d === "") r.fail(join(join(path, "domains"), i), "expected a domain");
    return d.toLowerCase();
  });
  if (!domains.length) r.fail(join(path, "domains"), "at least one domain is required");
  const retryObj = r.optObj(o, "retry_policy", path);
  return {
    name: r.str(o, "name", path) ?? "",
    domains,
    routes: r.list(o, "routes", path).map((v, i) => route(r, v, join(join(path, "routes"), i), hasCluster)),
    edits: headerEdits(r, o, path),
    retry: retryObj ? retryPolicy(r, retryObj, join(path, "retry_policy")) : undefined,
    perFilter: perFilter(r, o, path),
    cors: corsField(r, o, path),
    attemptCount: r.bool(o, "include_request_attempt_count", path) ?? false,
    bufferLimit: bufferLimit(r, o, path),
    // EXTERNAL_ONLY is ALL here: the proxy doesn't tell internal requests apart, so it asks TLS of every one.
    requireTls: r.enumName(o, "require_tls", path, ["NONE", "EXTERNAL_ONLY", "ALL"], "NONE") !== "NONE",
  };
}

/** per_request_buffer_limit_bytes (a UInt32Value): the bytes of a request body kept for retries and shadows. */
function bufferLimit(r: Reader, o: Obj, path: string): number | undefined {
  const n = r.num(o, "per_request_buffer_limit_bytes", path);
  if (n !== undefined && (!Number.isInteger(n) || n < 0 || n > 0xffffffff))
    r.fail(join(path, "per_request_buffer_limit_bytes"), "expected a uint32");
  return n;
}

function route(r: Reader, raw: unknown, path: string, hasCluster: (n: string) => boolean): Route {
  const o = r.obj(raw, path);
  onlyKnown(r, o, path, KNOWN.Route, "Route");
  const match = compileRouteMatch(r, r.obj(o.match ?? {}, join(path, "match")), join(path, "match"));
  return {
    name: r.str(o, "name", path) ?? "",
    ...match,
    action: action(r, o, path, hasCluster),
    edits: headerEdits(r, o, path),
    perFilter: perFilter(r, o, path),
    cors: corsField(r, r.optObj(o, "route", path), join(path, "route")),
    bufferLimit: bufferLimit(r, o, path),
  };
}

function action(r: Reader, o: Obj, path: string, hasCluster: (n: string) => boolean): RouteAction {
  const fwd = r.optObj(o, "route", path);
  if (fwd) return forward(r, fwd, join(path, "route"), hasCluster);
  const redirect = r.optObj(o, "redirect", path);
  if (redirect) return redirectAction(r, redirect, join(path, "redirect"));
  const direct = r.optObj(o, "direct_response", path);
  if (direct) {
    const dp = join(path, "direct_response");
    onlyKnown(r, direct, dp, KNOWN.DirectResponseAction, "DirectResponseAction");
    const status = r.num(direct, "status", dp) ?? 0;
    if (!Number.isInteger(status) || status < 100 || status > 599) r.fail(join(dp, "status"), "invalid status");
    const body = r.optObj(direct, "body", dp);
    let bytes = Buffer.alloc(0);
    if (body?.inline_string !== undefined) bytes = Buffer.from(String(body.inline_string));
    else if (body?.inline_bytes !== undefined) bytes = Buffer.from(String(body.inline_bytes), "base64");
    return { kind: "direct", status, body: bytes };
  }
  return r.fail(path, "one of route, redirect or direct_response is required");
}

const CODES: Record<string, number> = {
  MOVED_PERMANENTLY: 301,
  FOUND: 302,
  SEE_OTHER: 303,
  TEMPORARY_REDIRECT: 307,
  PERMANENT_REDIRECT: 308,
};

function redirectAction(r: Reader, o: Obj, path: string): RedirectAction {
  onlyKnown(r, o, path, KNOWN.RedirectAction, "RedirectAction");
  const code = r.enumName(o, "response_code", path, Object.keys(CODES), "MOVED_PERMANENTLY");
  const https = r.bool(o, "https_redirect", path) ?? false;
  return {
    kind: "redirect",
    scheme: https ? "https" : r.headerValue(o, "scheme_redirect", path),
    host: r.headerValue(o, "host_redirect", path),
    port: r.num(o, "port_redirect", path),
    path: r.headerValue(o, "path_redirect", path),
    prefixRewrite: r.headerValue(o, "prefix_rewrite", path),
    code: CODES[code] ?? 301,
    stripQuery: r.bool(o, "strip_query", path) ?? false,
  };
}

function forward(r: Reader, o: Obj, path: string, hasCluster: (n: string) => boolean): ForwardAction {
  const checkCluster = (name: string, p: string) => {
    if (!hasCluster(name)) r.fail(p, `unknown cluster "${name}"`);
  };
  onlyKnown(r, o, path, KNOWN.RouteAction, "RouteAction");
  const cluster = r.str(o, "cluster", path);
  const weighted: WeightedCluster[] = [];
  const wc = r.optObj(o, "weighted_clusters", path);
  if (cluster !== undefined) checkCluster(cluster, join(path, "cluster"));
  else if (wc) {
    const wp = join(path, "weighted_clusters");
    onlyKnown(r, wc, wp, KNOWN.WeightedCluster, "WeightedCluster");
    r.list(wc, "clusters", wp).forEach((c, i) => {
      const cp = join(join(wp, "clusters"), i);
      const co = r.obj(c, cp);
      onlyKnown(r, co, cp, KNOWN.ClusterWeight, "ClusterWeight");
      const name = r.reqStr(co, "name", cp);
      checkCluster(name, join(cp, "name"));
      const weight = r.num(co, "weight", cp) ?? 0;
      if (weight < 0) r.fail(join(cp, "weight"), "must not be negative");
      weighted.push({ name, weight, edits: headerEdits(r, co, cp), perFilter: perFilter(r, co, cp) });
    });
    if (!weighted.length) r.fail(join(wp, "clusters"), "at least one cluster is required");
  } else r.fail(path, "one of cluster or weighted_clusters is required");
  const cumulative: number[] = [];
  let totalWeight = 0;
  for (const w of weighted) cumulative.push((totalWeight += w.weight));
  if (weighted.length && totalWeight <= 0) r.fail(join(path, "weighted_clusters"), "weights sum to 0");
  const retryObj = r.optObj(o, "retry_policy", path);
  const rr = r.optObj(o, "regex_rewrite", path);
  const msd = r.optObj(o, "max_stream_duration", path);
  const mp = join(path, "max_stream_duration");
  if (msd) onlyKnown(r, msd, mp, MAX_STREAM_DURATION, "MaxStreamDuration");
  return {
    kind: "route",
    cluster,
    weighted,
    cumulative,
    totalWeight,
    timeoutMs: r.duration(o, "timeout", path) ?? 15_000,
    hasMaxStreamDuration: msd !== undefined,
    maxStreamMs: (msd && r.duration(msd, "max_stream_duration", mp)) ?? 0,
    grpcTimeoutMaxMs: msd ? r.duration(msd, "grpc_timeout_header_max", mp) : undefined,
    grpcHeaderOffsetMs: (msd && r.duration(msd, "grpc_timeout_header_offset", mp)) ?? 0,
    maxGrpcTimeoutMs: r.duration(o, "max_grpc_timeout", path),
    grpcTimeoutOffsetMs: r.duration(o, "grpc_timeout_offset", path) ?? 0,
    retry: retryObj ? retryPolicy(r, retryObj, join(path, "retry_policy")) : undefined,
    prefixRewrite: r.headerValue(o, "prefix_rewrite", path),
    regexRewrite: rr ? regexRewrite(r, rr, join(path, "regex_rewrite")) : undefined,
    hostRewrite: r.headerValue(o, "host_rewrite_literal", path),
    appendXForwardedHost: r.bool(o, "append_x_forwarded_host", path) ?? false,
    mirrors: r.list(o, "request_mirror_policies", path).map((m, i) => {
      const mp = join(join(path, "request_mirror_policies"), i);
      const mo = r.obj(m, mp);
      onlyKnown(r, mo, mp, KNOWN.MirrorPolicy, "RequestMirrorPolicy");
      const name = r.reqStr(mo, "cluster", mp);
      checkCluster(name, join(mp, "cluster"));
      const rf = r.optObj(mo, "runtime_fraction", mp);
      const dv = rf ? r.optObj(rf, "default_value", join(mp, "runtime_fraction")) : undefined;
      return { cluster: name, fraction: rf ? fraction(r, dv, join(mp, "runtime_fraction.default_value")) : 1 };
    }),
    hashPolicy: r.list(o, "hash_policy", path).map((h, i) => hashPolicy(r, h, join(join(path, "hash_policy"), i))),
    websocket: websocketUpgrade(r, o, path),
  };
}

const MAX_STREAM_DURATION = ["max_stream_duration", "grpc_timeout_header_max", "grpc_timeout_header_offset"];

function hashPolicy(r: Reader, raw: unknown, path: string): HashPolicy {
  const o = r.obj(raw, path);
  // filter_state, and a header's regex_rewrite, are not implemented: refused.
  onlyKnown(r, o, path, ["terminal", "header", "cookie", "connection_properties", "query_parameter"], "HashPolicy");
  const terminal = r.bool(o, "terminal", path) ?? false;
  const header = r.optObj(o, "header", path);
  if (header) onlyKnown(r, header, join(path, "header"), ["header_name"], "HashPolicy.Header");
  if (header)
    return { kind: "header", name: r.reqStr(header, "header_name", join(path, "header")).toLowerCase(), terminal };
  const cookie = r.optObj(o, "cookie", path);
  if (cookie) {
    const cp = join(path, "cookie");
    onlyKnown(r, cookie, cp, ["name", "ttl", "path"], "HashPolicy.Cookie"); // attributes: refused
    const ttl = r.duration(cookie, "ttl", cp);
    return {
      kind: "cookie",
      // A token (RFC 6265's cookie-name), as it goes into a Set-Cookie header.
      name: r.headerName(cookie.name, join(cp, "name")),
      terminal,
      ttlSeconds: ttl === undefined ? undefined : Math.floor(ttl / 1000),
      path: r.headerValue(cookie, "path", cp) ?? "",
    };
  }
  const conn = r.optObj(o, "connection_properties", path);
  if (conn) return { kind: "source_ip", terminal };
  const q = r.optObj(o, "query_parameter", path);
  if (q) return { kind: "query", name: r.reqStr(q, "name", join(path, "query_parameter")), terminal };
  return r.fail(path, "one of header, cookie, connection_properties or query_parameter is required");
}

/** envoy.type.matcher.v3.RegexMatchAndSubstitute: every match of `pattern` in the path replaced (RE2::GlobalReplace). */
function regexRewrite(r: Reader, rr: Obj, path: string): RegexRewrite {
  const pattern = r.regex(r.obj(rr.pattern, join(path, "pattern")).regex, join(path, "pattern.regex"));
  const substitution = r.substitution(
    r.headerValue(rr, "substitution", path) ?? "",
    pattern,
    join(path, "substitution"),
  );
  return { pattern, substitution };
}
