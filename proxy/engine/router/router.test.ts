import { compile } from "../config/index.js";
import type { RequestView, RouteConfig } from "../config/types.js";
import { applyEdits, matchRoute, pickCluster, redirectLocation, rewritePath, selectVirtualHost } from "./index.js";
import { requestHash } from "./hash.js";

const clusters = ["a", "b", "c"].map((name) => ({ name, load_assignment: { cluster_name: name, endpoints: [] } }));

function rc(virtual_hosts: unknown[]): RouteConfig {
  const cfg = compile({ clusters, routes: [{ name: "r", virtual_hosts }] });
  return cfg.routes.get("r") as RouteConfig;
}

function req(path: string, headers: Record<string, string> = {}, method = "GET"): RequestView {
  const q = path.indexOf("?");
  return {
    method,
    path: q < 0 ? path : path.slice(0, q),
    query: q < 0 ? "" : path.slice(q + 1),
    header: (n) => headers[n],
  };
}

const to = (cluster: string, match: unknown) => ({ name: cluster, match, route: { cluster } });

describe("virtual host selection", () => {
  const config = rc([
    { name: "exact", domains: ["api.foo.com", "reviews:9080"], routes: [] },
    { name: "suffix-long", domains: ["*.api.foo.com"], routes: [] },
    { name: "suffix", domains: ["*.foo.com"], routes: [] },
    { name: "prefix", domains: ["foo.*"], routes: [] },
    { name: "any", domains: ["*"], routes: [] },
  ]);
  it.each([
    ["api.foo.com", "exact"],
    ["API.Foo.com", "exact"],
    ["reviews:9080", "exact"],
    ["v1.api.foo.com", "suffix-long"],
    ["bar.foo.com", "suffix"],
    ["foo.org", "prefix"],
    ["foo.com", "prefix"],
    ["api.foo.com:8080", "any"],
    ["other", "any"],
  ])("%s → %s", (host, name) => {
    expect(selectVirtualHost(config, host)?.name).toBe(name);
  });
  it("strips the port when told to, as Envoy's strip_any_host_port and strip_matching_host_port do", () => {
    expect(selectVirtualHost(config, "api.foo.com:8080", { stripAnyPort: true })?.name).toBe("exact");
    expect(selectVirtualHost(config, "api.foo.com:8080", { stripPort: 8080 })?.name).toBe("exact");
    expect(selectVirtualHost(config, "api.foo.com:8081", { stripPort: 8080 })?.name).toBe("any");
  });
});

describe("route matching", () => {
  const vh = rc([
    {
      name: "vh",
      domains: ["*"],
      routes: [
        to("a", { prefix: "/", headers: [{ name: "end-user", string_match: { exact: "jason" } }] }),
        to("b", { path: "/exact" }),
        to("c", { safe_regex: { regex: "/items/[0-9]+" } }),
        to("a", { prefix: "/m", headers: [{ name: ":method", string_match: { exact: "POST" } }] }),
        to("b", { prefix: "/q", query_parameters: [{ name: "v", string_match: { prefix: "2" } }] }),
        to("c", {
          prefix: "/h",
          headers: [
            { name: "x-canary", present_match: true },
            { name: "x-block", string_match: { contains: "yes" }, invert_match: true },
          ],
        }),
        to("a", {
          prefix: "/s",
          headers: [
            { name: "ua", string_match: { suffix: "bot", ignore_case: true } },
            { name: "v", safe_regex_match: { regex: "v[12]" } },
          ],
        }),
        { name: "fallback", match: { prefix: "/" }, direct_response: { status: 404 } },
      ],
    },
  ]).virtualHosts[0]!;
  const name = (r: RequestView) => matchRoute(vh, r)?.name;
  it("the first match wins", () => {
    expect(name(req("/exact", { "end-user": "jason" }))).toBe("a");
    expect(name(req("/exact"))).toBe("b");
    expect(name(req("/exact/more"))).toBe("fallback");
  });
  it("safe_regex matches the whole path, without the query", () => {
    expect(name(req("/items/42?x=1"))).toBe("c");
    expect(name(req("/items/42x"))).toBe("fallback");
  });
  it("matches the method through the :method header", () => {
    expect(name(req("/m", {}, "POST"))).toBe("a");
    expect(name(req("/m", {}, "GET"))).toBe("fallback");
  });
  it("matches query parameters", () => {
    expect(name(req("/q?a=1&v=21"))).toBe("b");
    expect(name(req("/q?v=1"))).toBe("fallback");
  });
  it("matches presence and inverted matches", () => {
    expect(name(req("/h", { "x-canary": "" }))).toBe("c");
    expect(name(req("/h", { "x-canary": "1", "x-block": "yes" }))).toBe("fallback");
    expect(name(req("/h"))).toBe("fallback");
  });
  it("matches suffix (ignoring case) and regex header values", () => {
    expect(name(req("/s", { ua: "GoogleBOT", v: "v2" }))).toBe("a");
    expect(name(req("/s", { ua: "GoogleBOT", v: "v3" }))).toBe("fallback");
  });
});

