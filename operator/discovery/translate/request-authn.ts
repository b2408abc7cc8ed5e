// RequestAuthentication → Envoy's jwt_authn filter for a workload's inbound HTTP chains and a gateway's servers, as
// istiod writes it (pilot/pkg/security/authn policy_applier.go convertToEnvoyJwtConfig): the applicable rules sorted by
// issuer, provider `origins-<i>` each (payload in the filter's metadata under `payload`, scope and permission split
// into lists), on "/" a requirement that lets a request without a token through but never one with a bad token:
// one provider `{provider OR allow_missing}`; several `{P1 OR P2 … OR AND{P1 OR allow_missing, P2 OR allow_missing, …}}`.
// A jwksUri's keys (or, without one, those the issuer's OpenID discovery document names) are inlined (istiod's
// default, JwksFetchMode Istiod): the ones discovery fetched (sources/jwks.ts), else a public key whose private half was discarded, so every token fails (istiod's PublicOnlyJwks). Pure.
import type { ConfigModel } from "../model/config.js";
import type { JwtRule, RequestAuthentication } from "../model/security.js";
import { DEFAULT_ROOT_NAMESPACE } from "../model/security.js";
import { TYPE } from "../../../proxy/xds/types.js";
import { policiesFor } from "./policy-select.js";
import { durationSeconds } from "../model/duration.js";

type Json = Record<string, unknown>;
export const JWT_AUTHN_FILTER = "envoy.filters.http.jwt_authn";

/** istiod's PublicOnlyJwks: an RSA public key whose private key was generated and thrown away. */
export const PUBLIC_ONLY_JWKS = JSON.stringify({
  keys: [
    {
      kty: "RSA",
      e: "AQAB",
      n: "0xObjM0UvS_oaazjpEYlAbwctEJ4L8pH3OuTb7qth7gUwqet-EzQB4dgFdvSdMgrLnSncQGRjpEYz3F3viIbH-3EN3TxSlPNviHxeOdyiBVfumN8dMxbLvVJUpfNOnvmMxJcl-8NNjAwcOjk4otSALaYgYYyOPyvKtgVdrQr-FoubWX4yrjxW-MJ2-7OBeepUUNOsVwGV23YX03sVkkyvY3otRflkBcY3_HKpBxJl9wk2GyOShN4_PNUF9-vwfnvOXMbCDX-w4PTef4geeb_GiT40YCKHTKMSPVanGRn5GExIWmki-mmqh94-mPTJyBR74ShspL3BxPZitDL574T1w",
    },
  ],
});

/** Claims Istio always splits on spaces in the metadata (buildSpaceDelimitedClaims). */
const SPACE_DELIMITED = ["permission", "scope"];

/** The JWT rules that apply to a workload: its namespace's RequestAuthentications and the root namespace's. */
export function jwtRulesFor(model: ConfigModel, namespace: string, labels: Record<string, string>): JwtRule[] {
  const root = model.mesh?.rootNamespace ?? DEFAULT_ROOT_NAMESPACE;
  const applied = policiesFor<RequestAuthentication>(model.requestAuthentications ?? [], namespace, labels, root);
  const rules = applied.flatMap((p) => p.spec.jwtRules ?? []);
  return rules.sort((a, b) => ((a.issuer ?? "") < (b.issuer ?? "") ? -1 : (a.issuer ?? "") > (b.issuer ?? "") ? 1 : 0));
}

/** Where a rule's keys come from when it has none inline: its jwksUri, else its issuer's OpenID discovery document. */
export function jwksSource(rule: JwtRule): { key: string; discover: boolean } | undefined {
  if (rule.jwks) return undefined;
  if (rule.jwksUri) return { key: rule.jwksUri, discover: false };
  if (!rule.issuer) return undefined;
  return { key: `${rule.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`, discover: true };
}

function keysFor(rule: JwtRule, model: ConfigModel): string {
  if (rule.jwks) return rule.jwks;
  const source = jwksSource(rule);
  return (source && model.jwks?.[source.key]) || PUBLIC_ONLY_JWKS;
}

function provider(rule: JwtRule, model: ConfigModel, gateway: boolean): Json {
  const claims = [...new Set([...(rule.spaceDelimitedClaims ?? []), ...SPACE_DELIMITED])].sort();
  const p: Json = {
    issuer: rule.issuer ?? "",
    audiences: rule.audiences ?? [],
    local_jwks: { inline_string: keysFor(rule, model) },
    forward: rule.forwardOriginalToken ?? false,
    from_headers: (rule.fromHeaders ?? []).map((h) => ({ name: h.name ?? "", value_prefix: h.prefix ?? "" })),
    from_params: rule.fromParams ?? [],
    from_cookies: rule.fromCookies ?? [],
    forward_payload_header: rule.outputPayloadToHeader ?? "",
    payload_in_metadata: "payload",
    normalize_payload_in_metadata: { space_delimited_claims: claims },
    claim_to_headers: (rule.outputClaimToHeaders ?? []).map((c) => ({
      header_name: c.header ?? "",
      claim_name: c.claim ?? "",
    })),
    clear_route_cache: gateway,
  };
  return p;
}

/** The jwt_authn filter's typed_config for these rules; undefined when there are none. */
export function jwtAuthnConfig(rules: readonly JwtRule[], model: ConfigModel, gateway: boolean): Json | undefined {
  if (!rules.length) return undefined;
  const providers: Json = {};
  const names = rules.map((rule, i) => {
    providers[`origins-${i}`] = provider(rule, model, gateway);
    return `origins-${i}`;
  });
  const orMissing = (name: string): Json => ({
    requires_any: { requirements: [{ provider_name: name }, { allow_missing: {} }] },
  });
  const requires =
    names.length === 1
      ? orMissing(names[0] as string)
      : {
          requires_any: {
            requirements: [
              ...names.map((provider_name) => ({ provider_name })),
              { requires_all: { requirements: names.map(orMissing) } },
            ],
          },
        };
  return {
    "@type": TYPE.jwtAuthn,
    providers,
    rules: [{ match: { prefix: "/" }, requires }],
    bypass_cors_preflight: true,
  };
}

/** The jwt_authn filter a workload's HTTP chains (or a gateway's) start with, if any RequestAuthentication applies. */
export function workloadJwt(
  model: ConfigModel,
  namespace: string,
  labels: Record<string, string>,
  gateway: boolean,
): Json | undefined {
  return jwtAuthnConfig(jwtRulesFor(model, namespace, labels), model, gateway);
}

/** What discovery fetches for the model's RequestAuthentications: each key source, whether it is an OpenID discovery
 * document, and its timeout (ms; the longest of the rules naming it). */
export function jwksSources(model: ConfigModel): Map<string, { discover: boolean; timeoutMs: number }> {
  const out = new Map<string, { discover: boolean; timeoutMs: number }>();
  for (const ra of model.requestAuthentications ?? [])
    for (const rule of ra.spec.jwtRules ?? []) {
      const source = jwksSource(rule);
      if (!source) continue;
      const timeout = Math.max(out.get(source.key)?.timeoutMs ?? 0, timeoutMs(rule));
      out.set(source.key, { discover: source.discover, timeoutMs: timeout });
    }
  return out;
}

/** The rule's timeout, else Istio's default 5 s. */
function timeoutMs(rule: JwtRule): number {
  const s = durationSeconds(rule.timeout);
  return s === undefined ? 5000 : s * 1000;
}
