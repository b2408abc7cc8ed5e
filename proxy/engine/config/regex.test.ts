// Every regex from config goes through RE2 (xds/regex.ts): linear-time matching, and RE2's syntax at config time,
// with the field named in the NACK.
import { compile, ConfigError } from "./index.js";
import { matchRoute } from "../router/index.js";
import type { RequestView, RouteConfig } from "./types.js";

const clusters = [{ name: "a", load_assignment: { cluster_name: "a", endpoints: [] } }];
const routes = (rs: unknown[], vh: Record<string, unknown> = {}) => ({
  clusters,
  routes: [{ name: "r1", virtual_hosts: [{ name: "vh", domains: ["*"], routes: rs, ...vh }] }],
});

function reject(res: Parameters<typeof compile>[0]): string {
  try {
    compile(res);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("expected the config to be rejected");
}

const LOOKAHEAD = "(?=a)b";
const BACKREF = "(a)\\1";

describe("regexes from config", () => {
  it.each([
    [
      "route safe_regex",
      routes([{ match: { safe_regex: { regex: LOOKAHEAD } }, route: { cluster: "a" } }]),
      "virtual_hosts[0].routes[0].match.safe_regex.regex",
    ],
    [
      "header safe_regex_match",
      routes([
        {
          match: { prefix: "/", headers: [{ name: "x", safe_regex_match: { regex: BACKREF } }] },
          route: { cluster: "a" },
        },
      ]),
      "virtual_hosts[0].routes[0].match.headers[0].safe_regex_match.regex",
    ],
    [
      "header string_match",
      routes([
        {
          match: { prefix: "/", headers: [{ name: "x", string_match: { safe_regex: { regex: "(?<!a)b" } } }] },
          route: { cluster: "a" },
        },
      ]),
      "virtual_hosts[0].routes[0].match.headers[0].string_match.safe_regex.regex",
    ],
    [
      "query parameter",
      routes([
        {
          match: { prefix: "/", query_parameters: [{ name: "q", string_match: { safe_regex: { regex: LOOKAHEAD } } }] },
          route: { cluster: "a" },
        },
      ]),
      "virtual_hosts[0].routes[0].match.query_parameters[0].string_match.safe_regex.regex",
    ],
    [
      "CORS origin",
      routes([{ match: { prefix: "/" }, route: { cluster: "a" } }], {
        cors: { allow_origin_string_match: [{ safe_regex: { regex: LOOKAHEAD } }] },
      }),
      "virtual_hosts[0].cors.allow_origin_string_match[0].safe_regex.regex",
    ],
    [
      "regex_rewrite pattern",
      routes([
        {
          match: { prefix: "/" },
          route: { cluster: "a", regex_rewrite: { pattern: { regex: BACKREF }, substitution: "x" } },
        },
      ]),
      "virtual_hosts[0].routes[0].route.regex_rewrite.pattern.regex",
    ],
  ])("a lookaround or backreference in a %s is NACKed, naming the field", (_what, res, field) => {
    const msg = reject(res);
    expect(msg.startsWith(`RouteConfiguration "r1": ${field}: invalid regex: `)).toBe(true);
    expect(msg).toMatch(/lookaround or backreferences, which RE2 does not support/);
  });

  it("RE2 syntax, not JavaScript's: what RE2 rejects is NACKed with RE2's reason", () => {
    expect(reject(routes([{ match: { safe_regex: { regex: "a{1001}" } }, route: { cluster: "a" } }]))).toMatch(
      /safe_regex\.regex: invalid regex: "a\{1001\}" is not a valid regex: .*invalid repeat count/,
    );
    // RE2-only syntax that JavaScript's RegExp would refuse compiles: named groups (?P<n>), \pL, (?i).
    expect(() =>
      compile(routes([{ match: { safe_regex: { regex: "/(?P<id>\\pL+)/(?i)x" } }, route: { cluster: "a" } }])),
    ).not.toThrow();
  });

  it.each([
    ["\\2", /uses \\2, but the pattern has 1 capturing group/],
    ["\\x", /invalid escape "\\x"/],
    ["end\\", /invalid escape "\\"/],
  ])("a regex_rewrite substitution %s the pattern can't fill is NACKed, naming the field", (substitution, why) => {
    const msg = reject(
      routes([
        {
          match: { prefix: "/" },
          route: { cluster: "a", regex_rewrite: { pattern: { regex: "/(x)" }, substitution } },
        },
      ]),
    );
    expect(msg).toMatch(
      /^RouteConfiguration "r1": virtual_hosts\[0\]\.routes\[0\]\.route\.regex_rewrite\.substitution: /,
    );
    expect(msg).toMatch(why);
  });

  it("matches the ReDoS pattern (a+)+$ against a 31-character header in well under 1 ms", () => {
    // Backtracking RegExp takes seconds on this (8.6 s in the probe); RE2 is linear in the input.
    const cfg = compile(
      routes([
        {
          match: { prefix: "/", headers: [{ name: "x-evil", safe_regex_match: { regex: "(a+)+$" } }] },
          route: { cluster: "a" },
        },
      ]),
    );
    const rc = cfg.routes.get("r1") as RouteConfig;
    const evil = `${"a".repeat(30)}!`;
    const req: RequestView = {
      method: "GET",
      path: "/",
      query: "",
      header: (n) => (n === "x-evil" ? evil : undefined),
    };
    const good: RequestView = { ...req, header: (n) => (n === "x-evil" ? "a".repeat(31) : undefined) };
    expect(matchRoute(rc.virtualHosts[0]!, good)).toBeDefined();
    // The best of 20 runs, so a loaded machine's pauses don't count; each run is one full route match.
    let best = Infinity;
    for (let i = 0; i < 20; i++) {
      const t0 = process.hrtime.bigint();
      const m = matchRoute(rc.virtualHosts[0]!, req);
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
      expect(m).toBeUndefined();
    }
    expect(best).toBeLessThan(1);
  });
});
