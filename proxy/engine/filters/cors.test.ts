// The CORS policy as compiled from Envoy's config, and the filter's decision for one request.
import { compileRouteConfig } from "../config/routes.js";
import { ConfigError } from "../config/read.js";
import type { RequestView, RouteConfig } from "../config/types.js";
import { cors, setCorsHeaders } from "./cors.js";

const FILTER = "envoy.filters.http.cors";
const POLICY = "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy";

function config(routeExtra: Record<string, unknown>, vhostExtra: Record<string, unknown> = {}): RouteConfig {
  const route = { match: { prefix: "/" }, route: { cluster: "c" }, ...routeExtra };
  return compileRouteConfig(
    { name: "r", virtual_hosts: [{ name: "vh", domains: ["*"], routes: [route], ...vhostExtra }] },
    () => true,
  );
}

const perFilter = (policy: Record<string, unknown>) => ({
  typed_per_filter_config: { [FILTER]: { "@type": POLICY, ...policy } },
});

function request(method: string, headers: Record<string, string>): RequestView {
  return { method, path: "/", query: "", header: (n) => headers[n] };
}

function decide(rc: RouteConfig, method: string, headers: Record<string, string>, random = () => 0.5) {
  const vh = rc.virtualHosts[0]!;
  return cors(FILTER, vh.routes[0]!, vh, request(method, headers), random);
}

const preflight = (origin: string, extra: Record<string, string> = {}) => ({
  origin,
  "access-control-request-method": "PUT",
  ...extra,
});

