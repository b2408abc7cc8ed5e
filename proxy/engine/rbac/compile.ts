// Compiles Envoy's RBAC (envoy.config.rbac.v3) into closures, once per config: a request is then checked without
// allocating. Every field Envoy's RBAC has and this engine doesn't implement is a NACK naming it, never ignored:
// an authorization policy the proxy can't enforce must not be accepted (fail closed).
import type { RequestView } from "../config/types.js";
import type { ConnectionInfo } from "../connection.js";
import type { DownstreamPeer } from "../peer.js";
import { headerMatcher, stringMatcher } from "../config/matchers.js";
import { join, type Obj, type Reader } from "../config/read.js";
import { cidr, inCidr } from "../../xds/ip.js";
import { metadataMatcher } from "./metadata.js";

/** A request (undefined for network RBAC: a TCP connection has no headers) on a connection. */
export type RbacTest = (view: RequestView | undefined, conn: ConnectionInfo, peer: DownstreamPeer) => boolean;

export interface RbacPolicy {
  name: string;
  test: RbacTest;
}

/** envoy.config.rbac.v3.RBAC: an action and its policies. */
export interface RbacRules {
  action: "ALLOW" | "DENY" | "LOG";
  policies: RbacPolicy[];
}

/** The RBAC filter's config (HTTP and network alike). */
export interface RbacConfig {
  /** Absent: nothing is enforced (Envoy's rule), and nothing counted. */
  rules: RbacRules | undefined;
  shadow: RbacRules | undefined;
  /** Stat names, precomputed: `rbac.<rules_stat_prefix>allowed`, `rbac.<shadow_rules_stat_prefix>shadow_allowed`. */
  stats: { allowed: string; denied: string };
  shadowStats: { allowed: string; denied: string };
}

const ACTIONS = ["ALLOW", "DENY", "LOG"] as const;

/** Fails on any key of `o` outside `known`, naming it. */
function only(r: Reader, o: Obj, path: string, known: readonly string[]): void {
  for (const k of Object.keys(o)) if (!known.includes(k)) r.fail(join(path, k), "not supported");
}

/** envoy.config.rbac.v3.RBAC */
export function compileRules(r: Reader, o: Obj, path: string): RbacRules {
  only(r, o, path, ["action", "policies"]);
  const action = r.enumName(o, "action", path, ACTIONS, "ALLOW");
  const pp = join(path, "policies");
  const policies = Object.entries(r.optObj(o, "policies", path) ?? {}).map(([name, raw]) => {
    const p = join(pp, name);
    const po = r.obj(raw, p);
    only(r, po, p, ["permissions", "principals"]);
    const perms = r.list(po, "permissions", p);
    const ids = r.list(po, "principals", p);
    if (!perms.length) r.fail(join(p, "permissions"), "at least one permission is required");
    if (!ids.length) r.fail(join(p, "principals"), "at least one principal is required");
    const anyPermission = anyOf(perms.map((x, i) => compileNode(r, x, join(join(p, "permissions"), i), PERMISSION)));
    const anyPrincipal = anyOf(ids.map((x, i) => compileNode(r, x, join(join(p, "principals"), i), PRINCIPAL)));
    const test: RbacTest = (v, c, q) => anyPermission(v, c, q) && anyPrincipal(v, c, q);
    return { name, test };
  });
  return { action, policies };
}

function anyOf(tests: RbacTest[]): RbacTest {
  if (tests.length === 1) return tests[0] as RbacTest;
  return (v, c, p) => {
    for (let i = 0; i < tests.length; i++) if ((tests[i] as RbacTest)(v, c, p)) return true;
    return false;
  };
}

function allOf(tests: RbacTest[]): RbacTest {
  if (tests.length === 1) return tests[0] as RbacTest;
  return (v, c, p) => {
    for (let i = 0; i < tests.length; i++) if (!(tests[i] as RbacTest)(v, c, p)) return false;
    return true;
  };
}

/** The one field set in a oneof message; fails when there is none, or more than one. */
function oneKey(r: Reader, o: Obj, path: string): string {
  const keys = Object.keys(o).filter((k) => o[k] !== undefined && o[k] !== null);
  if (keys.length !== 1) r.fail(path, keys.length ? `exactly one rule expected, got ${keys.join(", ")}` : "empty rule");
  return keys[0] as string;
}

function list(r: Reader, o: Obj, key: string, path: string, field: string): unknown[] {
  const set = r.obj(o[key], join(path, key));
  only(r, set, join(path, key), [field]);
  const items = r.list(set, field, join(path, key));
  if (!items.length) r.fail(join(join(path, key), field), "at least one is required");
  return items;
}

/** Permission and Principal share their logic (any, and, or, not) under different names. */
interface Grammar {
  and: string;
  or: string;
  not: string;
  items: string;
  leaf: (r: Reader, o: Obj, key: string, p: string, path: string) => RbacTest;
}

