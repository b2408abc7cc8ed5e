// Config-driven header injection: a CR, LF or NUL in any string the engine writes into a header (or the request
// line) is a NACK naming the field, never a Set-Cookie in a response or a second request upstream.
import { compile, ConfigError } from "./index.js";

const clusters = [{ name: "a", load_assignment: { cluster_name: "a", endpoints: [] } }];
const routes = (rs: unknown[], vh: Record<string, unknown> = {}, rc: Record<string, unknown> = {}) => ({
  clusters,
  routes: [{ name: "r1", virtual_hosts: [{ name: "vh", domains: ["*"], routes: rs, ...vh }], ...rc }],
});
const fwd = (extra: Record<string, unknown> = {}, route: Record<string, unknown> = {}) => ({
  match: { prefix: "/" },
  route: { cluster: "a", ...route },
  ...extra,
});
const add = (key: string, value: string) => [{ header: { key, value } }];
const INJECT = "1\r\nSet-Cookie: session=evil";

function reject(res: Parameters<typeof compile>[0]): string {
  try {
    compile(res);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("expected the config to be rejected");
}

describe("header values from config", () => {
  it.each([
    [
      "response_headers_to_add on a route",
      routes([fwd({ response_headers_to_add: add("x-a", INJECT) })]),
      "virtual_hosts[0].routes[0].response_headers_to_add[0].header.value",
      "CR, LF",
    ],
    [
      "request_headers_to_add on a virtual host",
      routes([fwd()], { request_headers_to_add: add("x-a", "a\nGET /admin HTTP/1.1") }),
      "virtual_hosts[0].request_headers_to_add[0].header.value",
      "LF",
    ],
    [
      "response_headers_to_add on the route config",
      routes([fwd()], {}, { response_headers_to_add: add("x-a", "a\u0000b") }),
      "response_headers_to_add[0].header.value",
      "NUL",
    ],
    [
      "a bare CR",
      routes([fwd({ request_headers_to_add: add("x-a", "a\rb") })]),
      "virtual_hosts[0].routes[0].request_headers_to_add[0].header.value",
      "CR",
    ],
    [
      "a header name",
      routes([fwd({ response_headers_to_add: add("x-a\r\nx-b", "1") })]),
      "virtual_hosts[0].routes[0].response_headers_to_add[0].header.key",
      "valid header name",
    ],
    [
      "a name to remove",
      routes([fwd({ response_headers_to_remove: ["ok", "bad name"] })]),
      "virtual_hosts[0].routes[0].response_headers_to_remove[1]",
      "valid header name",
    ],
    [
      "host_rewrite_literal",
      routes([fwd({}, { host_rewrite_literal: "a\r\nx: y" })]),
      "virtual_hosts[0].routes[0].route.host_rewrite_literal",
      "CR, LF",
    ],
    [
      "prefix_rewrite",
      routes([fwd({}, { prefix_rewrite: "/x HTTP/1.1\r\n\r\nGET /admin" })]),
      "virtual_hosts[0].routes[0].route.prefix_rewrite",
      "CR, LF",
    ],
    [
      "a regex_rewrite substitution",
      routes([fwd({}, { regex_rewrite: { pattern: { regex: "/" }, substitution: "/\n" } })]),
      "virtual_hosts[0].routes[0].route.regex_rewrite.substitution",
      "LF",
    ],
    [
      "a redirect host",
      routes([{ match: { prefix: "/" }, redirect: { host_redirect: "a\r\nSet-Cookie: x" } }]),
      "virtual_hosts[0].routes[0].redirect.host_redirect",
      "CR, LF",
    ],
    [
      "a redirect path",
      routes([{ match: { prefix: "/" }, redirect: { path_redirect: "/a\nb" } }]),
      "virtual_hosts[0].routes[0].redirect.path_redirect",
      "LF",
    ],
    [
      "a direct response's headers",
      routes([
        { match: { prefix: "/" }, direct_response: { status: 200 }, response_headers_to_add: add("x-a", INJECT) },
      ]),
      "virtual_hosts[0].routes[0].response_headers_to_add[0].header.value",
      "CR, LF",
    ],
    [
      "CORS expose_headers",
      routes([fwd()], {
        cors: { allow_origin_string_match: [{ exact: "https://a" }], expose_headers: "x-a\r\nSet-Cookie: s" },
      }),
      "virtual_hosts[0].cors.expose_headers",
      "CR, LF",
    ],
    [
      "CORS allow_methods",
      routes([fwd()], { cors: { allow_origin_string_match: [{ exact: "https://a" }], allow_methods: "GET\n" } }),
      "virtual_hosts[0].cors.allow_methods",
      "LF",
    ],
  ])("a CR/LF/NUL in %s is NACKed, naming the field", (_what, res, field, found) => {
    const msg = reject(res);
    expect(msg.startsWith(`RouteConfiguration "r1": ${field}: `)).toBe(true);
    expect(msg).toContain(found);
  });

  it("a health check's path and host are checked too", () => {
    const c = {
      ...clusters[0],
      health_checks: [
        {
          timeout: "1s",
          interval: "1s",
          unhealthy_threshold: 1,
          healthy_threshold: 1,
          http_health_check: { path: "/h\r\nX: y" },
        },
      ],
    };
    expect(reject({ clusters: [c] })).toMatch(
      /^Cluster "a": health_checks\[0\]\.http_health_check\.path: .*contains CR, LF/,
    );
  });

  it("tabs and ordinary text still pass", () => {
    expect(() => compile(routes([fwd({ response_headers_to_add: add("x-a", 'a\tb; c="d"') })]))).not.toThrow();
  });
});
