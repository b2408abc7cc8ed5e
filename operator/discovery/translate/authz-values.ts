// AuthorizationPolicy values → Envoy matchers, as istiod writes them: `x*` a prefix, `*x` a suffix, `*` any
// (present), principals under `spiffe://`, namespaces and service accounts as regexes over the principal. Pure.
type Json = Record<string, unknown>;

const SPIFFE = "spiffe://";

/** RE2 quoting of a literal. */
export const quoteRegex = (s: string): string => s.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&");

/** StringMatcher for a value with Istio's `*` forms (not `*` alone: callers say what that means). */
export function stringMatch(v: string, ignoreCase: boolean): Json {
  const ic = ignoreCase ? { ignore_case: true } : {};
  if (v.endsWith("*")) return { prefix: v.slice(0, -1), ...ic };
  if (v.startsWith("*")) return { suffix: v.slice(1), ...ic };
  return { exact: v, ...ic };
}

/** `source.principals`: the peer certificate's URI SAN. */
export function principalMatcher(v: string): Json {
  if (v === "*") return { safe_regex: { regex: ".+" } };
  if (v.endsWith("*")) return { prefix: SPIFFE + v.slice(0, -1) };
  if (v.startsWith("*")) return { safe_regex: { regex: `${quoteRegex(SPIFFE)}.*${quoteRegex(v.slice(1))}` } };
  return { exact: SPIFFE + v };
}

// `source.namespaces`: the regex `.*/ns/<ns>/.*` over the principal.
export function namespaceMatcher(v: string): Json {
  const ns =
    v === "*"
      ? ".*"
      : v.endsWith("*")
        ? `${quoteRegex(v.slice(0, -1))}.*`
        : v.startsWith("*")
          ? `.*${quoteRegex(v.slice(1))}`
          : quoteRegex(v);
  return { safe_regex: { regex: `.*/ns/${ns}/.*` } };
}

/** `source.serviceAccounts`: `<ns>/<sa>`, or `<sa>` in the policy's namespace. */
export function serviceAccountMatcher(v: string, namespace: string): Json {
  const slash = v.indexOf("/");
  const ns = slash < 0 ? namespace : v.slice(0, slash);
  const sa = slash < 0 ? v : v.slice(slash + 1);
  return { safe_regex: { regex: `spiffe://.+/ns/${quoteRegex(ns)}/(.+/|)sa/${quoteRegex(sa)}(/.+)?` } };
}

/** `1.2.3.4`, `5.6.0.0/16`, `::1` → CidrRange. */
export function cidrRange(v: string): Json {
  const slash = v.indexOf("/");
  const address = slash < 0 ? v : v.slice(0, slash);
  const len = slash < 0 ? (address.includes(":") ? 128 : 32) : Number(v.slice(slash + 1));
  return { address_prefix: address, prefix_len: len };
}
