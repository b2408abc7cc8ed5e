// The RBAC filter's decision for one request (HTTP) or connection (network), with Envoy's counters:
// `rbac.<rules_stat_prefix>allowed|denied` and `rbac.<shadow_rules_stat_prefix>shadow_allowed|shadow_denied`.
import type { RequestView } from "../config/types.js";
import type { ConnectionInfo } from "../connection.js";
import type { DownstreamPeer } from "../peer.js";
import { compileRules, type RbacConfig, type RbacRules } from "./compile.js";
import { join, type Obj, type Reader } from "../config/read.js";
import type { Counters, Scope } from "../counters.js";

/** Envoy's HTTP RBAC local reply body. */
export const RBAC_DENIED_BODY = "RBAC: access denied";

const HTTP_FIELDS = ["@type", "rules", "shadow_rules", "rules_stat_prefix", "shadow_rules_stat_prefix"];

/** envoy.extensions.filters.{http,network}.rbac.v3.RBAC (`extra`: the network filter's own fields). */
export function compileRbac(r: Reader, o: Obj, path: string, extra: readonly string[] = [], base = ""): RbacConfig {
  for (const k of Object.keys(o))
    if (!HTTP_FIELDS.includes(k) && !extra.includes(k)) r.fail(join(path, k), "not supported");
  const rules = r.optObj(o, "rules", path);
  const shadow = r.optObj(o, "shadow_rules", path);
  return {
    rules: rules ? compileRules(r, rules, join(path, "rules")) : undefined,
    shadow: shadow ? compileRules(r, shadow, join(path, "shadow_rules")) : undefined,
    stats: statNames(base, r.str(o, "rules_stat_prefix", path) ?? "", ""),
    shadowStats: statNames(base, r.str(o, "shadow_rules_stat_prefix", path) ?? "", "shadow_"),
  };
}

function statNames(base: string, prefix: string, kind: string): { allowed: string; denied: string } {
  return { allowed: `${base}rbac.${prefix}${kind}allowed`, denied: `${base}rbac.${prefix}${kind}denied` };
}

/** The counters a config increments, to show them at 0 before they first count (as Envoy does). */
export function rbacStatNames(c: RbacConfig | undefined): string[] {
  const out: string[] = [];
  if (c?.rules) out.push(c.stats.allowed, c.stats.denied);
  if (c?.shadow) out.push(c.shadowStats.allowed, c.shadowStats.denied);
  return out;
}

/** Whether the rules let the request through (LOG always does). */
function allows(rules: RbacRules, view: RequestView | undefined, conn: ConnectionInfo, peer: DownstreamPeer): boolean {
  let matched = false;
  const ps = rules.policies;
  for (let i = 0; i < ps.length && !matched; i++) matched = (ps[i] as (typeof ps)[number]).test(view, conn, peer);
  return rules.action === "ALLOW" ? matched : rules.action === "DENY" ? !matched : true;
}

/** Decides, and counts Envoy's stats (`<scope>.<tag>.rbac.allowed`, …). */
export function checkRbac(
  cfg: RbacConfig,
  view: RequestView | undefined,
  conn: ConnectionInfo,
  peer: DownstreamPeer,
  counters: Counters,
  scope: Scope,
  tag: string,
): boolean {
  if (cfg.shadow) {
    const s = allows(cfg.shadow, view, conn, peer) ? cfg.shadowStats.allowed : cfg.shadowStats.denied;
    counters.inc(scope, tag, s);
  }
  if (!cfg.rules) return true;
  const ok = allows(cfg.rules, view, conn, peer);
  counters.inc(scope, tag, ok ? cfg.stats.allowed : cfg.stats.denied);
  return ok;
}
