// Open-loop HTTP load for tests that must count failed requests while something else happens (hot restarts), run
// as its own process so the test process stays responsive. Optionally serves the backend the load ends at.
//   node dist/hack/load.js --rate 300 --host echo:9080 [--backend 127.0.0.1:9080] URL...
// Every second it prints {"ok","failed","errors"} as one JSON line on stdout; on SIGTERM it stops sending, waits for
// what is in flight, prints the final line with "done": true, and exits. Half the requests reuse keep-alive
// connections, half open a new connection each.
import { Agent, createServer, request } from "node:http";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  options: { rate: { type: "string" }, host: { type: "string" }, backend: { type: "string" } },
  allowPositionals: true,
});
const rate = Number(values.rate ?? 100);
// FIFO, so every pooled connection stays in use: with Node's default LIFO, most of the pool sits idle, and a draining
// proxy closing an idle keep-alive connection races the client picking it (HTTP/1.1 has no race-free way out of
// that; clients that retry a request on a reused connection hide it, Node's http client doesn't).
const keepAlive = new Agent({ keepAlive: true, maxSockets: 16, scheduling: "fifo" });
let ok = 0;
let failed = 0;
const errors = new Map<string, number>();
const started = Date.now();
const inflight = new Set<Promise<void>>();

if (values.backend) {
  const [host, port] = [
    values.backend.slice(0, values.backend.lastIndexOf(":")),
    Number(values.backend.slice(values.backend.lastIndexOf(":") + 1)),
  ];
  createServer((_req, res) => res.end("ok")).listen({ host, port });
}

/** Counts a failure; the first of each kind is printed, with the start of its body (a proxy's local reply says why). */
function fail(target: string, why: string, body = ""): void {
  failed++;
  const key = `${target}: ${why}`;
  if (!errors.has(key))
    process.stderr.write(
      `load: first "${key}" at ${Date.now() - started} ms${body ? `: ${JSON.stringify(body.slice(0, 200))}` : ""}\n`,
    );
  errors.set(key, (errors.get(key) ?? 0) + 1);
}

function hit(target: string, n: number): Promise<void> {
  return new Promise((resolve) => {
    const url = new URL(target);
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        headers: values.host ? { host: values.host } : {},
        agent: n % 2 ? keepAlive : false,
      },
      (res) => {
        let body = "";
        if (res.statusCode === 200) res.resume();
        else res.setEncoding("utf8").on("data", (c: string) => (body += body.length < 200 ? c : ""));
        res.on("end", () => {
          if (res.statusCode === 200) ok++;
          else
            fail(target, `status ${res.statusCode}`, `${res.headers["x-envoy-response-flags"] ?? ""} ${body}`.trim());
          resolve();
        });
      },
    );
    req.on("error", (err) => {
      fail(target, err.message);
      resolve();
    });
    req.end();
  });
}

const print = (done = false) =>
  process.stdout.write(
    JSON.stringify({ ok, failed, errors: Object.fromEntries(errors), ...(done ? { done } : {}) }) + "\n",
  );
let sent = 0;
const tick = setInterval(() => {
  const due = Math.floor(((Date.now() - started) * rate) / 1000);
  while (sent < due) {
    const n = sent++;
    for (const target of positionals) {
      const p = hit(target, n);
      inflight.add(p);
      void p.then(() => inflight.delete(p));
    }
  }
}, 5);
const report = setInterval(() => print(), 1000);
process.once("SIGTERM", () => {
  clearInterval(tick);
  clearInterval(report);
  void Promise.all([...inflight]).then(() => {
    print(true);
    process.exit(0);
  });
});