describe("actions", () => {
  it("splits weighted clusters by the injected random source", () => {
    const r = rc([
      {
        name: "vh",
        domains: ["*"],
        routes: [
          {
            match: { prefix: "/" },
            route: {
              weighted_clusters: {
                clusters: [
                  { name: "a", weight: 25 },
                  { name: "b", weight: 0 },
                  { name: "c", weight: 75 },
                ],
              },
            },
          },
        ],
      },
    ]);
    const action = r.virtualHosts[0]!.routes[0]!.action;
    if (action.kind !== "route") throw new Error("route expected");
    expect(pickCluster(action, () => 0).name).toBe("a");
    expect(pickCluster(action, () => 0.2499).name).toBe("a");
    expect(pickCluster(action, () => 0.25).name).toBe("c");
    expect(pickCluster(action, () => 0.9999).name).toBe("c");
    const counts: Record<string, number> = {};
    for (let i = 0; i < 1000; i++) {
      const n = pickCluster(action, () => i / 1000).name;
      counts[n] = (counts[n] ?? 0) + 1;
    }
    expect(counts).toEqual({ a: 250, c: 750 });
  });

  it("rewrites the prefix and keeps the query", () => {
    const r = rc([
      {
        name: "vh",
        domains: ["*"],
        routes: [{ match: { prefix: "/api/" }, route: { cluster: "a", prefix_rewrite: "/v2/" } }],
      },
    ]);
    const route = r.virtualHosts[0]!.routes[0]!;
    if (route.action.kind !== "route") throw new Error("route expected");
    expect(rewritePath(route.action, route, "/api/users", "x=1")).toBe("/v2/users?x=1");
  });

  it.each([
    // Envoy's RegexMatchAndSubstitute examples: RE2 semantics, \N substitutions, every match replaced.
    ["^/service/([^/]+)(/.*)$", "\\2/instance/\\1", "/service/foo/v1/api", "/v1/api/instance/foo"],
    ["one", "two", "/xxx/one/yyy/one/zzz", "/xxx/two/yyy/two/zzz"],
    ["^(.*?)one(.*)$", "\\1two\\2", "/xxx/one/yyy/one/zzz", "/xxx/two/yyy/one/zzz"],
    ["(?i)/xxx/", "/yyy/", "/aaa/XxX/bbb", "/aaa/yyy/bbb"],
    ["/(v[0-9])?/", "[\\1|\\0|\\\\|$1]", "/a//b/v2/", "/a[|//|\\|$1]b[v2|/v2/|\\|$1]"],
  ])("regex_rewrite %s → %s turns %s into %s", (regex, substitution, path, want) => {
    const r = rc([
      {
        name: "vh",
        domains: ["*"],
        routes: [
          { match: { prefix: "/" }, route: { cluster: "a", regex_rewrite: { pattern: { regex }, substitution } } },
        ],
      },
    ]);
    const route = r.virtualHosts[0]!.routes[0]!;
    if (route.action.kind !== "route") throw new Error("route expected");
    expect(rewritePath(route.action, route, path, "q=1")).toBe(`${want}?q=1`);
  });

  it("builds redirect locations", () => {
    const r = rc([
      {
        name: "vh",
        domains: ["*"],
        routes: [
          {
            match: { prefix: "/old" },
            redirect: { https_redirect: true, prefix_rewrite: "/new", response_code: "PERMANENT_REDIRECT" },
          },
        ],
      },
    ]);
    const route = r.virtualHosts[0]!.routes[0]!;
    if (route.action.kind !== "redirect") throw new Error("redirect expected");
    expect(route.action.code).toBe(308);
    expect(redirectLocation(route.action, route, "http", "foo.com:80", "/old/x", "a=1")).toBe(
      "https://foo.com/new/x?a=1",
    );
  });

  it("builds redirect authorities as Envoy does: host_redirect drops the request's port, port_redirect replaces it", () => {
    const loc = (redirect: object, host: string) => {
      const route = rc([{ name: "vh", domains: ["*"], routes: [{ match: { prefix: "/" }, redirect }] }])
        .virtualHosts[0]!.routes[0]!;
      if (route.action.kind !== "redirect") throw new Error("redirect expected");
      return redirectLocation(route.action, route, "http", host, "/p", "");
    };
    expect(loc({ host_redirect: "new.example.com" }, "old.example.com:8080")).toBe("http://new.example.com/p");
    expect(loc({ host_redirect: "new.example.com", port_redirect: 9090 }, "old.example.com:8080")).toBe(
      "http://new.example.com:9090/p",
    );
    expect(loc({ port_redirect: 9090 }, "old.example.com:8080")).toBe("http://old.example.com:9090/p");
    expect(loc({ path_redirect: "/q" }, "old.example.com:8080")).toBe("http://old.example.com:8080/q");
    expect(loc({ https_redirect: true }, "old.example.com:8080")).toBe("https://old.example.com:8080/p");
    expect(loc({ scheme_redirect: "https" }, "old.example.com:80")).toBe("https://old.example.com/p");
  });

  it("applies header edits most specific first, honouring append actions", () => {
    const r = rc([
      {
        name: "vh",
        domains: ["*"],
        request_headers_to_add: [
          { header: { key: "x-vh", value: "1" } },
          { header: { key: "x-route", value: "vh" }, append_action: "ADD_IF_ABSENT" },
        ],
        routes: [
          {
            match: { prefix: "/" },
            route: { cluster: "a" },
            request_headers_to_add: [{ header: { key: "X-Route", value: "r" }, append: false }],
            request_headers_to_remove: ["x-secret"],
          },
        ],
      },
    ]);
    const vh = r.virtualHosts[0]!;
    const headers = ["x-route", "old", "x-secret", "s", "x-vh", "0"];
    applyEdits(headers, "request", [vh.routes[0]!.edits, vh.edits, r.edits]);
    expect(headers).toEqual(["x-vh", "0", "x-route", "r", "x-vh", "1"]);
  });

  it("hashes on a header or a cookie, the same key to the same hash", () => {
    const pol = [{ kind: "cookie" as const, name: "user", terminal: false, ttlSeconds: undefined, path: "" }];
    const h1 = requestHash(pol, req("/", { cookie: "a=1; user=bob" }), "");
    expect(h1).toBe(requestHash(pol, req("/", { cookie: "user=bob" }), ""));
    expect(h1).not.toBe(requestHash(pol, req("/", { cookie: "user=alice" }), ""));
    expect(requestHash(pol, req("/"), "")).toBeUndefined();
  });
});
