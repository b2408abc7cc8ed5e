// Your own workloads in local mode, from a workloads file: a tiny HTTP server in two versions and a TCP echo,
// each with its own loopback IPs and sidecar, routed by a VirtualService, reached through a client's sidecar.
// Runs the built package.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { readWorkloads, startLocalMesh, type LocalMesh } from "../../hack/local/mesh.js";

const HELLO = `
import { createServer } from "node:http";
const [host, port, version] = process.argv.slice(2);
createServer((req, res) => res.end("hello from " + version + " for " + (req.headers["end-user"] ?? "anyone"))).listen(Number(port), host);
`;
const ECHO = `
import { createServer } from "node:net";
const [host, port] = process.argv.slice(2);
createServer((s) => s.pipe(s)).listen(Number(port), host);
`;

/** A GET to a sidecar's outbound listener, naming the service in Host. */
function get(host: string, port: number, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path: "/", headers, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve(res.statusCode === 200 ? body : `status ${res.statusCode}: ${body}`));
    });
    req.on("error", reject);
    req.end();
  });
}

function echo(host: string, port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port }, () => s.write(text));
    let got = "";
    s.setEncoding("utf8");
    s.on("data", (d: string) => {
      got += d;
      if (got.length >= text.length) s.end();
    });
    s.on("close", () => resolve(got));
    s.on("error", reject);
    s.setTimeout(5000, () => s.destroy(new Error("echo timed out")));
  });
}

describe("your own workloads in local mode (a workloads file)", () => {
  const work = mkdtempSync(path.join(tmpdir(), "weft-own-"));
  const configDir = path.join(work, "config");
  let mesh: LocalMesh;

  beforeAll(async () => {
    writeFileSync(path.join(work, "hello.mjs"), HELLO);
    writeFileSync(path.join(work, "echo.mjs"), ECHO);
    writeFileSync(
      path.join(work, "routing.yaml"),
      `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: hello }
spec: { host: hello, subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }] }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: hello }
spec:
  hosts: [hello]
  http:
  - match: [{ headers: { end-user: { exact: jason } } }]
    route: [{ destination: { host: hello, subset: v2 } }]
  - route: [{ destination: { host: hello, subset: v1 } }]
`,
    );
    const file = path.join(work, "weft.local.yaml");
    writeFileSync(
      file,
      `workloads:
- { name: client, version: v1, port: 7000, command: [node, ${path.join(work, "hello.mjs")}, "{ip}", "{port}", client] }
- { name: hello, version: v1, port: 8080, labels: { tier: web }, command: [node, ${path.join(work, "hello.mjs")}, "{ip}", "{port}", v1] }
- { name: hello, version: v2, port: 8080, command: [node, ${path.join(work, "hello.mjs")}, "{ip}", "{port}", v2] }
- { name: echo, version: v1, port: 9000, protocol: TCP, command: [node, ${path.join(work, "echo.mjs")}, "{ip}", "{port}"] }
config: [routing.yaml]
`,
    );
    // A file of the user's own, already in the folder: starting must leave it alone.
    rmSync(configDir, { recursive: true, force: true });
    mkdirSync(configDir, { recursive: true });
    writeFileSync(path.join(configDir, "mine.yaml"), "# mine\n");
    mesh = await startLocalMesh({
      configDir,
      base: "127.0.68",
      appBase: "127.0.69",
      gatewayIp: "127.0.68.3",
      workloads: readWorkloads(file),
    });
  }, 180_000);

  afterAll(async () => {
    await mesh?.stop();
    rmSync(work, { recursive: true, force: true });
  }, 30_000);

  const client = () => mesh.layout.workloads[0] as LocalMesh["layout"]["workloads"][0];

  it("gives each workload its own loopback IPs and sidecar, and keeps the folder's other files", () => {
    expect(mesh.layout.workloads.map((w) => `${w.app}-${w.version}@${w.ip}/${w.appIp}`)).toEqual([
      "client-v1@127.0.68.11/127.0.69.11",
      "hello-v1@127.0.68.12/127.0.69.12",
      "hello-v2@127.0.68.13/127.0.69.13",
      "echo-v1@127.0.68.14/127.0.69.14",
    ]);
    expect(readdirSync(configDir).sort()).toEqual(["mine.yaml", "routing.yaml", "services.yaml"]);
  });

  it("routes the HTTP server by the VirtualService: jason to v2, everyone else to v1", async () => {
    const [ip, port] = [client().ip, mesh.layout.outboundPort];
    for (let i = 0; i < 10; i++) {
      expect(await get(ip, port, { host: "hello:8080" })).toBe("hello from v1 for anyone");
      expect(await get(ip, port, { host: "hello:8080", "end-user": "jason" })).toBe("hello from v2 for jason");
    }
  });

  it("carries TCP to the echo server through the client's sidecar (the service port on the sidecar's IP)", async () => {
    expect(await echo(client().ip, 9000, "ping\n")).toBe("ping\n");
    expect(await echo(client().ip, 9000, "x".repeat(100_000))).toHaveLength(100_000);
  });
});
