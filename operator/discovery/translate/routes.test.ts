// VirtualService http routes → Envoy routes: matches, destinations, retries, timeouts, faults, header edits,
// rewrites, redirects, mirrors and CORS, as a user of Istio would expect them to behave.
import type { JsonObject } from "../../../proxy/xds/types.js";
import { meshModel, webRoutes } from "../../../test/support/discovery/mesh.js";
import { violations } from "../../../test/support/discovery/envoy.js";
import { routesOf } from "../../../test/support/discovery/find.js";
import { parseNodeId, translate } from "./index.js";

const client = parseNodeId("sidecar~127.0.0.9~client-0.default~default.svc.cluster.local");
const WEB = "outbound|80||web.example.com";
const PREVIOUS_HOSTS = "envoy.retry_host_predicates.previous_hosts";

function routes(http: string, ...extra: string[]): JsonObject[] {
  const out = translate(meshModel(webRoutes(http), ...extra), client);
  expect(violations(out.routes)).toEqual([]);
  return routesOf(out, "80", "web.example.com:80");
}

describe("matches", () => {
  it("turns uri exact, prefix and regex into path, prefix and safe_regex; one route per match block", () => {
    const rs = routes(`
  - match:
    - uri: { exact: /login }
    - uri: { prefix: /static }
    - uri: { regex: "/api/v[0-9]+/.*" }
      ignoreUriCase: true
    route: [{ destination: { host: web.example.com } }]`);
    expect(rs.map((r) => r["match"])).toEqual([
      { path: "/login" },
      { prefix: "/static" },
      { safe_regex: { regex: "/api/v[0-9]+/.*" }, case_sensitive: false },
    ]);
    expect(rs.every((r) => (r["route"] as JsonObject)["cluster"] === WEB)).toBe(true);
  });

  it("ANDs headers, query parameters and method inside a block; {} tests presence", () => {
    const [r] = routes(`
  - match:
    - headers: { end-user: { exact: jason }, x-canary: {}, cookie: { regex: "^(.*?;)?(user=jason)(;.*)?$" } }
      queryParams: { debug: { exact: "1" }, trace: {} }
      method: { exact: POST }
      withoutHeaders: { x-internal: { prefix: "yes" } }
    route: [{ destination: { host: web.example.com } }]`);
    expect(r?.["match"]).toEqual({
      prefix: "/",
      headers: [
        { name: "end-user", string_match: { exact: "jason" } },
        { name: "x-canary", present_match: true },
        { name: "cookie", string_match: { safe_regex: { regex: "^(.*?;)?(user=jason)(;.*)?$" } } },
        { name: "x-internal", string_match: { prefix: "yes" }, invert_match: true },
        { name: ":method", string_match: { exact: "POST" } },
      ],
      query_parameters: [
        { name: "debug", string_match: { exact: "1" } },
        { name: "trace", present_match: true },
      ],
    });
  });

  it("keeps routes in order, the first match winning", () => {
    const rs = routes(
      `
  - name: first
    match: [{ uri: { prefix: /a } }]
    route: [{ destination: { host: web.example.com } }]
  - name: second
    route: [{ destination: { host: echo, subset: v1 } }]`,
      "",
    );
    expect(rs.map((r) => r["name"])).toEqual(["first", "second"]);
  });

  it("drops match blocks that can't apply to this proxy: another port, other sourceLabels, a gateway", () => {
    const rs = routes(`
  - match: [{ port: 8080 }, { sourceLabels: { app: other } }, { gateways: [ingress] }]
    route: [{ destination: { host: web.example.com } }]
  - match: [{ port: 80, uri: { prefix: /here } }]
    route: [{ destination: { host: web.example.com } }]`);
    expect(rs.map((r) => r["match"])).toEqual([{ prefix: "/here" }]);
  });
});

describe("destinations", () => {
  it("splits by weight, leaving out weight 0, and names subset clusters", () => {
    const [r] = routes(
      `
  - route:
    - { destination: { host: echo, subset: v1 }, weight: 75 }
    - { destination: { host: echo, subset: v2 }, weight: 25 }
    - { destination: { host: web.example.com }, weight: 0 }`,
      ECHO,
    );
    expect((r?.["route"] as JsonObject)["weighted_clusters"]).toEqual({
      clusters: [
        { name: "outbound|7070|v1|echo", weight: 75 },
        { name: "outbound|7070|v2|echo", weight: 25 },
      ],
    });
  });

  it("reports a destination host that matches no service", () => {
    const out = translate(meshModel(webRoutes(`  - route: [{ destination: { host: nowhere.example.com } }]`)), client);
    expect(out.warnings).toContain(
      'VirtualService/default/web: http[0].route[0]: destination host "nowhere.example.com" matches no service',
    );
  });
});

