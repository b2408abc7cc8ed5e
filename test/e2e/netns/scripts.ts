// The small programs the interception test runs inside its namespaces (written to .mjs files): the peer's servers,
// the pod's app, and clients that print what they got as JSON. Each is bounded in time.
export const PEER_SERVERS = `
import http from "node:http";
import net from "node:net";
import tls from "node:tls";
import { readFileSync } from "node:fs";
const [ip, certFile, keyFile] = process.argv.slice(2);
http.createServer((req, res) => res.end(JSON.stringify({ server: "reviews", host: req.headers.host, from: req.socket.remoteAddress }))).listen(9080, ip);
net.createServer((s) => s.once("data", (d) => s.end("echo:" + d))).listen(7000, ip);
// An external TLS host: answers with the server name it was asked for.
tls.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (s) => s.end("tls:" + s.servername)).listen(8443, ip);
net.createServer((s) => s.once("data", (d) => s.end("direct:" + d))).listen(7001, ip, () => console.log("listening"));
`;

export const POD_APP = `
import http from "node:http";
http.createServer((req, res) => res.end("app saw " + req.headers.host)).listen(9080, "127.0.0.1", () => console.log("listening"));
`;

export const CLIENT = `
import http from "node:http";
import net from "node:net";
import tls from "node:tls";
import { readFileSync } from "node:fs";
const deadline = (p, what) => Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(what + ": timed out")), 10000).unref())]);
const get = (host, port, path, hostHeader) => deadline(new Promise((resolve, reject) => {
  http.get({ host, port, path, headers: hostHeader ? { host: hostHeader } : {}, agent: false }, (res) => {
    let body = ""; res.on("data", (c) => (body += c)); res.on("end", () => resolve({ status: res.statusCode, body }));
  }).on("error", reject);
}), host + ":" + port);
const tlsGet = (host, port, servername, ca, anyName) => deadline(new Promise((resolve, reject) => {
  const s = tls.connect({ host, port, servername, ca: readFileSync(ca), ...(anyName ? { checkServerIdentity: () => undefined } : {}) });
  let got = ""; s.on("data", (d) => (got += d)); s.on("close", () => resolve(got)); s.on("error", reject);
}), host + ":" + port + " " + servername);
const tcp = (host, port, text) => deadline(new Promise((resolve, reject) => {
  const s = net.connect(port, host, () => s.write(text));
  let got = ""; s.on("data", (d) => (got += d)); s.on("close", () => resolve(got)); s.on("error", reject);
}), host + ":" + port);
const settle = (p) => p.then((v) => ({ ok: v }), (e) => ({ error: e.message }));
const plan = JSON.parse(process.argv[2]);
const out = {};
for (const [name, step] of Object.entries(plan)) {
  const t0 = Date.now();
  out[name] = await settle(step.kind === "http" ? get(step.host, step.port, step.path ?? "/", step.hostHeader) : step.kind === "tls" ? tlsGet(step.host, step.port, step.servername, step.ca, step.anyName) : tcp(step.host, step.port, step.text));
  if (process.env.WEFT_DEBUG) console.error(name, Date.now() - t0, "ms");
}
console.log(JSON.stringify(out));
`;

/** Polls a URL in the namespace until it answers 200, or fails after the deadline. */
export const WAIT_READY = `
import http from "node:http";
const [url, ms] = process.argv.slice(2);
const until = Date.now() + Number(ms);
let last = "";
for (;;) {
  const r = await new Promise((resolve) => http.get(url, { agent: false }, (res) => { let b = ""; res.on("data", (c) => (b += c)); res.on("end", () => resolve({ s: res.statusCode, b })); }).on("error", (e) => resolve({ s: 0, b: e.message })));
  if (r.s === 200) { console.log(r.b); process.exit(0); }
  last = r.s + " " + r.b;
  if (Date.now() > until) { console.error("not ready: " + last); process.exit(1); }
  await new Promise((r) => setTimeout(r, 100));
}
`;
