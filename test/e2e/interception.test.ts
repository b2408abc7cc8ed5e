// Interception REDIRECT for real, in network namespaces this test creates: `weft init` writes the iptables rules in
// a "pod" namespace; `weft discovery` (local mode) and the sidecar (as UID 1337, interception REDIRECT) run there.
// A client in the pod dials service VIPs that exist nowhere: the sidecar gets the connections on 15001, learns
// their original destination (the N-API addon), and routes them (HTTP by port then Host, TCP by VIP, the rest
// passed through). The sidecar's own upstream connections are not captured again. From the "peer" namespace,
// inbound traffic to the pod IP reaches the app (listening on 127.0.0.1 only) through 15006, and 15021 isn't
// captured. Needs root. Runs the built CLI.
import type { ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { REPO_ROOT } from "../../hack/paths.js";
import { testCa } from "../support/engine/mesh-certs.js";
import { createPair, requireRoot, runIn, spawnIn, stop, type Pair } from "./netns/netns.js";
import { CLIENT, PEER_SERVERS, POD_APP, WAIT_READY } from "./netns/scripts.js";

const CLI = path.join(REPO_ROOT, "dist/operator/cli/main.js");
const ADDON = path.join(REPO_ROOT, "dist/proxy/native/original_dst.node");
const node = process.execPath;

const CONFIG = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews }
spec: { hosts: [reviews], addresses: [10.96.0.10], ports: [{ number: 80, name: http, protocol: HTTP }], resolution: STATIC, workloadSelector: { labels: { app: reviews } } }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: echo }
spec: { hosts: [echo], addresses: [10.96.0.11], ports: [{ number: 7000, name: tcp, protocol: TCP }], resolution: STATIC, workloadSelector: { labels: { app: echo } } }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: mine }
spec: { hosts: [mine], ports: [{ number: 9080, name: http, protocol: HTTP }], resolution: STATIC, workloadSelector: { labels: { app: mine } } }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: external-tls }
spec: { hosts: [api.external.test], ports: [{ number: 8443, name: tls, protocol: TLS }], resolution: STATIC, location: MESH_EXTERNAL, endpoints: [{ address: 10.250.0.2 }] }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: reviews-1 }
spec: { address: 10.250.0.2, ports: { http: 9080 }, labels: { app: reviews } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: echo-1 }
spec: { address: 10.250.0.2, labels: { app: echo } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: mine }
spec: { address: 10.250.0.1, labels: { app: mine } }
`;

type Results = Record<string, { ok?: string | { status: number; body: string }; error?: string }>;

const T = 60_000;

describe("interception REDIRECT in a network namespace", () => {
  let pair: Pair;
  let dir: string;
  const procs: ChildProcess[] = [];
  let log = "";
  const file = (name: string, text: string) => {
    const f = path.join(dir, name);
    writeFileSync(f, text);
    chmodSync(f, 0o644);
    return f;
  };
  const started = (child: ChildProcess, what: string) =>
    new Promise<void>((resolve, reject) => {
      child.stdout?.on("data", (d: Buffer) => d.toString().includes("listening") && resolve());
      child.once("exit", (code) => reject(new Error(`${what} exited ${code}: ${log}`)));
    });
  const client = async (ns: string, plan: Record<string, unknown>): Promise<Results> =>
    JSON.parse(await runIn(ns, [node, path.join(dir, "client.mjs"), JSON.stringify(plan)])) as Results;

  beforeAll(async () => {
    requireRoot();
    for (const f of [CLI, ADDON])
      if (!existsSync(f))
        throw new Error(`${f} is missing: run npm run build (it builds the addon with cc and Node's headers)`);
    pair = createPair(String(process.pid % 10000));
    dir = mkdtempSync(path.join(tmpdir(), "weft-netns-"));
    chmodSync(dir, 0o755); // the sidecar runs as UID 1337
    // The external TLS host's certificate, for api.external.test, from a CA the client trusts.
    const ca = await testCa("external-ca");
    const leaf = await ca.issue({ dns: "api.external.test" });
    file("ca.pem", ca.ca);
    const [cert, key] = [file("tls.pem", leaf.cert), file("tls.key", leaf.key)];
    const peer = spawnIn(pair.peer, [node, file("peer.mjs", PEER_SERVERS), pair.peerIp, cert, key], {
      log: (s) => (log += s),
    });
    const app = spawnIn(pair.pod, [node, file("app.mjs", POD_APP)], { log: (s) => (log += s) });
    procs.push(peer, app);
    file("client.mjs", CLIENT);
    file("wait.mjs", WAIT_READY);
    mkdirSync(path.join(dir, "config"), { mode: 0o755 });
    file("config/mesh.yaml", CONFIG);
    await Promise.all([started(peer, "peer servers"), started(app, "pod app")]);
    await runIn(pair.pod, [node, CLI, "init"]);
    procs.push(
      spawnIn(pair.pod, [node, CLI, "discovery", "--config-dir", path.join(dir, "config"), "--address", "127.0.0.1"], {
        log: (s) => (log += s),
      }),
    );
    const sidecar = [
      "proxy",
      "--discovery-address",
      "127.0.0.1:15010",
      "--interception-mode",
      "REDIRECT",
      "--instance-ip",
      pair.podIp,
      "--pod-name",
      "mine",
      "--pod-namespace",
      "default",
    ];
    procs.push(spawnIn(pair.pod, [node, CLI, ...sidecar], { uid: 1337, log: (s) => (log += s) }));
    await runIn(
      pair.pod,
      [node, path.join(dir, "wait.mjs"), "http://127.0.0.1:15021/healthz/ready", "60000"],
      70_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${log}`);
    });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => stop(p)));
    pair?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(
    "weft init wrote Istio's chains, and running it again (a restarted init container) adds nothing",
    async () => {
      await runIn(pair.pod, [node, CLI, "init"]);
      const rules = await runIn(pair.pod, ["iptables-save", "-t", "nat"]);
      expect(rules).toContain("-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001");
      expect(rules).toContain("-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006");
      expect(rules.match(/^-A OUTPUT -p tcp -j ISTIO_OUTPUT$/gm)).toHaveLength(1);
      expect(rules.match(/^-A PREROUTING -p tcp -j ISTIO_INBOUND$/gm)).toHaveLength(1);
      expect(rules.match(/-m owner --uid-owner 1337 -j RETURN/g)).toHaveLength(1);
    },
    T,
  );

  it(
    "outbound: the sidecar learns each connection's original destination and routes it",
    async () => {
      const r = await client(pair.pod, {
        http: { kind: "http", host: "10.96.0.10", port: 80, hostHeader: "reviews" },
        tcp: { kind: "tcp", host: "10.96.0.11", port: 7000, text: "ping" },
        passthrough: { kind: "tcp", host: pair.peerIp, port: 7001, text: "hello" },
      });
      expect(r.http?.error).toBeUndefined();
      const http = r.http?.ok as { status: number; body: string };
      expect(http.status).toBe(200);
      expect(JSON.parse(http.body)).toEqual({ server: "reviews", host: "reviews", from: pair.podIp });
      expect(r.tcp).toEqual({ ok: "echo:ping" }); // 10.96.0.11:7000 → listener 10.96.0.11_7000 → echo
      expect(r.passthrough).toEqual({ ok: "direct:hello" }); // no listener: PassthroughCluster to the original address
      const stats = await client(pair.pod, {
        stats: { kind: "http", host: "127.0.0.1", port: 15090, path: "/stats/prometheus" },
      });
      const prom = (stats.stats?.ok as { body: string }).body;
      expect(prom).toMatch(
        /istio_tcp_connections_opened_total\{[^}]*destination_service="PassthroughCluster"[^}]*\} 1/,
      );
    },
    T,
  );

  it(
    "outbound TLS to an external host without an address: routed by its server name, passed through end to end",
    async () => {
      // A ServiceEntry without addresses: only the ClientHello tells it apart (0.0.0.0_8443, server_names).
      const ca = path.join(dir, "ca.pem");
      const r = await client(pair.pod, {
        known: { kind: "tls", host: pair.peerIp, port: 8443, servername: "api.external.test", ca },
        unknown: { kind: "tls", host: pair.peerIp, port: 8443, servername: "other.external.test", ca, anyName: true },
      });
      // The client verified the host's own certificate: the sidecar passed TLS through, it did not terminate it.
      expect(r.known).toEqual({ ok: "tls:api.external.test" });
      expect(r.unknown).toEqual({ ok: "tls:other.external.test" }); // a name no service has: ALLOW_ANY's passthrough
      const stats = await client(pair.pod, {
        stats: { kind: "http", host: "127.0.0.1", port: 15090, path: "/stats/prometheus" },
      });
      const prom = (stats.stats?.ok as { body: string }).body;
      expect(prom).toMatch(
        /istio_tcp_connections_opened_total\{[^}]*destination_service="api\.external\.test"[^}]*\} 1/,
      );
    },
    T,
  );

  it(
    "the sidecar's own connections are not captured: the UID 1337 rule carried them, nothing looped",
    async () => {
      const table = await runIn(pair.pod, ["iptables", "-t", "nat", "-L", "ISTIO_OUTPUT", "-v", "-n", "-x"]);
      const uidReturn = table
        .split("\n")
        .find((l) => /RETURN/.test(l) && /owner UID match 1337/.test(l) && !/!/.test(l.split("owner")[1] ?? ""));
      expect(Number(uidReturn?.trim().split(/\s+/)[0])).toBeGreaterThan(0);
    },
    T,
  );

  it(
    "inbound: the pod IP reaches the app through 15006; 15021 is not captured; a port nobody serves is closed",
    async () => {
      const r = await client(pair.peer, {
        app: { kind: "http", host: pair.podIp, port: 9080 },
        ready: { kind: "http", host: pair.podIp, port: 15021, path: "/healthz/ready" },
        unknown: { kind: "tcp", host: pair.podIp, port: 9999, text: "x" },
      });
      expect(r.app).toEqual({ ok: { status: 200, body: `app saw ${pair.podIp}:9080` } }); // the app listens on 127.0.0.1 only
      expect(r.ready).toEqual({ ok: { status: 200, body: "ready\n" } });
      expect(r.unknown?.ok ?? "").toBe("");
      const stats = await client(pair.pod, { s: { kind: "http", host: "127.0.0.1", port: 15000, path: "/stats" } });
      expect((stats.s?.ok as { body: string }).body).toContain("listener.virtualInbound.no_filter_chain_match: 1");
    },
    T,
  );
});
