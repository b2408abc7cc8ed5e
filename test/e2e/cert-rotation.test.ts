// Certificate rotation under load (issue #11's Done-when): two sidecars (agent + engine processes) with 1-minute
// workload certificates (SECRET_TTL=1m, as Istio's agent reads it) from `weft discovery`'s mesh CA on :15012, an
// mTLS hop between them (hand-written ISTIO_MUTUAL / STRICT inbound config, served over ADS), and 300 req/s for
// 5 minutes through it: no request may fail, and each agent rotates its certificate at half life (every ~30 s),
// which the app behind the server sidecar sees as new client certificates (x-forwarded-client-cert's Hash).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT, freePort } from "../../hack/paths.js";
import { localCa } from "../../operator/discovery/ca/local.js";
import { mintLocalToken } from "../../operator/discovery/ca/authn.js";
import { AgentProcess } from "../support/agent-process.js";
import { cluster } from "../support/engine/helpers.js";
import { hcm, inboundTls, istioMutual } from "../support/engine/istio-mtls.js";
import { LoadProcess } from "../support/load-process.js";
import { staticAds, type StaticAds } from "../support/static-ads.js";

const RATE = 300;
const LOAD_MS = 5 * 60_000;
// Istio's default connect timeout: on a loaded machine a TLS handshake can take longer than the helpers' 1 s.
const CONNECT_TIMEOUT = "10s";
const SLEEP = { namespace: "default", serviceAccount: "sleep" };
const HTTPBIN = { namespace: "default", serviceAccount: "httpbin" };
const spiffe = (id: typeof SLEEP) => `spiffe://cluster.local/ns/${id.namespace}/sa/${id.serviceAccount}`;
const nodeId = (pod: string) => `sidecar~127.0.0.1~${pod}.default~default.svc.cluster.local`;
const ROUTER = {
  name: "envoy.filters.http.router",
  typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" },
};
const table = (c: string) => ({
  name: "local",
  virtual_hosts: [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: c } }] }],
});
const withRouter = (f: ReturnType<typeof hcm>) => ({
  ...f,
  typed_config: { ...f.typed_config, http_filters: [ROUTER] },
});