describe("CORS policy", () => {
  const rc = config(
    perFilter({
      allow_origin_string_match: [
        { exact: "https://a.example.com" },
        { suffix: ".B.COM", ignore_case: true },
        { safe_regex: { regex: "https://c[0-9]+\\.example\\.org" } },
      ],
      allow_methods: "GET,PUT",
      allow_headers: "x-token",
      expose_headers: "x-id",
      max_age: "86400",
      allow_credentials: true,
    }),
  );

  it("answers a matching preflight with the allowed methods, headers and max age", () => {
    expect(decide(rc, "OPTIONS", preflight("https://a.example.com"))).toEqual({
      preflight: true,
      headers: [
        "access-control-allow-origin",
        "https://a.example.com",
        "access-control-allow-credentials",
        "true",
        "access-control-allow-methods",
        "GET,PUT",
        "access-control-allow-headers",
        "x-token",
        "access-control-max-age",
        "86400",
      ],
    });
  });

  it("gives an allowed origin's ordinary request the origin, credentials and exposed headers", () => {
    expect(decide(rc, "GET", { origin: "https://x.b.com" })).toEqual({
      preflight: false,
      headers: [
        "access-control-allow-origin",
        "https://x.b.com",
        "access-control-allow-credentials",
        "true",
        "access-control-expose-headers",
        "x-id",
      ],
    });
    expect(decide(rc, "POST", { origin: "https://c42.example.org" })?.headers[1]).toBe("https://c42.example.org");
  });

  it("leaves requests without Origin, and origins that don't match, alone (preflights go upstream)", () => {
    expect(decide(rc, "GET", {})).toBeUndefined();
    expect(decide(rc, "GET", { origin: "" })).toBeUndefined();
    expect(decide(rc, "GET", { origin: "https://evil.com" })).toBeUndefined();
    expect(decide(rc, "OPTIONS", preflight("https://c42.example.org.evil.com"))).toBeUndefined();
    expect(decide(rc, "OPTIONS", preflight("https://A.example.com"))).toBeUndefined(); // exact is case-sensitive
  });

  it("treats OPTIONS without Access-Control-Request-Method as an ordinary request", () => {
    expect(decide(rc, "OPTIONS", { origin: "https://a.example.com" })?.preflight).toBe(false);
  });

  it("answers a non-matching preflight locally, without the origin, when forward_not_matching_preflights is false", () => {
    const strict = config(
      perFilter({
        allow_origin_string_match: [{ exact: "https://a.example.com" }],
        allow_methods: "GET",
        forward_not_matching_preflights: false,
      }),
    );
    expect(decide(strict, "OPTIONS", preflight("https://evil.com"))).toEqual({
      preflight: true,
      headers: ["access-control-allow-methods", "GET"],
    });
  });

  it('allows every origin when a matcher matches "*" (Istio\'s allowOrigin: ["*"])', () => {
    const any = config(perFilter({ allow_origin_string_match: [{ prefix: "" }] }));
    expect(decide(any, "GET", { origin: "https://anything.io" })?.headers).toEqual([
      "access-control-allow-origin",
      "https://anything.io",
    ]);
  });

  it('echoes the requested method and headers for "*", and private network access when asked', () => {
    const star = config(
      perFilter({
        allow_origin_string_match: [{ exact: "https://a.io" }],
        allow_methods: "*",
        allow_headers: "*",
        allow_private_network_access: true,
      }),
    );
    const v = decide(
      star,
      "OPTIONS",
      preflight("https://a.io", {
        "access-control-request-headers": "x-a,x-b",
        "access-control-request-private-network": "true",
      }),
    );
    expect(v?.headers).toEqual([
      "access-control-allow-origin",
      "https://a.io",
      "access-control-allow-methods",
      "PUT",
      "access-control-allow-headers",
      "x-a,x-b",
      "access-control-allow-private-network",
      "true",
    ]);
  });

  it("takes each field from the route's policy, else the virtual host's", () => {
    const both = config(
      perFilter({ allow_methods: "GET" }),
      perFilter({ allow_origin_string_match: [{ exact: "https://a.io" }], allow_methods: "POST", max_age: "60" }),
    );
    expect(decide(both, "OPTIONS", preflight("https://a.io"))?.headers).toEqual([
      "access-control-allow-origin",
      "https://a.io",
      "access-control-allow-methods",
      "GET",
      "access-control-max-age",
      "60",
    ]);
  });

  it("falls back to the route's and virtual host's `cors` fields when no typed_per_filter_config has a policy", () => {
    const legacy = config(
      { route: { cluster: "c", cors: { allow_methods: "DELETE" } } },
      { cors: { allow_origin_string_match: [{ exact: "https://a.io" }] } },
    );
    expect(decide(legacy, "OPTIONS", preflight("https://a.io"))?.headers).toEqual([
      "access-control-allow-origin",
      "https://a.io",
      "access-control-allow-methods",
      "DELETE",
    ]);
    const typedWins = config({
      route: { cluster: "c", cors: { allow_origin_string_match: [{ exact: "https://a.io" }] } },
      ...perFilter({ allow_methods: "GET" }),
    });
    expect(decide(typedWins, "GET", { origin: "https://a.io" })).toBeUndefined();
  });

  it("applies filter_enabled as a percentage (absent: always); shadow mode changes nothing", () => {
    const pct = (n: number) => ({ default_value: { numerator: n, denominator: "HUNDRED" } });
    const half = config(perFilter({ allow_origin_string_match: [{ prefix: "" }], filter_enabled: pct(50) }));
    expect(decide(half, "GET", { origin: "https://a.io" }, () => 0.2)?.preflight).toBe(false);
    expect(decide(half, "GET", { origin: "https://a.io" }, () => 0.7)).toBeUndefined();
    const shadow = config(
      perFilter({ allow_origin_string_match: [{ prefix: "" }], filter_enabled: pct(0), shadow_enabled: pct(100) }),
    );
    expect(decide(shadow, "GET", { origin: "https://a.io" })).toBeUndefined();
  });

  it("rejects an invalid origin regex or a percentage without a default, naming the field", () => {
    expect(() =>
      config(perFilter({ allow_origin_string_match: [{ exact: "x" }, { safe_regex: { regex: "(" } }] })),
    ).toThrow(ConfigError);
    expect(() =>
      config(perFilter({ allow_origin_string_match: [{ exact: "x" }, { safe_regex: { regex: "(" } }] })),
    ).toThrow(
      /typed_per_filter_config\.envoy\.filters\.http\.cors\.allow_origin_string_match\[1\]\.safe_regex\.regex: invalid regex/,
    );
    expect(() => config({}, { cors: { allow_origin_string_match: [{ safe_regex: { regex: "[" } }] } })).toThrow(
      /virtual_hosts\[0\]\.cors\.allow_origin_string_match\[0\]/,
    );
    expect(() => config(perFilter({ filter_enabled: { runtime_key: "k" } }))).toThrow(
      /filter_enabled\.default_value: is required/,
    );
  });

  it("replaces CORS headers the upstream sent", () => {
    const h = ["content-type", "text/plain", "access-control-allow-origin", "*"];
    setCorsHeaders(h, ["access-control-allow-origin", "https://a.io"]);
    expect(h).toEqual(["content-type", "text/plain", "access-control-allow-origin", "https://a.io"]);
  });
});

describe("CORS on a weighted cluster", () => {
  it("takes the weighted cluster's fields first, then the route's, then the virtual host's", () => {
    const rc = compileRouteConfig(
      {
        name: "r",
        virtual_hosts: [
          {
            name: "vh",
            domains: ["*"],
            ...perFilter({ allow_origin_string_match: [{ exact: "https://a.example.com" }], max_age: "60" }),
            routes: [
              {
                match: { prefix: "/" },
                ...perFilter({ allow_methods: "GET", allow_headers: "x-route" }),
                route: {
                  weighted_clusters: {
                    clusters: [{ name: "c", weight: 1, ...perFilter({ allow_methods: "PUT" }) }],
                  },
                },
              },
            ],
          },
        ],
      },
      () => true,
    );
    const vh = rc.virtualHosts[0]!;
    const route = vh.routes[0]!;
    const weighted = route.action.kind === "route" ? route.action.weighted[0] : undefined;
    const v = cors(FILTER, route, vh, request("OPTIONS", preflight("https://a.example.com")), () => 0.5, weighted);
    expect(v?.headers).toEqual([
      "access-control-allow-origin",
      "https://a.example.com",
      "access-control-allow-methods",
      "PUT",
      "access-control-allow-headers",
      "x-route",
      "access-control-max-age",
      "60",
    ]);
  });
});
