// The RBAC filter's compile and decision, pure: Envoy's semantics for actions, shadow rules and matchers, and a NACK
// naming every field it doesn't implement.
import { Reader } from "../config/read.js";
import { compileRbac, checkRbac } from "./filter.js";
import { Counters } from "../counters.js";
import { Registry } from "../prometheus.js";
import { PLAINTEXT_PEER, type DownstreamPeer } from "../peer.js";
import type { ConnectionInfo } from "../connection.js";
import type { RequestView } from "../config/types.js";
import { cidr, inCidr } from "../../xds/ip.js";

const conn: ConnectionInfo = {
  remoteIp: "::ffff:10.1.2.3",
  remotePort: 40000,
  localIp: "10.0.0.1",
  localPort: 8080,
  sni: "a.example",
};
const view = (path = "/", headers: Record<string, string> = {}, method = "GET"): RequestView => ({
  method,
  path,
  query: "",
  header: (n) => headers[n],
});
const sleep: DownstreamPeer = {
  tls: true,
  principal: "td/ns/default/sa/sleep",
  uriSans: ["spiffe://td/ns/default/sa/sleep"],
  xfcc: () => "",
};

function decide(config: object, v: RequestView | undefined = view(), peer: DownstreamPeer = PLAINTEXT_PEER) {
  const counters = new Counters(new Registry());
  const cfg = compileRbac(new Reader("Listener", "l"), config as Record<string, unknown>, "rbac");
  const ok = checkRbac(cfg, v, conn, peer, counters, "http", "p");
  return { ok, count: (s: string) => counters.get("http", "p", s) };
}

const policy = (permissions: unknown[], principals: unknown[] = [{ any: true }]) => ({
  p: { permissions, principals },
});

describe("RBAC", () => {
  it("ALLOW lets through only what a policy matches; DENY the opposite; LOG everything", () => {
    const rules = (action: string) => ({
      rules: { action, policies: policy([{ url_path: { path: { prefix: "/ok" } } }]) },
    });
    expect(decide(rules("ALLOW"), view("/ok/1")).ok).toBe(true);
    expect(decide(rules("ALLOW"), view("/no")).ok).toBe(false);
    expect(decide(rules("DENY"), view("/ok")).ok).toBe(false);
    expect(decide(rules("DENY"), view("/no")).ok).toBe(true);
    expect(decide(rules("LOG"), view("/ok")).ok).toBe(true);
  });

  it("no rules: nothing enforced, nothing counted; shadow rules are counted, never enforced", () => {
    const d = decide({
      shadow_rules: { policies: policy([{ any: true }]) },
      shadow_rules_stat_prefix: "istio_dry_run_allow_",
    });
    expect(d.ok).toBe(true);
    expect(d.count("rbac.istio_dry_run_allow_shadow_allowed")).toBe(1);
    expect(d.count("rbac.allowed")).toBe(0);
    expect(decide({ rules: { policies: {} } }).count("rbac.denied")).toBe(1);
  });

  it("principals: authenticated URI SANs, the peer's and the request's remote address, headers, not_id", () => {
    const allow = (principals: unknown[]) => ({ rules: { policies: policy([{ any: true }], principals) } });
    const sa = { authenticated: { principal_name: { exact: "spiffe://td/ns/default/sa/sleep" } } };
    expect(decide(allow([sa]), view(), sleep).ok).toBe(true);
    expect(decide(allow([sa])).ok).toBe(false);
    expect(decide(allow([{ authenticated: {} }])).ok).toBe(false);
    expect(decide(allow([{ direct_remote_ip: { address_prefix: "10.1.0.0", prefix_len: 16 } }])).ok).toBe(true);
    expect(decide(allow([{ source_ip: { address_prefix: "10.2.0.0", prefix_len: 16 } }])).ok).toBe(false);
    const remote = allow([{ remote_ip: { address_prefix: "192.168.0.0", prefix_len: 16 } }]);
    // remote_ip is the request's remote address as the connection manager decided it (http/forwarded.ts), else the peer.
    expect(decide(remote, { ...view("/"), remoteIp: "192.168.1.1" }).ok).toBe(true);
    expect(decide(remote, view("/", { "x-forwarded-for": "192.168.1.1" })).ok).toBe(false);
    expect(
      decide(allow([{ not_id: { header: { name: "x-a", present_match: true } } }]), view("/", { "x-a": "1" })).ok,
    ).toBe(false);
  });

  it("permissions: :method and :authority headers, ports, destination IP, SNI, and/or/not", () => {
    const allow = (permissions: unknown[]) => ({ rules: { policies: policy(permissions) } });
    expect(decide(allow([{ header: { name: ":method", string_match: { exact: "GET" } } }])).ok).toBe(true);
    expect(decide(allow([{ destination_port: 8080 }])).ok).toBe(true);
    expect(decide(allow([{ destination_port_range: { start: 1, end: 8080 } }])).ok).toBe(false);
    expect(decide(allow([{ destination_ip: { address_prefix: "10.0.0.0", prefix_len: 24 } }])).ok).toBe(true);
    expect(decide(allow([{ requested_server_name: { suffix: ".example" } }])).ok).toBe(true);
    const both = {
      and_rules: { rules: [{ destination_port: 8080 }, { not_rule: { url_path: { path: { exact: "/" } } } }] },
    };
    expect(decide(allow([both])).ok).toBe(false);
    expect(decide(allow([{ or_rules: { rules: [{ destination_port: 1 }, { destination_port: 8080 }] } }])).ok).toBe(
      true,
    );
  });

  it("network RBAC (no request): header rules match nothing", () => {
    const cfg = { rules: { policies: policy([{ header: { name: "x", present_match: true } }]) } };
    expect(decide(cfg, undefined).ok).toBe(false);
  });

  it.each([
    [
      { rules: { policies: policy([{ metadata: {} }]) } },
      "rbac.rules.policies.p.permissions[0].metadata: not supported",
    ],
    [
      { rules: { policies: policy([{ any: true }], [{ filter_state: {} }]) } },
      "principals[0].filter_state: not supported",
    ],
    [
      { rules: { policies: { p: { permissions: [{ any: true }], principals: [{ any: true }], condition: {} } } } },
      "policies.p.condition: not supported",
    ],
    [{ matcher: {} }, "rbac.matcher: not supported"],
    [{ rules: { action: "MAYBE" } }, "rbac.rules.action: unknown value"],
    [
      { rules: { policies: { p: { permissions: [], principals: [{ any: true }] } } } },
      "permissions: at least one permission",
    ],
    [
      { rules: { policies: policy([{ destination_ip: { address_prefix: "10.0.0.300", prefix_len: 8 } }]) } },
      "invalid address",
    ],
    [{ rules: { policies: policy([{ any: true, destination_port: 1 }]) } }, "exactly one rule expected"],
    [{ rules: { policies: policy([{ url_path: { path: { safe_regex: { regex: "(a" } } } }]) } }, "invalid regex"],
  ])("NACKs %j", (config, message) => {
    expect(() => decide(config)).toThrow(message);
  });
});

