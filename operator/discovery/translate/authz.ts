// AuthorizationPolicy → Envoy RBAC filters for a workload's inbound listener, as istiod's authz builder generates
// them (pilot/pkg/security/authz/builder): one filter per action, in Istio's evaluation order AUDIT (action LOG),
// DENY, ALLOW; a policy's rule i becomes policy `ns[<ns>]-policy[<name>]-rule[<i>]`; `from` entries are the
// principals and `to` entries the permissions, each an and of its fields, every field an or of its values, every
// not-field a not of an or. No ALLOW policy: no ALLOW filter (allow). ALLOW policies that match nothing: deny.
// Pure. Values the validator accepts are the only ones translated; anything else fails closed.
import type { ConfigModel, Named } from "../model/config.js";
import { findWorkload, type ProxyIdentity } from "./proxy.js";
import type {
  AuthorizationOperation,
  AuthorizationPolicy,
  AuthorizationRule,
  AuthorizationSource,
} from "../model/security.js";
import { DEFAULT_ROOT_NAMESPACE } from "../model/security.js";
import { TYPE } from "../../../proxy/xds/types.js";
import { policiesFor } from "./policy-select.js";
export { policiesFor };
import { JWT_AUTHN_FILTER, workloadJwt } from "./request-authn.js";
import { jwtCondition, requestPrincipals } from "./authz-jwt.js";
import { principalMatcher, namespaceMatcher, serviceAccountMatcher, stringMatch, cidrRange } from "./authz-values.js";

type Json = Record<string, unknown>;
export const RBAC_FILTER = "envoy.filters.http.rbac";

/** The filters a workload's HTTP and TCP chains start with (sidecar inbound, gateway servers): RBAC, and before it
 * on HTTP the jwt_authn filter of its RequestAuthentications (Istio's order: authentication, then authorization). */
export interface WorkloadAuthz {
  http: Json[];
  tcp: Json[];
  jwt?: Json;
}

/** A workload's HTTP chain's first filters: jwt_authn (if any), then RBAC. */
export function httpAuthFilters(authz: WorkloadAuthz): { name: string; typed_config: Json }[] {
  const jwt = authz.jwt ? [{ name: JWT_AUTHN_FILTER, typed_config: authz.jwt }] : [];
  return [...jwt, ...authz.http.map((c) => ({ name: RBAC_FILTER, typed_config: c }))];
}

export const NO_AUTHZ: WorkloadAuthz = { http: [], tcp: [] };

/** The authorization of the proxy's own workload: the policies selecting it, as RBAC filters. */
export function workloadAuthz(model: ConfigModel, proxy: ProxyIdentity): WorkloadAuthz {
  const labels = findWorkload(model, proxy)?.labels ?? {};
  const root = model.mesh?.rootNamespace ?? DEFAULT_ROOT_NAMESPACE;
  const policies = policiesFor(model.authorizationPolicies ?? [], proxy.namespace, labels, root);
  const jwt = workloadJwt(model, proxy.namespace, labels, proxy.kind === "router");
  if (!policies.length && !jwt) return NO_AUTHZ;
  return { http: rbacConfigs(policies, false), tcp: rbacConfigs(policies, true), ...(jwt ? { jwt } : {}) };
}
export const NETWORK_RBAC_FILTER = "envoy.filters.network.rbac";

/** RBAC configs (typed_config of `envoy.filters.{http,network}.rbac`) in evaluation order; empty: none apply. */
export function rbacConfigs(policies: readonly Named<AuthorizationPolicy>[], forTcp: boolean): Json[] {
  const by = (action: string) => policies.filter((p) => (p.spec.action ?? "ALLOW") === action);
  const out: Json[] = [];
  const type = forTcp ? TYPE.networkRbac : TYPE.rbac;
  const extra = forTcp ? { stat_prefix: "tcp." } : {};
  const audit = by("AUDIT");
  // CUSTOM (an external authorizer) is refused by validation; one that got here anyway denies everything.
  const deny = [...by("DENY"), ...by("CUSTOM").map((p) => ({ ...p, spec: { rules: [{}] } }))];
  const allow = by("ALLOW");
  if (audit.length)
    out.push({ "@type": type, rules: { action: "LOG", policies: rbacPolicies(audit, "LOG", forTcp) }, ...extra });
  if (deny.length)
    out.push({ "@type": type, rules: { action: "DENY", policies: rbacPolicies(deny, "DENY", forTcp) }, ...extra });
  if (allow.length) out.push({ "@type": type, rules: { policies: rbacPolicies(allow, "ALLOW", forTcp) }, ...extra });
  return out;
}

