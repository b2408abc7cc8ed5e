// RequestAuthentication → jwt_authn, compared with what istiod generates (pilot/pkg/security/authn
// policy_applier_test.go TestJwtFilter, in Envoy's snake_case), accepted by Envoy's rules and the engine, and placed
// where istiod places it: first on a sidecar's inbound HTTP chains and a gateway's servers, before RBAC.
import { parseYaml } from "../../../test/support/discovery/bookinfo.js";
import { meshModel } from "../../../test/support/discovery/mesh.js";
import { normalise } from "../model/normalise.js";
import { translate } from "./index.js";
import { parseNodeId } from "./proxy.js";
import { jwtAuthnConfig, jwtRulesFor, jwksSources, PUBLIC_ONLY_JWKS } from "./request-authn.js";
import { Reader } from "../../../proxy/engine/config/read.js";
import { compileJwtAuthn } from "../../../proxy/engine/jwt/config.js";
import { envoyRuleViolations } from "../../../proxy/xds/rules.js";
import { validateObject } from "../validate/index.js";
import { issuer, istioRequires, jwks } from "../../../test/support/jwt.js";

const KEYS = jwks(issuer("ES256"));
const T = "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication";

const ra = (name: string, rules: string, ns = "foo", selector = "selector: { matchLabels: { app: httpbin } }") => `
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: ${name}, namespace: ${ns} }
spec:
  ${selector}
  jwtRules:
${rules}
`;

function filterFor(yaml: string, gateway = false, labels = { app: "httpbin" }) {
  const { model } = normalise(parseYaml(yaml));
  return jwtAuthnConfig(jwtRulesFor(model, "foo", labels), model, gateway);
}

const provider = (iss: string, extra: Record<string, unknown> = {}) => ({
  issuer: iss,
  audiences: [],
  local_jwks: { inline_string: KEYS },
  forward: false,
  from_headers: [],
  from_params: [],
  from_cookies: [],
  forward_payload_header: "",
  payload_in_metadata: "payload",
  normalize_payload_in_metadata: { space_delimited_claims: ["permission", "scope"] },
  claim_to_headers: [],
  clear_route_cache: false,
  ...extra,
});

describe("RequestAuthentication → jwt_authn (istiod's shape)", () => {
  it("one rule: its provider, or no token", () => {
    const out = filterFor(
      ra(
        "r",
        `  - issuer: https://issuer.example.com
    audiences: [bookstore]
    jwks: '${KEYS}'
    fromHeaders: [{ name: x-jwt, prefix: "Bearer " }]
    fromParams: [token]
    fromCookies: [session]
    outputPayloadToHeader: x-payload
    outputClaimToHeaders: [{ header: x-sub, claim: sub }]
    forwardOriginalToken: true
    spaceDelimitedClaims: [roles]`,
      ),
    );
    expect(out).toEqual({
      "@type": T,
      providers: {
        "origins-0": provider("https://issuer.example.com", {
          audiences: ["bookstore"],
          forward: true,
          from_headers: [{ name: "x-jwt", value_prefix: "Bearer " }],
          from_params: ["token"],
          from_cookies: ["session"],
          forward_payload_header: "x-payload",
          normalize_payload_in_metadata: { space_delimited_claims: ["permission", "roles", "scope"] },
          claim_to_headers: [{ header_name: "x-sub", claim_name: "sub" }],
        }),
      },
      rules: [{ match: { prefix: "/" }, requires: istioRequires(["origins-0"]) }],
      bypass_cors_preflight: true,
    });
    expect(envoyRuleViolations(out as never)).toEqual([]);
    expect(() => compileJwtAuthn(new Reader("Listener", "l"), out ?? {}, "jwt")).not.toThrow();
  });

  it("several: each issuer's provider sorted by issuer, or all of them absent-or-valid; the root namespace's too", () => {
    const yaml = [
      ra("b", `  - { issuer: "issuer-b", jwks: '${KEYS}' }`),
      ra("a", `  - { issuer: "issuer-a", jwks: '${KEYS}' }`, "istio-system", ""),
      ra("other", `  - { issuer: "issuer-c", jwks: '${KEYS}' }`, "foo", "selector: { matchLabels: { app: other } }"),
    ].join("---");
    expect(filterFor(yaml)).toEqual({
      "@type": T,
      providers: { "origins-0": provider("issuer-a"), "origins-1": provider("issuer-b") },
      rules: [
        {
          match: { prefix: "/" },
          requires: istioRequires(["origins-0", "origins-1"]),
        },
      ],
      bypass_cors_preflight: true,
    });
  });

  it("a gateway's clears the route cache (istiod: not a sidecar)", () => {
    const out = filterFor(ra("r", `  - { issuer: i, jwks: '${KEYS}' }`), true) as { providers: Record<string, Json> };
    expect(out.providers["origins-0"]?.clear_route_cache).toBe(true);
  });

  it("inlines the keys discovery fetched for a jwksUri, else keys no token verifies with (fail closed)", () => {
    const yaml = ra(
      "r",
      `  - { issuer: "https://accounts.example.com", jwksUri: "https://accounts.example.com/jwks" }`,
    );
    const { model } = normalise(parseYaml(yaml));
    const keysOf = (m: typeof model) =>
      (jwtAuthnConfig(jwtRulesFor(m, "foo", { app: "httpbin" }), m, false) as { providers: Record<string, Json> })
        .providers["origins-0"]?.local_jwks;
    expect(keysOf(model)).toEqual({ inline_string: PUBLIC_ONLY_JWKS });
    expect(keysOf({ ...model, jwks: { "https://accounts.example.com/jwks": KEYS } })).toEqual({ inline_string: KEYS });
    expect([...jwksSources(model)]).toEqual([
      ["https://accounts.example.com/jwks", { discover: false, timeoutMs: 5000 }],
    ]);
    const openid = normalise(parseYaml(ra("r", `  - { issuer: "https://id.example.com/", timeout: 2s }`))).model;
    expect([...jwksSources(openid)]).toEqual([
      ["https://id.example.com/.well-known/openid-configuration", { discover: true, timeoutMs: 2000 }],
    ]);
  });

  it("comes first on a sidecar's inbound HTTP chains and a gateway's servers, before RBAC", () => {
    const policies = `
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: jwt, namespace: default }
spec:
  jwtRules: [{ issuer: i, jwks: '${KEYS}' }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: authz, namespace: default }
spec: { rules: [{ from: [{ source: { requestPrincipals: ["*"] } }] }] }
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: gw, namespace: default }
spec: { servers: [{ port: { number: 8080, name: http, protocol: HTTP }, hosts: ["*"] }] }
`;
    const model = meshModel(policies);
    const names = (nodeId: string, listener: string) => {
      const l = translate(model, parseNodeId(nodeId)).listeners.find((x) => x.name === listener);
      const hcm = l?.filter_chains?.[0]?.filters?.[0]?.typed_config as { http_filters?: { name: string }[] };
      return hcm.http_filters?.map((f) => f.name);
    };
    expect(names("sidecar~127.0.0.3~web-0.default~default.svc.cluster.local", "virtualInbound")?.slice(0, 2)).toEqual([
      "envoy.filters.http.jwt_authn",
      "envoy.filters.http.rbac",
    ]);
    expect(names("router~127.0.0.9~gw-0.default~default.svc.cluster.local", "0.0.0.0_8080")?.slice(0, 2)).toEqual([
      "envoy.filters.http.jwt_authn",
      "envoy.filters.http.rbac",
    ]);
  });
});