/** Polls `probe` (errors count as no) until it says yes. */
async function until(what: string, ms: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("certificate rotation under load through an mTLS hop", () => {
  const dir = mkdtempSync(join(tmpdir(), "weft-rotation-"));
  let discovery: ChildProcess | undefined;
  let ads: StaticAds | undefined;
  let app: Server | undefined;
  const agents: AgentProcess[] = [];
  const issued = new Map<string, number>(); // pod → certificates its agent received
  const clientCerts = new Set<string>(); // the XFCC Hash of each client certificate the app saw
  let appPort = 0;
  let outPort = 0;

  beforeAll(async () => {
    const caDir = join(dir, "ca");
    const { tokenKey, rootCertFile } = await localCa(caDir);
    const [securePort, monitoringPort] = [await freePort(), await freePort()];
    const configDir = join(dir, "config");
    mkdirSync(configDir);
    discovery = spawn(
      process.execPath,
      [
        `${REPO_ROOT}/dist/operator/cli/main.js`,
        "discovery",
        ...["--config-dir", configDir, "--ca-dir", caDir, "--address", "127.0.0.1"],
        ...["--xds-port", `${await freePort()}`, "--monitoring-port", `${monitoringPort}`],
        ...["--secure-port", `${securePort}`],
      ],
      { stdio: ["ignore", "ignore", "inherit"] },
    );
    await until("discovery ready", 120_000, async () => (await fetch(`http://127.0.0.1:${monitoringPort}/ready`)).ok);
    app = createServer((req, res) => {
      const hash = /Hash=([0-9a-f]+)/.exec(String(req.headers["x-forwarded-client-cert"] ?? ""))?.[1];
      if (hash) clientCerts.add(hash);
      res.end(hash ? "ok" : "no client certificate");
    });
    await new Promise<void>((resolve) => app!.listen(0, "127.0.0.1", resolve));
    appPort = (app.address() as AddressInfo).port;
    const inPort = await freePort();
    outPort = await freePort();
    ads = await staticAds({
      // The server sidecar: STRICT inbound (client certificate required), to the app.
      [nodeId("httpbin-1")]: {
        listeners: [
          {
            name: "inbound",
            address: { socket_address: { address: "127.0.0.1", port_value: inPort } },
            filter_chains: [
              {
                transport_socket: inboundTls,
                filters: [withRouter(hcm("inbound", table("app")))],
              },
            ],
          },
        ],
        clusters: [cluster("app", [appPort], { connect_timeout: CONNECT_TIMEOUT })],
      },
      // The client sidecar: plaintext from the app, ISTIO_MUTUAL to the server sidecar (its SPIFFE ID checked);
      // connections are recycled every 100 requests, so new handshakes keep happening through the rotations.
      [nodeId("sleep-1")]: {
        listeners: [
          {
            name: "outbound",
            address: { socket_address: { address: "127.0.0.1", port_value: outPort } },
            filter_chains: [{ filters: [withRouter(hcm("outbound", table("peer")))] }],
          },
        ],
        clusters: [
          cluster("peer", [inPort], {
            ...istioMutual(spiffe(HTTPBIN)),
            max_requests_per_connection: 100,
            connect_timeout: CONNECT_TIMEOUT,
          }),
        ],
      },
    });
    for (const [pod, id] of [
      ["httpbin-1", HTTPBIN],
      ["sleep-1", SLEEP],
    ] as const) {
      const tokenFile = join(dir, `${pod}.token`);
      writeFileSync(tokenFile, mintLocalToken(tokenKey, id, 3600_000));
      agents.push(
        await AgentProcess.start({
          discoveryAddress: ads.address,
          nodeId: nodeId(pod),
          binaryPath: `${REPO_ROOT}/dist/proxy/engine/child.js`,
          engineVersion: "0.0.0-test",
          enginesDir: join(dir, "engines"),
          args: [
            ...["--ca-address", `127.0.0.1:${securePort}`, "--ca-server-name", "localhost"],
            ...["--token-file", tokenFile, "--root-cert", rootCertFile],
          ],
          env: { SECRET_TTL: "1m", SERVICE_ACCOUNT: id.serviceAccount, POD_NAMESPACE: id.namespace },
          onLog: (line) => {
            if (line.includes(`certificate for ${spiffe(id)} until`)) issued.set(pod, (issued.get(pod) ?? 0) + 1);
            if (/refused|failed|NACK/.test(line)) process.stderr.write(`${pod}: ${line}\n`);
          },
        }),
      );
    }
    // Both ready: each holds a certificate and serves the config.
    for (const a of agents)
      await until(`agent ${a.ip} ready`, 120_000, async () => (await a.readiness()).status === 200);
  }, 300_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await ads?.close();
    discovery?.kill("SIGTERM");
    await new Promise<void>((resolve) => (app ? app.close(() => resolve()) : resolve()));
    app?.closeAllConnections();
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    `serves ${RATE} req/s for 5 minutes with 1-minute certificates: no failed request, 4+ rotations each`,
    async () => {
      const before = new Map(issued);
      const load = new LoadProcess([`http://127.0.0.1:${outPort}/`], { rate: RATE });
      await load.until((c) => c.ok > 0 || c.failed > 0, 30_000, "the first answer");
      const started = Date.now();
      await new Promise((r) => setTimeout(r, LOAD_MS)); // the load runs for its duration: this is the test's length
      const count = await load.stop();
      const seconds = (Date.now() - started) / 1000;
      const rotations = Object.fromEntries([...issued].map(([pod, n]) => [pod, n - (before.get(pod) ?? 0)] as const));
      // The client sidecar's view of its upstream, for a failure's cause (connect failures, timeouts, TLS errors).
      const upstream = (await agents[1]!.prometheus())
        .split("\n")
        .filter((l) => /cluster_name="peer"/.test(l) && /(fail|timeout|error|5xx)/.test(l) && !/ 0$/.test(l));
      process.stderr.write(
        `rotation soak: ${count.ok} ok, ${count.failed} failed in ${seconds.toFixed(0)} s; certificates issued during it ${JSON.stringify(rotations)}; client certificates seen by the app ${clientCerts.size}; the client's upstream: ${upstream.join("; ") || "no failure counted"}\n`,
      );
      expect(count.errors).toEqual({});
      expect(count.failed).toBe(0);
      expect(count.ok).toBeGreaterThanOrEqual(RATE * (LOAD_MS / 1000) * 0.9);
      expect(rotations["sleep-1"]).toBeGreaterThanOrEqual(4);
      expect(rotations["httpbin-1"]).toBeGreaterThanOrEqual(4);
      expect(clientCerts.size).toBeGreaterThanOrEqual(5);
    },
    LOAD_MS + 120_000,
  );
});