function compileNode(r: Reader, raw: unknown, path: string, g: Grammar): RbacTest {
  const o = r.obj(raw, path);
  const key = oneKey(r, o, path);
  const p = join(path, key);
  if (key === "any") {
    if (r.bool(o, "any", path) !== true) r.fail(p, "must be true");
    return () => true;
  }
  if (key === g.and || key === g.or) {
    const tests = list(r, o, key, path, g.items).map((x, i) => compileNode(r, x, join(join(p, g.items), i), g));
    return key === g.and ? allOf(tests) : anyOf(tests);
  }
  if (key === g.not) {
    const t = compileNode(r, o[key], p, g);
    return (v, c, q) => !t(v, c, q);
  }
  return g.leaf(r, o, key, p, path);
}

const PERMISSION: Grammar = { and: "and_rules", or: "or_rules", not: "not_rule", items: "rules", leaf: permission };
const PRINCIPAL: Grammar = { and: "and_ids", or: "or_ids", not: "not_id", items: "ids", leaf: principal };

/** envoy.config.rbac.v3.Permission's matchers */
function permission(r: Reader, o: Obj, key: string, p: string, path: string): RbacTest {
  switch (key) {
    case "header":
      return header(r, o, p);
    case "url_path":
      return urlPath(r, o, p);
    case "destination_ip": {
      const range = cidrRange(r, o, p);
      return (_v, c) => inCidr(range, c.localIp);
    }
    case "destination_port": {
      const port = r.num(o, key, path) ?? 0;
      if (!Number.isInteger(port) || port < 0 || port > 65535) r.fail(p, `invalid port ${port}`);
      return (_v, c) => c.localPort === port;
    }
    case "destination_port_range": {
      const range = r.obj(o[key], p);
      only(r, range, p, ["start", "end"]);
      const start = r.num(range, "start", p) ?? 0;
      const end = r.num(range, "end", p) ?? 0;
      return (_v, c) => c.localPort >= start && c.localPort < end;
    }
    case "requested_server_name": {
      const m = stringMatcher(r, r.obj(o[key], p), p);
      return (_v, c) => m(c.sni ?? "");
    }
    default:
      return r.fail(p, "not supported");
  }
}

/** envoy.config.rbac.v3.Principal's matchers */
function principal(r: Reader, o: Obj, key: string, p: string, _path: string): RbacTest {
  switch (key) {
    case "authenticated":
      return authenticated(r, r.obj(o[key], p), p);
    case "source_ip": // deprecated: the direct peer, as direct_remote_ip
    case "direct_remote_ip": {
      const range = cidrRange(r, o, p);
      return (_v, c) => inCidr(range, c.remoteIp);
    }
    case "remote_ip": {
      // The request's remote address as its connection manager decided it (http/forwarded.ts: x-forwarded-for's
      // only where use_remote_address is false, as Envoy); for a connection without HTTP, the peer.
      const range = cidrRange(r, o, p);
      return (v, c) => inCidr(range, v?.remoteIp ?? c.remoteIp);
    }
    case "header":
      return header(r, o, p);
    case "url_path":
      return urlPath(r, o, p);
    case "metadata": {
      const m = metadataMatcher(r, r.obj(o[key], p), p);
      return (v) => m(v);
    }
    default:
      return r.fail(p, "not supported");
  }
}

/** Envoy's authenticated: a verified client certificate; principal_name matches any of its URI SANs (with
 * `spiffe://`). Envoy falls back to DNS SANs and the subject when there is no URI SAN; a mesh certificate always has
 * one, and without it nothing matches here (fail closed). */
function authenticated(r: Reader, o: Obj, path: string): RbacTest {
  only(r, o, path, ["principal_name"]);
  const pn = r.optObj(o, "principal_name", path);
  if (!pn) return (_v, _c, p) => p.uriSans.length > 0;
  const m = stringMatcher(r, pn, join(path, "principal_name"));
  return (_v, _c, p) => {
    const sans = p.uriSans;
    for (let i = 0; i < sans.length; i++) if (m(sans[i] as string)) return true;
    return false;
  };
}

/** A HeaderMatcher against the request's headers; `:method`, `:path` (with the query) and `:authority` included.
 * A TCP connection has no headers: nothing matches. */
function header(r: Reader, o: Obj, path: string): RbacTest {
  const m = headerMatcher(r, r.obj(o.header, path), path);
  const name = m.name;
  const t = m.test;
  if (name === ":method") return (v) => v !== undefined && t(v.method);
  if (name === ":path") return (v) => v !== undefined && t(v.query ? `${v.path}?${v.query}` : v.path);
  return (v) => v !== undefined && t(v.header(name));
}

/** envoy.type.matcher.v3.PathMatcher: the path without its query string. */
function urlPath(r: Reader, o: Obj, path: string): RbacTest {
  const pm = r.obj(o.url_path, path);
  only(r, pm, path, ["path"]);
  const sm = r.optObj(pm, "path", path);
  if (!sm) return r.fail(join(path, "path"), "is required");
  const m = stringMatcher(r, sm, join(path, "path"), "wire");
  return (v) => v !== undefined && m(v.path);
}

/** envoy.config.core.v3.CidrRange */
function cidrRange(r: Reader, o: Obj, path: string) {
  const key = path.slice(path.lastIndexOf(".") + 1);
  const c = r.obj(o[key], path);
  only(r, c, path, ["address_prefix", "prefix_len"]);
  const range = cidr(r.reqStr(c, "address_prefix", path), r.num(c, "prefix_len", path) ?? 0);
  return typeof range === "string" ? r.fail(path, range) : range;
}