function rbacPolicies(policies: readonly Named<AuthorizationPolicy>[], action: string, forTcp: boolean): Json {
  const out: Json = {};
  for (const p of policies) {
    const rules = p.spec.rules ?? [];
    const name = (i: number) => `ns[${p.namespace}]-policy[${p.name}]-rule[${i}]`;
    // No rules: the policy matches nothing (for ALLOW: allow nothing).
    if (!rules.length)
      out[name(0)] = { permissions: [{ not_rule: { any: true } }], principals: [{ not_id: { any: true } }] };
    rules.forEach((rule, i) => {
      const built = rbacPolicy(rule, p.namespace, forTcp, action);
      if (built) out[name(i)] = built;
    });
  }
  return out;
}

/** Keys of `to.operation` and `when` that only HTTP has. */
const HTTP_ONLY_OPERATION = ["hosts", "notHosts", "methods", "notMethods", "paths", "notPaths"] as const;
const HTTP_ONLY_SOURCE = ["requestPrincipals", "notRequestPrincipals"] as const;
const isHttpOnlyKey = (key: string) => key.startsWith("request.");

/**
 * One rule → one RBAC Policy, or undefined when it can't apply. On TCP, HTTP-only fields can't be checked: an
 * ALLOW rule holding one is dropped (it allows less), a DENY or AUDIT rule loses them (it denies more): Istio's rule.
 */
function rbacPolicy(rule: AuthorizationRule, namespace: string, forTcp: boolean, action: string): Json | undefined {
  const httpOnly =
    (rule.to ?? []).some((t) => HTTP_ONLY_OPERATION.some((k) => (t.operation?.[k]?.length ?? 0) > 0)) ||
    (rule.from ?? []).some((f) => HTTP_ONLY_SOURCE.some((k) => (f.source?.[k]?.length ?? 0) > 0)) ||
    (rule.when ?? []).some((c) => isHttpOnlyKey(c.key));
  if (forTcp && httpOnly && action === "ALLOW") return undefined;
  const whenIds: Json[] = [];
  const whenRules: Json[] = [];
  for (const c of rule.when ?? []) {
    if (forTcp && isHttpOnlyKey(c.key)) continue;
    const w = condition(c.key, namespace);
    if (!w) {
      // A key the validator refuses, forced past it: fail closed, as for HTTP-only keys on TCP.
      if (action === "ALLOW") return undefined;
      continue;
    }
    const list = w.side === "principal" ? whenIds : whenRules;
    const all = (vs: string[]) => (w.all ? w.all(vs) : or(w.side, vs.map(w.make)));
    if (c.values?.length) list.push(all(c.values));
    if (c.notValues?.length) list.push(not(w.side, all(c.notValues)));
  }
  const froms = rule.from?.length ? rule.from.map((f) => sourceIds(f.source ?? {}, namespace, forTcp)) : [[]];
  const tos = rule.to?.length ? rule.to.map((t) => operationRules(t.operation ?? {}, forTcp)) : [[]];
  const principals = froms.map((ids) => {
    const all = [...ids, ...whenIds];
    return { and_ids: { ids: all.length ? all : [{ any: true }] } };
  });
  const permissions = tos.map((rules) => {
    const all = [...rules, ...whenRules];
    return { and_rules: { rules: all.length ? all : [{ any: true }] } };
  });
  return { permissions, principals };
}

const or = (side: "principal" | "permission", items: Json[]): Json =>
  side === "principal" ? { or_ids: { ids: items } } : { or_rules: { rules: items } };
const not = (side: "principal" | "permission", item: Json): Json =>
  side === "principal" ? { not_id: item } : { not_rule: item };