const ECHO = `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: echo }
spec:
  host: echo
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]
`;

describe("retries and timeouts", () => {
  it("uses Istio's default retry policy when none is given, and no timeout", () => {
    const [r] = routes(`  - route: [{ destination: { host: web.example.com } }]`);
    expect(r?.["route"]).toEqual({
      cluster: WEB,
      timeout: "0s",
      max_grpc_timeout: "0s",
      retry_policy: {
        retry_on: "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes",
        num_retries: 2,
        retriable_status_codes: [503],
        host_selection_retry_max_attempts: 5,
        retry_host_predicate: [
          {
            name: "envoy.retry_host_predicates.previous_hosts",
            typed_config: {
              "@type": "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate",
            },
          },
        ],
      },
    });
  });

  it("takes attempts, perTryTimeout and retryOn (numbers are status codes) and the route timeout", () => {
    const [r] = routes(`
  - timeout: 1.5s
    retries: { attempts: 3, perTryTimeout: 0.5s, retryOn: "5xx,gateway-error,429" }
    route: [{ destination: { host: web.example.com } }]`);
    expect(r?.["route"]).toMatchObject({
      timeout: "1.5s",
      max_grpc_timeout: "1.5s",
      retry_policy: {
        num_retries: 3,
        per_try_timeout: "0.5s",
        retry_on: "5xx,gateway-error,retriable-status-codes",
        retriable_status_codes: [429],
      },
    });
  });

  it("renders retryRemoteLocalities as istiod does: previous_priorities, updated every 2 attempts", () => {
    const [on, off] = routes(`
  - match: [{ uri: { prefix: /on } }]
    retries: { attempts: 3, retryRemoteLocalities: true }
    route: [{ destination: { host: web.example.com } }]
  - retries: { attempts: 3, retryRemoteLocalities: false }
    route: [{ destination: { host: web.example.com } }]`);
    expect(on).toHaveProperty(["route", "retry_policy", "retry_priority"], {
      name: "envoy.retry_priorities.previous_priorities",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig",
        update_frequency: 2,
      },
    });
    // The rest of the policy is as without it: the previous_hosts predicate stays.
    expect(on).toHaveProperty(["route", "retry_policy", "retry_host_predicate", 0, "name"], PREVIOUS_HOSTS);
    expect(off?.["route"]).not.toHaveProperty("retry_policy.retry_priority");
    expect(off).toHaveProperty(["route", "retry_policy", "num_retries"], 3);
  });

  it("disables retries with attempts: 0", () => {
    const [r] = routes(`
  - retries: { attempts: 0 }
    route: [{ destination: { host: web.example.com } }]`);
    expect(r?.["route"]).not.toHaveProperty("retry_policy");
  });
});

describe("faults", () => {
  it("injects delays and aborts by percentage, and turns off retries and the timeout on that route", () => {
    const [r] = routes(`
  - fault:
      delay: { fixedDelay: 2s, percentage: { value: 12.5 } }
      abort: { grpcStatus: UNAVAILABLE, percentage: { value: 0.1 } }
    timeout: 1s
    retries: { attempts: 5 }
    route: [{ destination: { host: web.example.com } }]`);
    expect(r?.["typed_per_filter_config"]).toEqual({
      "envoy.filters.http.fault": {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault",
        delay: { fixed_delay: "2s", percentage: { numerator: 125000, denominator: "MILLION" } },
        abort: { grpc_status: 14, percentage: { numerator: 1000, denominator: "MILLION" } },
      },
    });
    expect(r?.["route"]).toEqual({
      cluster: WEB,
      timeout: "0s",
      max_grpc_timeout: "0s",
    });
  });

  it("injects nothing when no percentage is given (Envoy alone would read that as 100%)", () => {
    const [r] = routes(`
  - fault: { abort: { httpStatus: 503 } }
    route: [{ destination: { host: web.example.com } }]`);
    expect(r).toHaveProperty(
      ["typed_per_filter_config", "envoy.filters.http.fault", "abort", "percentage", "numerator"],
      0,
    );
  });
});

