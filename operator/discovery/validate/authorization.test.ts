// The shared validator (webhook and local folder) on AuthorizationPolicy: what Weft can't enforce is refused,
// naming the field; Istio's documented examples pass.
import { validateObject } from "./index.js";
import { parseYaml } from "../../../test/support/discovery/bookinfo.js";

const validate = (spec: string) =>
  validateObject(
    parseYaml(
      `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: { name: p, namespace: foo }\nspec:\n${spec}`,
    )[0] as never,
  );

describe("AuthorizationPolicy validation", () => {
  it.each([
    ["allow-nothing", "  {}"],
    ["allow-all", "  rules: [{}]"],
    [
      "Istio's example",
      `  selector: { matchLabels: { app: httpbin } }
  action: ALLOW
  rules:
  - from: [{ source: { principals: [cluster.local/ns/default/sa/sleep] } }, { source: { namespaces: [test] } }]
    to: [{ operation: { methods: [GET], paths: ["/info*"] } }, { operation: { methods: [POST], paths: [/data] } }]
    when: [{ key: "request.headers[version]", values: [v1, v2] }]`,
    ],
    [
      "deny by ipBlocks",
      "  action: DENY\n  rules: [{ from: [{ source: { ipBlocks: [1.2.3.4, 5.6.0.0/16, '::1'] } }] }]",
    ],
    ["audit", "  action: AUDIT\n  rules: [{ to: [{ operation: { notPorts: ['8080'] } }] }]"],
    [
      "end-user (JWT) sources and conditions",
      `  rules:
  - from: [{ source: { requestPrincipals: ["*"], notRequestPrincipals: ["https://evil.example/*"] } }]
    when:
    - { key: request.auth.principal, values: ["https://issuer.example.com/alice"] }
    - { key: request.auth.audiences, values: [bookstore] }
    - { key: request.auth.presenter, notValues: [untrusted] }
    - { key: "request.auth.claims[iss]", values: ["https://issuer.example.com"] }
    - { key: "request.auth.claims[org][team]", values: [books, "*-admins"] }`,
    ],
  ])("accepts %s", (_n, spec) => expect(validate(spec)).toEqual([]));

  it.each([
    [
      "  action: CUSTOM\n  provider: { name: ext }",
      "spec.action: CUSTOM (an external authorizer, ext_authz) is not supported",
    ],
    ["  action: ALLOW\n  provider: { name: ext }", "spec.provider: only allowed with action CUSTOM"],
    ["  action: MAYBE", "spec.action"],
    [
      "  rules: [{ from: [{ source: { requestPrincipals: ['a*b/c'] } }] }]",
      'spec.rules[0].from[0].source.requestPrincipals[0]: "a*b/c" may have * only at the start or the end',
    ],
    [
      "  rules: [{ when: [{ key: 'request.auth.claims', values: [x] }] }]",
      "spec.rules[0].when[0].key: bad key (request.auth.claims): should have format request.auth.claims[<claim name>]",
    ],
    [
      "  rules: [{ when: [{ key: 'request.auth.raw', values: [x] }] }]",
      'spec.rules[0].when[0].key: "request.auth.raw" is not supported by Weft',
    ],
    ["  rules: [{ when: [{ key: 'experimental.envoy.filters.a.b[c]', values: [x] }] }]", "spec.rules[0].when[0].key"],
    ["  rules: [{ when: [{ key: source.ip }] }]", "spec.rules[0].when[0]: at least one of values or notValues"],
    ["  rules: [{ to: [{ operation: { paths: ['/a/{*}/b'] } }] }]", "spec.rules[0].to[0].operation.paths[0]"],
    ["  rules: [{ to: [{ operation: { paths: ['/a*b'] } }] }]", "may have * only at the start or the end"],
    [
      "  rules: [{ to: [{ operation: { ports: ['http'] } }] }]",
      'spec.rules[0].to[0].operation.ports[0]: "http" is not a port number',
    ],
    ["  rules: [{ from: [{ source: { ipBlocks: [10.0.0.0/33] } }] }]", "spec.rules[0].from[0].source.ipBlocks[0]"],
    [
      "  rules: [{ from: [{ source: { ipBlock: [1.2.3.4] } }] }]",
      'spec.rules[0].from[0].source.ipBlock: unknown field (did you mean "ipBlocks"?)',
    ],
    ["  rules: [{ from: [{ source: {} }] }]", "spec.rules[0].from[0].source: must set at least one field"],
    ["  targetRefs: [{ kind: Gateway, name: gw }]", "spec.targetRefs: not supported"],
  ])("refuses %s", (spec, message) => {
    expect(validate(spec).join("\n")).toContain(message);
  });

  it("refuses a dry-run policy (it would be enforced, not only logged)", () => {
    const out = validateObject(
      parseYaml(
        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: { name: p, annotations: { istio.io/dry-run: 'true' } }\nspec: {}",
      )[0] as never,
    );
    expect(out.join()).toContain('metadata.annotations["istio.io/dry-run"]');
  });

  it("RequestAuthentication is taken now; a security kind Weft doesn't know is refused as having no effect", () => {
    const doc = (kind: string) =>
      parseYaml(`apiVersion: security.istio.io/v1\nkind: ${kind}\nmetadata: { name: r }\nspec: {}`)[0] as never;
    expect(validateObject(doc("RequestAuthentication"))).toEqual([]);
    expect(validateObject(doc("ExternalAuthentication")).join()).toContain("not supported by Weft yet");
  });
});
