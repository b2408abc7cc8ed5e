// AuthorizationPolicy end to end: Istio's YAML → discovery's translate → a real sidecar engine (local mode shape,
// mTLS from a test mesh CA on the HTTP port) → a real request from a caller with a SPIFFE identity, a source
// address, headers. Each case asserts what the caller sees: 200 from the app, or Envoy's 403 `RBAC: access denied`
// (TCP: the app's answer, or the connection closed). Istio's documented examples are among them
// (istio.io/latest/docs/reference/config/security/authorization-policy and the authorization tasks).
import { AuthzSidecar, type Call } from "../support/authz/sidecar.js";

const SLEEP = "cluster.local/ns/default/sa/sleep";
const OTHER = "cluster.local/ns/other/sa/client";
const FOO = "cluster.local/ns/foo/sa/curl";

/** An AuthorizationPolicy in namespace foo (unless `ns`), spec as YAML (indented by 2). */
const policy = (name: string, spec: string, ns = "foo") =>
  `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: { name: ${name}, namespace: ${ns} }\nspec:\n${spec}\n---\n`;

const ALLOW_NOTHING = policy("allow-nothing", "  {}");
const ALLOW_ALL = policy("allow-all", "  rules: [{}]");

interface Case {
  name: string;
  /** Policies (YAML); a function gets the sidecar's HTTP port, for `ports`. */
  policies: string | ((httpPort: number) => string);
  call: Call;
  status: 200 | 403;
}