describe("RBAC principals on dynamic metadata (jwt_authn's payload)", () => {
  const JWT = "envoy.filters.http.jwt_authn";
  const withPayload = (payload: Record<string, unknown>): RequestView => ({
    ...view(),
    metadata: new Map([[JWT, { payload }]]),
  });
  const allowIf = (path: string[], value: unknown, invert = false) => ({
    rules: {
      policies: policy(
        [{ any: true }],
        [{ metadata: { filter: JWT, path: path.map((key) => ({ key })), value, invert } }],
      ),
    },
  });
  const admins = { string_match: { exact: "admins" } };
  const listOrValue = { or_match: { value_matchers: [{ list_match: { one_of: admins } }, admins] } };

  it("matches a claim that is the value or a list holding it (Istio's claims matcher), nested too", () => {
    expect(decide(allowIf(["payload", "groups"], listOrValue), withPayload({ groups: ["a", "admins"] })).ok).toBe(true);
    expect(decide(allowIf(["payload", "groups"], listOrValue), withPayload({ groups: "admins" })).ok).toBe(true);
    expect(decide(allowIf(["payload", "groups"], listOrValue), withPayload({ groups: ["a"] })).ok).toBe(false);
    expect(decide(allowIf(["payload", "org", "team"], admins), withPayload({ org: { team: "admins" } })).ok).toBe(true);
  });

  it("finds nothing without metadata, or through a prototype's name; invert and present_match as Envoy's", () => {
    expect(decide(allowIf(["payload", "groups"], listOrValue), view()).ok).toBe(false);
    const proto = { string_match: { safe_regex: { regex: ".*" } } };
    expect(decide(allowIf(["payload", "__proto__"], { present_match: true }), withPayload({})).ok).toBe(false);
    expect(decide(allowIf(["payload", "constructor", "name"], proto), withPayload({})).ok).toBe(false);
    expect(decide(allowIf(["payload", "sub"], { present_match: true }), withPayload({ sub: "x" })).ok).toBe(true);
    expect(decide(allowIf(["payload", "sub"], { present_match: true }, true), view()).ok).toBe(true);
    expect(
      decide(allowIf(["payload", "n"], { double_match: { range: { start: 1, end: 3 } } }), withPayload({ n: 2 })).ok,
    ).toBe(true);
  });

  it("NACKs a value matcher it doesn't implement, naming it", () => {
    expect(() => decide(allowIf(["payload"], { list_match: {} }))).toThrow(/list_match.one_of: is required/);
    expect(() => decide(allowIf(["payload"], { regex_match: "x" }))).toThrow(/value.regex_match: not supported/);
  });
});

describe("CIDR", () => {
  it.each([
    ["10.0.0.0", 8, "10.255.1.1", true],
    ["10.0.0.0", 8, "11.0.0.1", false],
    ["10.0.0.0", 8, "::ffff:10.9.9.9", true],
    ["2001:db8::", 32, "2001:db8:1::1", true],
    ["2001:db8::", 32, "2001:db9::1", false],
    ["::1", 128, "::1", true],
    ["0.0.0.0", 0, "1.2.3.4", true],
    ["1.2.3.4", 32, "1.2.3.04", false],
    // A range is of the family it is written in (Envoy's CidrRange): an IPv4-mapped one is IPv6, and an IPv4 client
    // (mapped or not: Envoy makes a mapped peer IPv4 on accept) is never in it.
    ["::ffff:0:0", 96, "::ffff:10.9.9.9", false],
    ["::ffff:10.0.0.0", 104, "10.9.9.9", false],
    ["::ffff:10.0.0.0", 8, "10.9.9.9", false],
    ["::ffff:10.0.0.0", 8, "::1", true],
  ] as const)("%s/%d contains %s: %s", (address, len, ip, expected) => {
    const range = cidr(address, len);
    if (typeof range === "string") throw new Error(range);
    expect(inCidr(range, ip)).toBe(expected);
  });
});