type Json = Record<string, unknown>;

describe("RequestAuthentication validation (istiod's webhook)", () => {
  const check = (spec: string) =>
    validateObject(
      parseYaml(
        `apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: { name: r }\nspec: ${spec}`,
      )[0] as never,
    );
  it("takes what Istio takes", () => {
    expect(
      check(`{ jwtRules: [{ issuer: i, jwksUri: "https://a.example/keys", timeout: 3s, audiences: [a] }] }`),
    ).toEqual([]);
    expect(check(`{ jwtRules: [{ jwksUri: "http://a.example/keys" }] }`)).toEqual([]);
  });
  it("refuses what Istio refuses, naming the field", () => {
    expect(check(`{ jwtRules: [{ audiences: [""] }] }`)).toEqual([
      "spec.jwtRules[0].audiences[0]: audience must be non-empty string",
      "spec.jwtRules[0]: issuer or jwksUri must be non-empty string",
    ]);
    expect(check(`{ jwtRules: [{ issuer: i, jwksUri: "ftp://a/keys" }] }`)).toEqual([
      'spec.jwtRules[0].jwksUri: URI scheme "ftp" is not supported',
    ]);
    expect(check(`{ jwtRules: [{ issuer: i, jwks: "{}" }] }`)[0]).toMatch(/^spec.jwtRules\[0\].jwks: jwks parse error/);
    expect(
      check(`{ jwtRules: [{ issuer: i, fromHeaders: [{ name: "" }], fromParams: [""], fromCookies: [""] }] }`),
    ).toEqual([
      "spec.jwtRules[0].fromHeaders[0].name: location header name must be non-empty string",
      "spec.jwtRules[0].fromParams[0]: location query must be non-empty string",
      "spec.jwtRules[0].fromCookies[0]: cookie name must be non-empty string",
    ]);
    expect(
      check(`{ jwtRules: [{ issuer: i, outputClaimToHeaders: [{ header: "bad header", claim: sub }] }] }`)[0],
    ).toMatch(/outputClaimToHeaders\[0\]\.header: .* is not a valid header name/);
    expect(check(`{ jwtRules: [{ issuer: i, timeout: 1x }] }`)[0]).toMatch(/^spec.jwtRules\[0\].timeout: /);
    expect(check(`{ targetRef: { kind: Gateway, name: g }, jwtRules: [] }`)).toEqual([
      "spec.targetRef: not supported by Weft (use spec.selector)",
    ]);
    expect(check(`{ jwtRules: [{ issuer: i, jwksUrl: x }] }`)[0]).toMatch(/jwksUrl: unknown field/);
  });
});