const cases: Case[] = [
  { name: "no policy: allowed", policies: "", call: {}, status: 200 },
  { name: "allow-nothing ({}): denied", policies: ALLOW_NOTHING, call: {}, status: 403 },
  {
    name: "allow-nothing denies a mesh identity too",
    policies: ALLOW_NOTHING,
    call: { principal: SLEEP },
    status: 403,
  },
  { name: "allow-all (rules: [{}]): allowed", policies: ALLOW_ALL, call: {}, status: 200 },
  {
    name: "deny by method: POST denied",
    policies: policy("deny-post", "  action: DENY\n  rules: [{ to: [{ operation: { methods: [POST] } }] }]"),
    call: { method: "POST" },
    status: 403,
  },
  {
    name: "deny by method: GET still allowed (no ALLOW policy)",
    policies: policy("deny-post", "  action: DENY\n  rules: [{ to: [{ operation: { methods: [POST] } }] }]"),
    call: { method: "GET" },
    status: 200,
  },
  ...(
    [
      ["/info/version", 200],
      ["/info", 200],
      ["/status", 200],
      ["/status/x", 403],
      ["/other", 403],
    ] as const
  ).map(([path, status]): Case => ({
    name: `allow by path (/info*, /status): ${path}`,
    policies: policy("allow-path", "  rules: [{ to: [{ operation: { paths: ['/info*', /status] } }] }]"),
    call: { path },
    status,
  })),
  {
    name: "allow by path suffix (*.html): /index.html",
    policies: policy("allow-html", "  rules: [{ to: [{ operation: { paths: ['*.html'] } }] }]"),
    call: { path: "/index.html?x=1" },
    status: 200,
  },
  ...(
    [
      [SLEEP, 200],
      [OTHER, 403],
      [undefined, 403],
    ] as const
  ).map(([principal, status]): Case => ({
    name: `principals [${SLEEP}]: ${principal ?? "no certificate"}`,
    policies: policy("allow-sleep", `  rules: [{ from: [{ source: { principals: [${SLEEP}] } }] }]`),
    call: { principal },
    status,
  })),
  {
    name: "principals with a wildcard (cluster.local/ns/default/*)",
    policies: policy(
      "allow-default",
      "  rules: [{ from: [{ source: { principals: ['cluster.local/ns/default/*'] } }] }]",
    ),
    call: { principal: SLEEP },
    status: 200,
  },
  {
    name: "namespaces [default]: from default allowed",
    policies: policy("allow-ns", "  rules: [{ from: [{ source: { namespaces: [default] } }] }]"),
    call: { principal: SLEEP },
    status: 200,
  },
  {
    name: "namespaces [default]: from other denied",
    policies: policy("allow-ns", "  rules: [{ from: [{ source: { namespaces: [default] } }] }]"),
    call: { principal: OTHER },
    status: 403,
  },
  ...(
    [
      [FOO, 200],
      [SLEEP, 403],
      [undefined, 403],
    ] as const
  ).map(([principal, status]): Case => ({
    // Istio's example: deny requests from outside foo; plaintext (no identity) is outside too.
    name: `DENY notNamespaces [foo]: ${principal ?? "no certificate"}`,
    policies: policy("deny-others", "  action: DENY\n  rules: [{ from: [{ source: { notNamespaces: [foo] } }] }]"),
    call: { principal },
    status,
  })),
  {
    name: "serviceAccounts [default/sleep]",
    policies: policy("allow-sa", "  rules: [{ from: [{ source: { serviceAccounts: [default/sleep] } }] }]"),
    call: { principal: SLEEP },
    status: 200,
  },
  ...(
    [
      ["127.0.0.7", 200],
      ["127.0.0.8", 403],
    ] as const
  ).map(([from, status]): Case => ({
    name: `ipBlocks [127.0.0.7, 127.0.1.0/24]: from ${from}`,
    policies: policy("allow-ip", "  rules: [{ from: [{ source: { ipBlocks: [127.0.0.7, 127.0.1.0/24] } }] }]"),
    call: { from },
    status,
  })),
  {
    name: "DENY notIpBlocks [127.0.0.0/30]: from 127.0.0.9 denied",
    policies: policy("deny-ip", "  action: DENY\n  rules: [{ from: [{ source: { notIpBlocks: [127.0.0.0/30] } }] }]"),
    call: { from: "127.0.0.9" },
    status: 403,
  },
  {
    name: "remoteIpBlocks [10.1.2.0/24]: the x-forwarded-for client allowed",
    policies: policy("allow-remote", "  rules: [{ from: [{ source: { remoteIpBlocks: [10.1.2.0/24] } }] }]"),
    call: { headers: { "x-forwarded-for": "10.1.2.3" } },
    status: 200,
  },
  {
    name: "remoteIpBlocks [10.1.2.0/24]: without x-forwarded-for denied",
    policies: policy("allow-remote", "  rules: [{ from: [{ source: { remoteIpBlocks: [10.1.2.0/24] } }] }]"),
    call: {},
    status: 403,
  },
  ...(
    [
      [{ "x-token": "secret-1" }, 200],
      [{ "x-token": "nope" }, 403],
      [{}, 403],
    ] as const
  ).map(([headers, status]): Case => ({
    name: `when request.headers[x-token] [secret*]: ${JSON.stringify(headers)}`,
    policies: policy("allow-header", "  rules: [{ when: [{ key: 'request.headers[X-Token]', values: ['secret*'] }] }]"),
    call: { headers },
    status,
  })),
  ...(
    [
      ["/admin/users", 403],
      ["/public", 200],
    ] as const
  ).map(([path, status]): Case => ({
    name: `notPaths [/admin*]: ${path}`,
    policies: policy("allow-not-admin", "  rules: [{ to: [{ operation: { notPaths: ['/admin*'] } }] }]"),
    call: { path },
    status,
  })),
  ...(
    [
      ["HTTPBIN.foo", 200],
      ["evil.example.com", 403],
    ] as const
  ).map(([host, status]): Case => ({
    name: `hosts [httpbin.foo*] (case-insensitive): Host ${host}`,
    policies: policy("allow-host", "  rules: [{ to: [{ operation: { hosts: ['httpbin.foo*'] } }] }]"),
    call: { headers: { host } },
    status,
  })),
  {
    name: "ports [the HTTP port]: allowed",
    policies: (port) => policy("allow-port", `  rules: [{ to: [{ operation: { ports: ['${port}'] } }] }]`),
    call: {},
    status: 200,
  },
  {
    name: "ports [another port]: denied",
    policies: policy("allow-port", "  rules: [{ to: [{ operation: { ports: ['1'] } }] }]"),
    call: {},
    status: 403,
  },
  {
    name: "DENY is evaluated before ALLOW: allow-all + deny /secret → /secret denied",
    policies:
      ALLOW_ALL + policy("deny-secret", "  action: DENY\n  rules: [{ to: [{ operation: { paths: [/secret] } }] }]"),
    call: { path: "/secret" },
    status: 403,
  },
  {
    name: "DENY before ALLOW: allow-all + deny /secret → / allowed",
    policies:
      ALLOW_ALL + policy("deny-secret", "  action: DENY\n  rules: [{ to: [{ operation: { paths: [/secret] } }] }]"),
    call: { path: "/" },
    status: 200,
  },
  {
    // Istio's example: GET on /info* from sleep, or POST on /data from namespace test.
    name: "Istio's example: from sleep, GET /info/x allowed; from other, denied",
    policies: policy(
      "httpbin",
      `  action: ALLOW
  rules:
  - from: [{ source: { principals: [${SLEEP}] } }, { source: { namespaces: [test] } }]
    to: [{ operation: { methods: [GET], paths: ['/info*'] } }, { operation: { methods: [POST], paths: [/data] } }]`,
    ),
    call: { principal: SLEEP, path: "/info/x" },
    status: 200,
  },
  {
    name: "Istio's example: from sleep, GET /data denied (POST only)",
    policies: policy(
      "httpbin",
      `  rules:
  - from: [{ source: { principals: [${SLEEP}] } }]
    to: [{ operation: { methods: [GET], paths: ['/info*'] } }, { operation: { methods: [POST], paths: [/data] } }]`,
    ),
    call: { principal: SLEEP, path: "/data" },
    status: 403,
  },
  {
    name: "selector not matching the workload: the policy doesn't apply",
    policies: policy("other-app", "  selector: { matchLabels: { app: other } }"),
    call: {},
    status: 200,
  },
  {
    name: "selector matching the workload: allow-nothing applies",
    policies: policy("this-app", "  selector: { matchLabels: { app: httpbin, version: v1 } }"),
    call: {},
    status: 403,
  },
  {
    name: "root namespace (istio-system): mesh-wide allow-nothing",
    policies: policy("mesh-wide", "  {}", "istio-system"),
    call: {},
    status: 403,
  },
  {
    name: "another namespace's policy doesn't apply",
    policies: policy("elsewhere", "  {}", "bar"),
    call: {},
    status: 200,
  },
  {
    name: "AUDIT only logs: allowed",
    policies: policy("audit-all", "  action: AUDIT\n  rules: [{}]"),
    call: {},
    status: 200,
  },
  {
    name: "when source.namespace [default] and source.principal",
    policies: policy(
      "when-source",
      `  rules: [{ when: [{ key: source.namespace, values: [default] }, { key: source.principal, values: ['*/sa/sleep'] }] }]`,
    ),
    call: { principal: SLEEP },
    status: 200,
  },
  {
    name: "when source.ip notValues [127.0.0.8]: from 127.0.0.8 denied",
    policies: policy("when-ip", "  rules: [{ when: [{ key: source.ip, notValues: [127.0.0.8] }] }]"),
    call: { from: "127.0.0.8" },
    status: 403,
  },
  {
    name: "notMethods [DELETE]: DELETE denied",
    policies: policy("no-delete", "  rules: [{ to: [{ operation: { notMethods: [DELETE] } }] }]"),
    call: { method: "DELETE" },
    status: 403,
  },
];