describe("headers, rewrite, redirect, direct response, mirror, CORS", () => {
  it("sets, adds and removes request and response headers, per route and per destination", () => {
    const [r] = routes(`
  - headers:
      request: { set: { x-a: "1" }, add: { x-b: "2" }, remove: [x-c] }
      response: { set: { x-d: "4" }, remove: [server] }
    route:
    - destination: { host: web.example.com }
      headers: { request: { set: { x-dest: v } } }`);
    expect(r).toMatchObject({
      request_headers_to_add: [
        { header: { key: "x-a", value: "1" }, append_action: "OVERWRITE_IF_EXISTS_OR_ADD" },
        { header: { key: "x-b", value: "2" }, append_action: "APPEND_IF_EXISTS_OR_ADD" },
        { header: { key: "x-dest", value: "v" }, append_action: "OVERWRITE_IF_EXISTS_OR_ADD" },
      ],
      request_headers_to_remove: ["x-c"],
      response_headers_to_add: [{ header: { key: "x-d", value: "4" } }],
      response_headers_to_remove: ["server"],
    });
  });

  it("rewrites the uri prefix and the authority", () => {
    const [r] = routes(`
  - match: [{ uri: { prefix: /old } }]
    rewrite: { uri: /new, authority: backend.internal }
    route: [{ destination: { host: web.example.com } }]`);
    expect(r?.["route"]).toMatchObject({ prefix_rewrite: "/new", host_rewrite_literal: "backend.internal" });
  });

  it("redirects and answers directly without a cluster", () => {
    const [redirect, direct] = routes(`
  - match: [{ uri: { exact: /v1 } }]
    redirect: { uri: /v2, authority: new.example.com, redirectCode: 302 }
  - directResponse: { status: 418, body: { string: teapot } }`);
    expect(redirect).toMatchObject({
      redirect: { path_redirect: "/v2", host_redirect: "new.example.com", response_code: "FOUND" },
    });
    expect(redirect).not.toHaveProperty("route");
    expect(direct).toMatchObject({ direct_response: { status: 418, body: { inline_string: "teapot" } } });
  });

  it("mirrors a share of traffic to another destination", () => {
    const [r] = routes(
      `
  - route: [{ destination: { host: web.example.com } }]
    mirror: { host: echo, subset: v2 }
    mirrorPercentage: { value: 25 }`,
      ECHO,
    );
    expect(r?.["route"]).toMatchObject({
      request_mirror_policies: [
        {
          cluster: "outbound|7070|v2|echo",
          runtime_fraction: { default_value: { numerator: 250000, denominator: "MILLION" } },
        },
      ],
    });
  });

  it("carries a CORS policy as the route's cors filter config", () => {
    const [r] = routes(`
  - route: [{ destination: { host: web.example.com } }]
    corsPolicy:
      allowOrigins: [{ exact: "https://a.example.com" }, { regex: "https://.*\\\\.b\\\\.com" }]
      allowMethods: [GET, POST]
      allowHeaders: [x-token]
      exposeHeaders: [x-id]
      maxAge: 24h
      allowCredentials: true`);
    expect(r).toHaveProperty(["typed_per_filter_config", "envoy.filters.http.cors"], {
      "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy",
      allow_origin_string_match: [
        { exact: "https://a.example.com" },
        { safe_regex: { regex: "https://.*\\.b\\.com" } },
      ],
      allow_methods: "GET,POST",
      allow_headers: "x-token",
      expose_headers: "x-id",
      max_age: "86400",
      allow_credentials: true,
    });
  });
});

describe("delegation", () => {
  it("serves a delegate VirtualService's routes under the root route that names it, as Envoy routes", () => {
    const rs = routes(
      `
  - match: [{ uri: { prefix: /api } }]
    delegate: { name: api }
    timeout: 7s
  - route: [{ destination: { host: web.example.com } }]`,
      `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: api }
spec:
  http:
  - match: [{ uri: { prefix: /api/v2 } }]
    route: [{ destination: { host: web.example.com }, headers: { request: { set: { x-api: v2 } } } }]
  - route: [{ destination: { host: web.example.com } }]`,
    );
    expect(rs.map((r) => [r["match"], (r["route"] as JsonObject)["timeout"]])).toEqual([
      [{ prefix: "/api/v2" }, "7s"],
      [{ prefix: "/api" }, "7s"],
      [{ prefix: "/" }, "0s"],
    ]);
  });
});
