// AuthorizationPolicy → RBAC filters, compared with what istiod generates for the same YAML
// (pilot/pkg/security/authz/builder/testdata/http, converted to Envoy's snake_case), and accepted by the engine.
import { parseYaml } from "../../../test/support/discovery/bookinfo.js";
import { normalise } from "../model/normalise.js";
import { policiesFor, rbacConfigs } from "./authz.js";
import { translate } from "./index.js";
import { parseNodeId } from "./proxy.js";
import { Reader } from "../../../proxy/engine/config/read.js";
import { compileRbac } from "../../../proxy/engine/rbac/filter.js";
import { envoyRuleViolations } from "../../../proxy/xds/rules.js";

const RBAC = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC";

function configs(yaml: string, labels = { app: "httpbin", version: "v1" }, forTcp = false) {
  const { model } = normalise(parseYaml(yaml));
  return rbacConfigs(policiesFor(model.authorizationPolicies ?? [], "foo", labels, "istio-system"), forTcp);
}

const or = (key: "or_ids" | "or_rules", items: unknown[]) =>
  key === "or_ids" ? { or_ids: { ids: items } } : { or_rules: { rules: items } };

describe("AuthorizationPolicy → RBAC (istiod's shape)", () => {
  it("single-policy (rule[1] without requestPrincipals): from/to as principals/permissions", () => {
    const out = configs(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: httpbin, namespace: foo }
spec:
  selector: { matchLabels: { app: httpbin, version: v1 } }
  rules:
  - from:
    - source: { principals: [p1, p2], namespaces: [ns1], ipBlocks: [10.1.0.1], remoteIpBlocks: [172.22.2.0/23] }
    to:
    - operation: { methods: [GET], hosts: [h1], ports: ["9101", "9102"], paths: [/p1] }
`);
    const ip = (a: string, n: number) => ({ address_prefix: a, prefix_len: n });
    expect(out).toEqual([
      {
        "@type": RBAC,
        rules: {
          policies: {
            "ns[foo]-policy[httpbin]-rule[0]": {
              permissions: [
                {
                  and_rules: {
                    rules: [
                      or("or_rules", [
                        { header: { name: ":authority", string_match: { exact: "h1", ignore_case: true } } },
                      ]),
                      or("or_rules", [{ header: { name: ":method", string_match: { exact: "GET" } } }]),
                      or("or_rules", [{ url_path: { path: { exact: "/p1" } } }]),
                      or("or_rules", [{ destination_port: 9101 }, { destination_port: 9102 }]),
                    ],
                  },
                },
              ],
              principals: [
                {
                  and_ids: {
                    ids: [
                      or("or_ids", [
                        { authenticated: { principal_name: { exact: "spiffe://p1" } } },
                        { authenticated: { principal_name: { exact: "spiffe://p2" } } },
                      ]),
                      or("or_ids", [{ authenticated: { principal_name: { safe_regex: { regex: ".*/ns/ns1/.*" } } } }]),
                      or("or_ids", [{ remote_ip: ip("172.22.2.0", 23) }]),
                      or("or_ids", [{ direct_remote_ip: ip("10.1.0.1", 32) }]),
                    ],
                  },
                },
              ],
            },
          },
        },
      },
    ]);
  });

  it("allow-nil-rule: an ALLOW policy without rules allows nothing", () => {
    const out = configs(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-none, namespace: foo }
spec: { selector: { matchLabels: { app: httpbin } } }
`);
    expect(out).toEqual([
      {
        "@type": RBAC,
        rules: {
          policies: {
            "ns[foo]-policy[allow-none]-rule[0]": {
              permissions: [{ not_rule: { any: true } }],
              principals: [{ not_id: { any: true } }],
            },
          },
        },
      },
    ]);
  });

  it("deny-and-allow: AUDIT (LOG), DENY, then ALLOW filters; wildcards as istiod writes them", () => {
    const out = configs(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow, namespace: foo }
spec: { rules: [{ to: [{ operation: { paths: ["/prefix/*", "*/suffix", "*"] } }] }] }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny, namespace: istio-system }
spec: { action: DENY, rules: [{ from: [{ source: { principals: ["*-suffix-principal", "pre-*"] } }] }] }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: audit, namespace: foo }
spec: { action: AUDIT, rules: [{}] }
`);
    expect(out.map((c) => (c.rules as { action?: string }).action ?? "ALLOW")).toEqual(["LOG", "DENY", "ALLOW"]);
    expect(JSON.stringify(out[1])).toContain('"safe_regex":{"regex":"spiffe://.*-suffix-principal"}');
    expect(JSON.stringify(out[1])).toContain('"prefix":"spiffe://pre-"');
    expect(JSON.stringify(out[2])).toContain(
      '[{"url_path":{"path":{"prefix":"/prefix/"}}},{"url_path":{"path":{"suffix":"/suffix"}}},{"url_path":{"path":{"safe_regex":{"regex":".+"}}}}]',
    );
  });

  it("no policy for the workload: no RBAC filter (allow)", () => {
    expect(
      configs(`
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: other, namespace: foo }
spec: { selector: { matchLabels: { app: other } } }
`),
    ).toEqual([]);
  });

  it("every generated filter passes Envoy's field rules and compiles in the engine (HTTP and TCP)", () => {
    const yaml = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: full, namespace: foo }
spec:
  rules:
  - from: [{ source: { principals: ["*"], notNamespaces: [x], serviceAccounts: [a/b], notIpBlocks: ["::1/128"] } }]
    to: [{ operation: { notHosts: ["*.evil"], notMethods: [DELETE], notPaths: ["/admin*"], notPorts: ["1"] } }]
    when:
    - { key: "request.headers[x-a]", values: ["*"], notValues: [b] }
    - { key: source.ip, values: [10.0.0.0/8] }
    - { key: remote.ip, notValues: [1.2.3.4] }
    - { key: destination.ip, values: [10.0.0.1] }
    - { key: destination.port, values: ["80"] }
    - { key: connection.sni, values: ["*.local"] }
    - { key: source.principal, values: [a] }
    - { key: source.namespace, values: [b] }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny, namespace: foo }
spec: { action: DENY, rules: [{ to: [{ operation: { methods: [GET], ports: ["8080"] } }] }] }
`;
    const http = configs(yaml);
    const tcp = configs(yaml, undefined, true);
    expect(http).toHaveLength(2);
    expect(tcp).toHaveLength(2);
    // On TCP the ALLOW rule (HTTP-only fields) is dropped: it allows less; the DENY rule loses `methods`: denies more.
    expect(Object.keys((tcp[1]?.rules as { policies: object }).policies)).toEqual([]);
    expect(JSON.stringify(tcp[0])).not.toContain(":method");
    expect(JSON.stringify(tcp[0])).toContain('"destination_port":8080');
    for (const c of [...http, ...tcp]) {
      expect(envoyRuleViolations(c as never)).toEqual([]);
      const extra = c["stat_prefix"] ? ["stat_prefix"] : [];
      expect(() => compileRbac(new Reader("Listener", "t"), c, "rbac", extra)).not.toThrow();
    }
  });

  it("requestPrincipals and request.auth.* match jwt_authn's payload as istiod writes them; on TCP they are HTTP-only", () => {
    const yaml = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: jwt, namespace: foo }
spec:
  rules:
  - from: [{ source: { requestPrincipals: ["https://iss.example/alice", "*"], notRequestPrincipals: ["*-bot"] } }]
    when: [{ key: "request.auth.claims[org][team]", values: [books, "eu-*"] }, { key: request.auth.audiences, notValues: [x] }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny, namespace: foo }
spec: { action: DENY, rules: [{ from: [{ source: { requestPrincipals: ["*"] } }], to: [{ operation: { ports: ["1"] } }] }] }
`;
    const md = (keys: string[], value: unknown) => ({
      metadata: { filter: "envoy.filters.http.jwt_authn", path: ["payload", ...keys].map((key) => ({ key })), value },
    });
    const pair = (iss: unknown, sub: unknown) => ({
      and_ids: { ids: [md(["iss"], { string_match: iss }), md(["sub"], { string_match: sub })] },
    });
    const any = { safe_regex: { regex: ".+" } };
    const team = {
      or_match: { value_matchers: [{ string_match: { exact: "books" } }, { string_match: { prefix: "eu-" } }] },
    };
    const aud = { string_match: { exact: "x" } };
    const [deny, allow] = configs(yaml);
    const rules = allow?.rules as { policies: Record<string, { principals: unknown[] }> };
    expect(rules.policies["ns[foo]-policy[jwt]-rule[0]"]?.principals).toEqual([
      {
        and_ids: {
          ids: [
            { or_ids: { ids: [pair({ exact: "https://iss.example" }, { exact: "alice" }), pair(any, any)] } },
            { not_id: pair(any, { suffix: "-bot" }) },
            md(["org", "team"], { or_match: { value_matchers: [{ list_match: { one_of: team } }, team] } }),
            { not_id: md(["aud"], { or_match: { value_matchers: [{ list_match: { one_of: aud } }, aud] } }) },
          ],
        },
      },
    ]);
    for (const c of [deny, allow]) expect(envoyRuleViolations(c as never)).toEqual([]);
    const [tcpDeny, tcpAllow] = configs(yaml, undefined, true);
    expect(Object.keys((tcpAllow?.rules as { policies: object }).policies)).toEqual([]);
    expect(JSON.stringify(tcpDeny)).not.toContain("jwt_authn");
    expect(JSON.stringify(tcpDeny)).toContain('"destination_port":1');
  });

  it("a policy selecting a gateway's workload guards its server ports too (HTTP and TCP)", () => {
    const { model } = normalise(
      parseYaml(`
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: ingress, namespace: istio-system }
spec: { address: 127.0.0.9, labels: { istio: ingressgateway } }
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: gw, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: ["*"] }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ingress-ip, namespace: istio-system }
spec:
  selector: { matchLabels: { istio: ingressgateway } }
  rules: [{ from: [{ source: { ipBlocks: [10.0.0.0/8] } }] }]
`),
    );
    const out = translate(model, parseNodeId("router~127.0.0.9~ingress.istio-system~istio-system.svc.cluster.local"));
    const l = out.listeners.find((x) => x["name"] === "0.0.0.0_80");
    const hcm = JSON.stringify(l);
    expect(hcm).toContain('"name":"envoy.filters.http.rbac"');
    expect(hcm).toContain("ns[istio-system]-policy[ingress-ip]-rule[0]");
  });
});