/** The principal conditions of a `from.source`, each value list an or, each not-list a not of an or. */
function sourceIds(s: AuthorizationSource, namespace: string, forTcp: boolean): Json[] {
  const out: Json[] = [];
  if (!forTcp && s.requestPrincipals?.length) out.push(requestPrincipals(s.requestPrincipals));
  if (!forTcp && s.notRequestPrincipals?.length) out.push(not("principal", requestPrincipals(s.notRequestPrincipals)));
  const add = (values: string[] | undefined, make: (v: string) => Json, negate: boolean) => {
    if (!values?.length) return;
    const o = or("principal", values.map(make));
    out.push(negate ? not("principal", o) : o);
  };
  const authn = (m: Json): Json => ({ authenticated: { principal_name: m } });
  add(s.serviceAccounts, (v) => authn(serviceAccountMatcher(v, namespace)), false);
  add(s.notServiceAccounts, (v) => authn(serviceAccountMatcher(v, namespace)), true);
  add(s.principals, (v) => authn(principalMatcher(v)), false);
  add(s.notPrincipals, (v) => authn(principalMatcher(v)), true);
  add(s.namespaces, (v) => authn(namespaceMatcher(v)), false);
  add(s.notNamespaces, (v) => authn(namespaceMatcher(v)), true);
  add(s.remoteIpBlocks, (v) => ({ remote_ip: cidrRange(v) }), false);
  add(s.notRemoteIpBlocks, (v) => ({ remote_ip: cidrRange(v) }), true);
  add(s.ipBlocks, (v) => ({ direct_remote_ip: cidrRange(v) }), false);
  add(s.notIpBlocks, (v) => ({ direct_remote_ip: cidrRange(v) }), true);
  return out;
}

/** The permission conditions of a `to.operation`. */
function operationRules(o: AuthorizationOperation, forTcp: boolean): Json[] {
  const out: Json[] = [];
  const add = (values: string[] | undefined, make: (v: string) => Json, negate: boolean) => {
    if (!values?.length) return;
    const x = or("permission", values.map(make));
    out.push(negate ? not("permission", x) : x);
  };
  const header =
    (name: string, ignoreCase: boolean) =>
    (v: string): Json =>
      v === "*"
        ? { header: { name, present_match: true } }
        : { header: { name, string_match: stringMatch(v, ignoreCase) } };
  const path = (v: string): Json => ({
    url_path: { path: v === "*" ? { safe_regex: { regex: ".+" } } : stringMatch(v, false) },
  });
  const port = (v: string): Json => ({ destination_port: Number(v) });
  if (!forTcp) {
    add(o.hosts, header(":authority", true), false);
    add(o.notHosts, header(":authority", true), true);
    add(o.methods, header(":method", false), false);
    add(o.notMethods, header(":method", false), true);
    add(o.paths, path, false);
    add(o.notPaths, path, true);
  }
  add(o.ports, port, false);
  add(o.notPorts, port, true);
  return out;
}

/** A `when` key: which side of the policy it lands on, and the matcher for one value. */
function condition(
  key: string,
  namespace: string,
): { side: "principal" | "permission"; make: (v: string) => Json; all?: (vs: readonly string[]) => Json } | undefined {
  const jwt = jwtCondition(key);
  if (jwt) return { side: "principal", make: (v) => jwt([v]), all: jwt };
  const header = /^request\.headers\[(.+)\]$/.exec(key);
  if (header) {
    const name = header[1] as string;
    return {
      side: "principal",
      make: (v) =>
        v === "*"
          ? { header: { name, present_match: true } }
          : { header: { name, string_match: stringMatch(v, false) } },
    };
  }
  const authn = (m: Json): Json => ({ authenticated: { principal_name: m } });
  switch (key) {
    case "source.ip":
      return { side: "principal", make: (v) => ({ direct_remote_ip: cidrRange(v) }) };
    case "remote.ip":
      return { side: "principal", make: (v) => ({ remote_ip: cidrRange(v) }) };
    case "source.namespace":
      return { side: "principal", make: (v) => authn(namespaceMatcher(v)) };
    case "source.principal":
      return { side: "principal", make: (v) => authn(principalMatcher(v)) };
    case "source.serviceAccount":
      return { side: "principal", make: (v) => authn(serviceAccountMatcher(v, namespace)) };
    case "destination.ip":
      return { side: "permission", make: (v) => ({ destination_ip: cidrRange(v) }) };
    case "destination.port":
      return { side: "permission", make: (v) => ({ destination_port: Number(v) }) };
    case "connection.sni":
      return {
        side: "permission",
        make: (v) => ({ requested_server_name: v === "*" ? { safe_regex: { regex: ".+" } } : stringMatch(v, false) }),
      };
    default:
      return undefined;
  }
}