describe("AuthorizationPolicy through a real sidecar", () => {
  let sidecar: AuthzSidecar;
  beforeAll(async () => {
    sidecar = await AuthzSidecar.start();
  }, 30_000);
  afterAll(() => sidecar?.stop(), 30_000);

  it("has at least 30 cases", () => expect(cases.length).toBeGreaterThanOrEqual(30));

  it.each(cases.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    await sidecar.apply(typeof c.policies === "function" ? c.policies(sidecar.httpPort) : c.policies);
    const reply = await sidecar.call(c.call);
    expect(reply.status).toBe(c.status);
    if (c.status === 403) expect(reply.body).toBe("RBAC: access denied");
    else expect(JSON.parse(reply.body).name).toBe("httpbin");
  });

  it("counts Envoy's rbac.allowed and rbac.denied per connection manager", async () => {
    await sidecar.apply(policy("allow-path", "  rules: [{ to: [{ operation: { paths: [/ok] } }] }]"));
    const prefix = `inbound|${sidecar.httpPort}||`;
    const before = {
      allowed: sidecar.engine.counters.get("http", prefix, "rbac.allowed"),
      denied: sidecar.engine.counters.get("http", prefix, "rbac.denied"),
    };
    expect((await sidecar.call({ path: "/ok" })).status).toBe(200);
    expect((await sidecar.call({ path: "/no" })).status).toBe(403);
    expect(sidecar.engine.counters.get("http", prefix, "rbac.allowed")).toBe(before.allowed + 1);
    expect(sidecar.engine.counters.get("http", prefix, "rbac.denied")).toBe(before.denied + 1);
  });

  it("TCP: ipBlocks allow a connection from 127.0.0.7 and close one from 127.0.0.8", async () => {
    await sidecar.apply(policy("tcp-ip", "  rules: [{ from: [{ source: { ipBlocks: [127.0.0.7] } }] }]"));
    expect(await sidecar.tcp("127.0.0.7")).toBe("pong");
    expect(await sidecar.tcp("127.0.0.8")).toBe("");
  });

  it("TCP: an ALLOW rule with HTTP-only fields can't match a TCP connection (Istio's rule): closed", async () => {
    await sidecar.apply(policy("tcp-http", "  rules: [{ to: [{ operation: { methods: [GET] } }] }]"));
    expect(await sidecar.tcp("127.0.0.7")).toBe("");
  });

  it("fails closed: RBAC the engine can't enforce is NACKed, and the last good policy stays enforced", async () => {
    await sidecar.apply(ALLOW_NOTHING);
    const res = sidecar.resources("");
    // Forced past discovery: a permission the engine doesn't implement (dynamic metadata).
    const l = res.listeners.find((x) => String((x as { name: string }).name).endsWith(`_${sidecar.httpPort}`));
    const hcm = (l as { filter_chains: { filters: { typed_config: { http_filters: unknown[] } }[] }[] })
      .filter_chains[0]!.filters[0]!.typed_config;
    hcm.http_filters.unshift({
      name: "envoy.filters.http.rbac",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
        rules: { policies: { p: { permissions: [{ metadata: { filter: "x" } }], principals: [{ any: true }] } } },
      },
    });
    await expect(sidecar.engine.apply(res)).rejects.toThrow(/permissions\[0\]\.metadata: not supported/);
    expect((await sidecar.call()).status).toBe(403);
  });
});
