// `npm run bench:regex`: what linear-time regex (RE2 semantics, re2js) costs against JavaScript's backtracking
// RegExp on a route table, and what it saves on a ReDoS pattern. Prints figures; asserts nothing.
//
// The table: 50 routes, each a safe_regex path (`/api/v[0-9]+/svcN/[a-z0-9-]+`), every fifth also a cookie header
// regex (Istio's `^(.*?;)?(user=jason)(;.*)?$`), then a catch-all. 2,000 requests spread over every route and a
// miss. Each engine runs the same first-match loop; "engine" is the real router (compile() + matchRoute) on RE2.
// re2-wasm is measured too when it is installed (`npm i --no-save re2-wasm`); it is not a dependency.
import { performance } from "node:perf_hooks";
import { RE2JS } from "re2js";
import { compile } from "../../proxy/engine/config/index.js";
import type { RequestView, RouteConfig } from "../../proxy/engine/config/types.js";
import { matchRoute } from "../../proxy/engine/router/index.js";

const ROUTES = 50;
const COOKIE = "^(.*?;)?(user=jason)(;.*)?$";
const pathRe = (i: number) => `/api/v[0-9]+/svc${i}/[a-z0-9-]+`;

interface Req {
  path: string;
  cookie: string | undefined;
}
const requests: Req[] = Array.from({ length: 2000 }, (_, n) => {
  const i = n % (ROUTES + 1); // ROUTES: a path no regex matches
  const cookie =
    n % 3 === 0 ? "theme=dark; user=jason; lang=en" : n % 3 === 1 ? "theme=light; session=abcdef0123456789" : undefined;
  return { path: i < ROUTES ? `/api/v${n % 4}/svc${i}/item-${n}` : `/static/app-${n}.js`, cookie };
});

type Test = (s: string) => boolean;
interface Table {
  path: Test;
  cookie: Test | undefined;
}
function table(make: (pattern: string) => Test): Table[] {
  return Array.from({ length: ROUTES }, (_, i) => ({
    path: make(pathRe(i)),
    cookie: i % 5 === 0 ? make(COOKIE) : undefined,
  }));
}
function firstMatch(t: Table[], r: Req): number {
  for (let i = 0; i < t.length; i++) {
    const e = t[i]!;
    if (e.path(r.path) && (!e.cookie || (r.cookie !== undefined && e.cookie(r.cookie)))) return i;
  }
  return -1;
}

/** Mean nanoseconds per request over `rounds` passes, after one warm-up pass. */
function measure(run: (r: Req) => unknown, rounds = 20): number {
  for (const r of requests) run(r);
  const t0 = performance.now();
  for (let k = 0; k < rounds; k++) for (const r of requests) run(r);
  return ((performance.now() - t0) * 1e6) / (rounds * requests.length);
}

async function re2wasm(): Promise<((p: string) => Test) | undefined> {
  try {
    const name = "re2-wasm"; // not a dependency: measured only when installed
    const mod = (await import(name)) as { RE2: new (p: string, f: string) => { test(s: string): boolean } };
    return (p) => {
      const re = new mod.RE2(`^(?:${p})$`, "u");
      return (s) => re.test(s);
    };
  } catch {
    return undefined;
  }
}

function engineTable(): RouteConfig {
  const routes = Array.from({ length: ROUTES }, (_, i) => ({
    match: {
      safe_regex: { regex: pathRe(i) },
      headers: i % 5 === 0 ? [{ name: "cookie", safe_regex_match: { regex: COOKIE } }] : [],
    },
    route: { cluster: "c" },
  }));
  const cfg = compile({
    clusters: [{ name: "c", load_assignment: { cluster_name: "c", endpoints: [] } }],
    routes: [{ name: "r", virtual_hosts: [{ name: "vh", domains: ["*"], routes }] }],
  });
  return cfg.routes.get("r") as RouteConfig;
}

async function main(): Promise<void> {
  const regexp = table((p) => {
    const re = new RegExp(`^(?:${p})$`);
    return (s) => re.test(s);
  });
  const re2js = table((p) => {
    const re = RE2JS.compile(p);
    return (s) => re.testExact(s);
  });
  // Same answers from both, or the comparison means nothing.
  for (const r of requests)
    if (firstMatch(regexp, r) !== firstMatch(re2js, r)) throw new Error(`engines disagree on ${r.path}`);

  const vh = engineTable().virtualHosts[0]!;
  const views = new Map(
    requests.map((r) => [
      r,
      {
        method: "GET",
        path: r.path,
        query: "",
        header: (n: string) => (n === "cookie" ? r.cookie : undefined),
      } as RequestView,
    ]),
  );
  const rows: [string, number][] = [
    ["RegExp (backtracking, V8 irregexp)", measure((r) => firstMatch(regexp, r))],
    ["re2js (linear time)", measure((r) => firstMatch(re2js, r))],
    ["engine router on re2js (compile + matchRoute)", measure((r) => matchRoute(vh, views.get(r)!))],
  ];
  const wasm = await re2wasm();
  const wasmTable = wasm && table(wasm);
  if (wasmTable) rows.push(["re2-wasm (Google RE2 in WebAssembly)", measure((r) => firstMatch(wasmTable, r))]);
  else rows.push(["re2-wasm (not installed: npm i --no-save re2-wasm)", NaN]);

  const base = rows[0]![1];
  process.stdout.write(
    `route table: ${ROUTES} regex routes (${ROUTES / 5} with a cookie regex), ${requests.length} requests\n`,
  );
  process.stdout.write(
    `${"engine".padEnd(52)} ${"ns/request".padStart(11)} ${"req/s".padStart(11)} ${"× RegExp".padStart(9)}\n`,
  );
  for (const [name, ns] of rows) {
    const f = Number.isNaN(ns)
      ? ["-", "-", "-"]
      : [ns.toFixed(0), Math.round(1e9 / ns).toLocaleString("en"), (ns / base).toFixed(2)];
    process.stdout.write(`${name.padEnd(52)} ${f[0]!.padStart(11)} ${f[1]!.padStart(11)} ${f[2]!.padStart(9)}\n`);
  }

  // ReDoS: (a+)+$ against a run of a's and one '!'. RegExp doubles its time per character (31 characters took
  // 8.6 s in the issue); it runs here at 22 to stay short. RE2 is linear.
  const evil = (n: number) => `${"a".repeat(n - 1)}!`;
  const time = (f: () => unknown) => {
    const t0 = performance.now();
    f();
    return performance.now() - t0;
  };
  const bad = new RegExp("^(?:(a+)+$)$");
  const good = RE2JS.compile("(a+)+$");
  good.testExact(evil(31));
  process.stdout.write(`\nReDoS (a+)+$:\n`);
  process.stdout.write(
    `  RegExp, 22 characters:   ${time(() => bad.test(evil(22))).toFixed(1)} ms (×2 per extra character)\n`,
  );
  process.stdout.write(`  re2js, 31 characters:    ${time(() => good.testExact(evil(31))).toFixed(3)} ms\n`);
  process.stdout.write(`  re2js, 60 KiB header:    ${time(() => good.testExact(evil(60 * 1024))).toFixed(1)} ms\n`);
}

await main();
