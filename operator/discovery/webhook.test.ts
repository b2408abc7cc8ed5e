import type { KubeObject } from "./model/kube.js";
import { admit, needsDestinationRules } from "./webhook.js";
import type { AdmissionReview } from "./webhook.js";

const review = (object: KubeObject): AdmissionReview => ({
  apiVersion: "admission.k8s.io/v1",
  kind: "AdmissionReview",
  request: {
    uid: "u1",
    kind: { group: "networking.istio.io", version: "v1", kind: object.kind ?? "" },
    namespace: "shop",
    operation: "CREATE",
    object,
  },
});
const vs = (http: unknown[]): KubeObject => ({
  apiVersion: "networking.istio.io/v1",
  kind: "VirtualService",
  metadata: { name: "reviews" },
  spec: { hosts: ["reviews"], http },
});
const rules = [
  {
    name: "reviews",
    namespace: "shop",
    spec: { host: "reviews", subsets: [{ name: "v1", labels: { version: "v1" } }] },
  },
];

describe("the validation webhook's answer", () => {
  it("allows a good VirtualService, echoing the uid", () => {
    expect(admit(review(vs([{ route: [{ destination: { host: "reviews", subset: "v1" } }] }])), rules)).toEqual({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: { uid: "u1", allowed: true },
    });
  });

  it.each([
    [
      "a bad regex",
      [{ match: [{ uri: { regex: "(unclosed" } }], route: [{ destination: { host: "reviews", subset: "v1" } }] }],
      "spec.http[0].match[0].uri",
    ],
    [
      "a negative weight",
      [
        {
          route: [
            { destination: { host: "reviews", subset: "v1" }, weight: -10 },
            { destination: { host: "reviews", subset: "v1" }, weight: 110 },
          ],
        },
      ],
      "spec.http[0].route[0].weight",
    ],
    [
      "an undefined subset",
      [{ route: [{ destination: { host: "reviews", subset: "v9" } }] }],
      "spec.http[0].route[0].destination.subset",
    ],
    [
      "negative retries",
      [{ route: [{ destination: { host: "reviews" } }], retries: { attempts: -1 } }],
      "spec.http[0].retries.attempts",
    ],
    // Header injection by config: CR/LF in a value would add a Set-Cookie to responses or a request upstream.
    [
      "CRLF in a response header",
      [
        {
          route: [{ destination: { host: "reviews" } }],
          headers: { response: { set: { "x-a": "1\r\nSet-Cookie: s=evil" } } },
        },
      ],
      'spec.http[0].headers.response.set["x-a"]: "1\\r\\nSet-Cookie: s=evil" contains CR, LF',
    ],
    [
      "LF in a request header",
      [
        {
          route: [{ destination: { host: "reviews" } }],
          headers: { request: { add: { "x-b": "1\nGET /admin HTTP/1.1" } } },
        },
      ],
      'spec.http[0].headers.request.add["x-b"]',
    ],
    [
      "NUL in a per-destination header",
      [{ route: [{ destination: { host: "reviews" }, headers: { request: { set: { "x-c": "a\u0000b" } } } }] }],
      'spec.http[0].route[0].headers.request.set["x-c"]: "a\\u0000b" contains NUL',
    ],
    [
      "a header name that is no token",
      [{ route: [{ destination: { host: "reviews" } }], headers: { response: { remove: ["x-ok", "bad name"] } } }],
      "spec.http[0].headers.response.remove[1]",
    ],
    [
      "CRLF in a rewritten authority",
      [{ route: [{ destination: { host: "reviews" } }], rewrite: { authority: "a\r\nx: y" } }],
      "spec.http[0].rewrite.authority",
    ],
    [
      "a lookahead RE2 can't run",
      [{ match: [{ headers: { cookie: { regex: "(?=x)y" } } }], route: [{ destination: { host: "reviews" } }] }],
      "spec.http[0].match[0].headers.cookie.regex",
    ],
    [
      "a rewrite naming a group the regex lacks",
      [
        {
          route: [{ destination: { host: "reviews" } }],
          rewrite: { uriRegexRewrite: { match: "^/a/(.*)$", rewrite: "/b/\\2" } },
        },
      ],
      "spec.http[0].rewrite.uriRegexRewrite.rewrite",
    ],
  ])("denies %s, naming the field", (_what, http, field) => {
    const { response } = admit(review(vs(http)), rules);
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toContain(field);
    expect(response.status?.message).toMatch(/^VirtualService shop\/reviews: /);
  });

  it("lets a DELETE and other kinds through, and looks DestinationRules up only for VirtualServices", () => {
    expect(admit({ request: { uid: "u2", operation: "DELETE", object: null } }, []).response.allowed).toBe(true);
    const gw = review({
      apiVersion: "networking.istio.io/v1",
      kind: "Gateway",
      metadata: { name: "g" },
      spec: { servers: [{ port: { number: 80, name: "http", protocol: "HTTP" }, hosts: ["*"] }] },
    });
    expect(admit(gw, []).response.allowed).toBe(true);
    expect(needsDestinationRules(gw)).toBe(false);
    expect(needsDestinationRules(review(vs([])))).toBe(true);
  });

  it("warns, naming the field, when a tcp or tls match names a subnet and binds a Gateway, where it never applies", () => {
    const l4 = (gateways: string[] | undefined, match: Record<string, unknown>): KubeObject => ({
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: { name: "db" },
      spec: {
        hosts: ["db"],
        ...(gateways ? { gateways } : {}),
        tcp: [{ match: [{ port: 5432 }, match], route: [{ destination: { host: "db" } }] }],
        // TLSMatchAttributes has no sourceSubnet.
        tls: [
          {
            match: [{ sniHosts: ["db"], gateways: match.gateways, destinationSubnets: match.destinationSubnets }],
            route: [{ destination: { host: "db" } }],
          },
        ],
      },
    });
    const warned = (o: KubeObject) => admit(review(o), []).response;
    const bound = warned(l4(["edge", "mesh"], { sourceSubnet: "10.1.0.0/16", destinationSubnets: ["10.2.0.0/16"] }));
    expect(bound.allowed).toBe(true);
    expect(bound.warnings).toEqual([
      'spec.tcp[0].match[1].sourceSubnet: a gateway never applies this match (gateways: edge): istiod ignores sourceSubnet on gateways, which would take every client, and Weft takes none; it applies to sidecars ("mesh") only',
      expect.stringMatching(
        /^spec\.tcp\[0\]\.match\[1\]\.destinationSubnets: a gateway never applies this match \(gateways: edge\)/,
      ),
      expect.stringMatching(/^spec\.tls\[0\]\.match\[0\]\.destinationSubnets: /),
    ]);
    // A match's own gateways decide: one bound to the mesh alone is not warned of, one naming a gateway is.
    expect(warned(l4(["edge"], { gateways: ["mesh"], sourceSubnet: "10.1.0.0/16" })).warnings).toBeUndefined();
    expect(warned(l4(undefined, { gateways: ["shop/edge"], sourceSubnet: "10.1.0.0/16" })).warnings).toEqual([
      expect.stringMatching(/^spec\.tcp\[0\]\.match\[1\]\.sourceSubnet: .*\(gateways: shop\/edge\)/),
    ]);
    // Mesh-only (no gateways, or just mesh): sidecars apply the subnets, nothing to say.
    expect(warned(l4(undefined, { sourceSubnet: "10.1.0.0/16", destinationSubnets: ["10.2.0.0/16"] }))).toEqual({
      uid: "u1",
      allowed: true,
    });
    expect(warned(l4(["mesh"], { sourceSubnet: "10.1.0.0/16" })).warnings).toBeUndefined();
  });
  it("warns, naming the field and the IPv4 form, of an IPv4-mapped range, which no IPv4 client is ever in", () => {
    const policy = (source: Record<string, string[]>): KubeObject => ({
      apiVersion: "security.istio.io/v1",
      kind: "AuthorizationPolicy",
      metadata: { name: "deny-lab" },
      spec: { action: "DENY", rules: [{ from: [{ source: { principals: ["*"] } }, { source }] }] },
    });
    const warned = (o: KubeObject) => admit(review(o), []).response;
    const denied = warned(
      policy({ ipBlocks: ["10.0.0.0/8", "::ffff:10.0.0.0/104"], notRemoteIpBlocks: ["::ffff:1.2.3.4"] }),
    );
    expect(denied.allowed).toBe(true);
    expect(denied.warnings).toEqual([
      'spec.rules[0].from[1].source.ipBlocks[1]: "::ffff:10.0.0.0/104" is an IPv4-mapped IPv6 range, which no IPv4 client matches (an IPv4 client\'s address is IPv4, as Envoy\'s); write "10.0.0.0/8"',
      expect.stringMatching(
        /^spec\.rules\[0\]\.from\[1\]\.source\.notRemoteIpBlocks\[0\]: .*address.*; write "1\.2\.3\.4"$/,
      ),
    ]);
    expect(warned(policy({ ipBlocks: ["10.0.0.0/8", "fd00::/8"] })).warnings).toBeUndefined();
    const route = vs([]);
    route.spec = {
      hosts: ["db"],
      tcp: [{ match: [{ sourceSubnet: "::ffff:10.1.0.0/112" }], route: [{ destination: { host: "db" } }] }],
    };
    expect(warned(route).warnings).toEqual([
      expect.stringMatching(/^spec\.tcp\[0\]\.match\[0\]\.sourceSubnet: .*write "10\.1\.0\.0\/16"$/),
    ]);
  });
});
