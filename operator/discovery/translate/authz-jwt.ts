// AuthorizationPolicy's end-user (JWT) attributes → RBAC matchers on the jwt_authn filter's dynamic metadata, as
// istiod's authz model writes them (pilot/pkg/security/authz/model generator.go, util.go): `requestPrincipals` and
// `request.auth.principal` as `<iss>/<sub>` pairs (the last `/` splits them), `request.auth.audiences` (aud),
// `request.auth.presenter` (azp) and `request.auth.claims[a][b]` as a list-or-value match of the payload's claim.
// Istio's own istio_authn filter is not used: its `request.auth.principal` metadata is derived from the same payload,
// which Envoy's jwt_authn already puts in its metadata (`payload`), the matchers istiod emits today. Pure.
import { stringMatch } from "./authz-values.js";

type Json = Record<string, unknown>;

export const JWT_FILTER = "envoy.filters.http.jwt_authn";
const PAYLOAD = "payload";
const ANY = { safe_regex: { regex: ".+" } };

/** Istio's StringMatcherWithPrefix(v, ""): `*` any non-empty, `x*` prefix, `*x` suffix, else exact. */
const claimString = (v: string): Json => (v === "*" ? ANY : stringMatch(v, false));

const metadata = (keys: string[], value: Json): Json => ({
  metadata: { filter: JWT_FILTER, path: [PAYLOAD, ...keys].map((key) => ({ key })), value },
});

/** One `iss/sub` value (Istio's requestPrincipalGenerator). */
function principal(value: string): Json {
  const idx = value.lastIndexOf("/");
  const found = idx >= 0;
  const iss = found ? value.slice(0, idx) : value;
  const sub = found ? value.slice(idx + 1) : "";
  let mIss: Json;
  let mSub: Json;
  if (value === "*") [mIss, mSub] = [ANY, ANY];
  else if (value.startsWith("*")) {
    if (found) [mIss, mSub] = [iss === "*" ? ANY : { suffix: iss.slice(1) }, { exact: sub }];
    else [mIss, mSub] = [ANY, { suffix: value.slice(1) }];
  } else if (value.endsWith("*")) {
    if (found) [mIss, mSub] = [{ exact: iss }, sub === "*" ? ANY : { prefix: sub.slice(0, -1) }];
    else [mIss, mSub] = [{ prefix: value.slice(0, -1) }, ANY];
  } else [mIss, mSub] = [{ exact: iss }, { exact: sub }];
  return {
    and_ids: { ids: [metadata(["iss"], { string_match: mIss }), metadata(["sub"], { string_match: mSub })] },
  };
}

/** `requestPrincipals` / `request.auth.principal`: any of the values. */
export function requestPrincipals(values: readonly string[]): Json {
  const ids = values.map(principal);
  return ids.length === 1 ? (ids[0] as Json) : { or_ids: { ids } };
}

/** Istio's StringOrMatcher: one value's string match, or an or of them. */
function stringOr(values: readonly string[]): Json {
  const ms = values.map((v) => ({ string_match: claimString(v) }));
  return ms.length === 1 ? (ms[0] as Json) : { or_match: { value_matchers: ms } };
}

/** A claim (list or single value) matching any of the values: MetadataListValueMatcher with extended JWT. */
export function claimMatcher(claims: readonly string[], values: readonly string[]): Json {
  const v = stringOr(values);
  return metadata([...claims], { or_match: { value_matchers: [{ list_match: { one_of: v } }, v] } });
}

/** `request.auth.claims[a][b]` → ["a", "b"]; `request.auth.claims[a.b]` → ["a.b"] (Istio's extractNameInNestedBrackets). */
export function claimPath(key: string): string[] | undefined {
  const s = key.startsWith("request.auth.claims") ? key.slice("request.auth.claims".length) : undefined;
  if (!s?.startsWith("[") || !s.endsWith("]") || s.length < 3) return undefined;
  const out: string[] = [];
  for (let begin = 0; begin < s.length;) {
    const end = s[begin] === "[" ? s.indexOf("]", begin + 1) : -1;
    const inner = end < 0 ? undefined : s.slice(begin + 1, end);
    if (inner === undefined || inner.includes("[")) return [s.slice(1, -1)];
    out.push(inner);
    begin = end + 1;
  }
  return out;
}

/** The `when` keys on the JWT, as principal matchers of all their values at once; undefined for other keys. */
export function jwtCondition(key: string): ((values: readonly string[]) => Json) | undefined {
  if (key === "request.auth.principal") return requestPrincipals;
  if (key === "request.auth.audiences") return (vs) => claimMatcher(["aud"], vs);
  if (key === "request.auth.presenter") return (vs) => claimMatcher(["azp"], vs);
  const path = claimPath(key);
  return path ? (vs) => claimMatcher(path, vs) : undefined;
}
