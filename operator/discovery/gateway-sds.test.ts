// A gateway's credentialName Secrets over ADS, from `weft discovery --config-dir` (in process) to the agent's xDS
// client and an engine: SDS `kubernetes://<name>` served over state of the world and delta, a Secret rotation reaching
// new handshakes as an SDS push alone (the listener kept, its open connections too), another namespace's proxy
// asking for the Secret by name getting nothing, and no key in discovery's log, /debug endpoints or dashboard.
import { DirSource } from "./sources/dir.js";
import { mkdtempSync, writeFileSync } from "node:fs";
import { get as httpGet } from "node:http";
import { Agent } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { freePorts } from "../../hack/paths.js";
import { Engine } from "../../proxy/engine/engine.js";
import { XdsClient } from "../../proxy/agent/xds-client.js";
import { TYPE } from "../../proxy/xds/types.js";
import { generateCa, issueCert, type KeyPair } from "../runtime/pki.js";
import { backend, get, until, type Backend } from "../../test/support/engine/helpers.js";
import { secretYaml, shopGateway } from "../../test/support/discovery/mesh.js";
import { onLoopback } from "../../test/support/discovery/start.js";
import { RawAdsClient } from "../../test/support/discovery/adsclient.js";
import type { Discovery } from "./server.js";

const NODE = (ns: string) => `router~127.0.0.1~gw-0.${ns}~${ns}.svc.cluster.local`;

describe("gateway credentialName Secrets from discovery, over ADS", () => {
  let dir: string;
  let discovery: Discovery;
  let app: Backend;
  let ca: KeyPair;
  const keys: string[] = [];
  /** The subject of the certificate in the Secret now. */
  let current = "";
  const logged: string[] = [];
  let port = 0;

  const writeSecret = async (cn: string) => {
    const leaf = await issueCert(ca, { commonName: cn, dnsNames: ["shop.example.com"], usage: "server", days: 1 });
    keys.push(leaf.keyPem);
    current = cn;
    writeFileSync(
      join(dir, "secret.yaml"),
      secretYaml("shop-cert", "istio-system", { "tls.crt": leaf.certPem, "tls.key": leaf.keyPem }),
    );
  };

  beforeAll(async () => {
    app = await backend("app", (_req, res) => res.end("shop"));
    ca = await generateCa("gateway root", 1);
    [port] = (await freePorts(1, "0.0.0.0")) as [number];
    dir = mkdtempSync(join(tmpdir(), "weft-gw-sds-"));
    await writeSecret("shop v1");
    writeFileSync(join(dir, "gateway.yaml"), shopGateway(port, "default", app.port));
    const sink = new Writable({ write: (chunk: Buffer, _e, done) => done(void logged.push(chunk.toString())) });
    discovery = await onLoopback({ configDir: dir, log: pino({ level: "debug" }, sink) });
  });
  afterAll(async () => {
    await discovery.close();
    await app.close();
  });

  /** A gateway: the agent's xDS client (SotW or delta) feeding an engine. */
  async function gateway(delta: boolean): Promise<{ engine: Engine; client: XdsClient; stop(): Promise<void> }> {
    const engine = new Engine({ adminPort: false, statsPort: false, readyPort: false, drainTimeoutMs: 200 });
    await engine.start();
    const client = new XdsClient({
      address: `127.0.0.1:${discovery.xdsPort}`,
      delta,
      node: { id: NODE("istio-system") },
      apply: (r) => engine.apply(r),
    });
    client.start();
    await until(() => engine.listenerPort(`0.0.0.0_${port}`) > 0, 10_000);
    return {
      engine,
      client,
      async stop() {
        client.stop();
        await engine.stop();
      },
    };
  }

  const tls = { servername: "shop.example.com", ca: "" };

  for (const delta of [false, true]) {
    it(`serves the Secret as SDS kubernetes://shop-cert (${delta ? "delta" : "state of the world"}), and a rotation as an SDS push alone`, async () => {
      tls.ca = ca.certPem;
      const gw = await gateway(delta);
      try {
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        const first = await get(port, "/", {}, { tls, agent });
        expect([first.status, first.body, first.tls?.cn]).toEqual([200, "shop", current]);
        const types = () => gw.client.state.summary();
        const lds = types()["LDS"]?.version;
        expect(types()["SDS"]).toMatchObject({ resources: 1 });

        const rotated = `shop v${keys.length + 1}`;
        const applied = gw.client.applied;
        await writeSecret(rotated);
        await until(() => gw.client.applied !== applied, 10_000); // the engine took the config with the new Secret
        expect((await get(port, "/", {}, { tls })).tls?.cn).toBe(rotated);
        // The listener stayed: same LDS version; the connection opened before the rotation still serves, as it was.
        expect(types()["LDS"]?.version).toBe(lds);
        const again = await get(port, "/", {}, { tls, agent });
        expect([again.status, again.tls?.reused, again.tls?.cn]).toEqual([200, true, first.tls?.cn]);
        agent.destroy();
      } finally {
        await gw.stop();
      }
    }, 30_000);
  }

  it("gives a gateway proxy of another namespace nothing when it asks for the Secret by name, nor a sidecar", async () => {
    for (const node of [NODE("other"), "sidecar~127.0.0.1~a-0.istio-system~istio-system.svc.cluster.local"]) {
      const raw = new RawAdsClient(`127.0.0.1:${discovery.xdsPort}`, node);
      raw.request(TYPE.secret, ["kubernetes://shop-cert"]);
      const r = await raw.next();
      expect([r.type_url, r.resources.length]).toEqual([TYPE.secret, 0]);
      raw.close();
    }
    const own = new RawAdsClient(`127.0.0.1:${discovery.xdsPort}`, NODE("istio-system"));
    own.request(TYPE.secret, ["kubernetes://shop-cert"]);
    expect((await own.next()).resources.length).toBe(1);
    own.close();
  });

  it("a cluster's discovery without its mesh CA (no 15012) serves no gateway a Secret over plaintext, and says so", async () => {
    const said: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _e, done) => done(void said.push(chunk.toString())) });
    // The same files, as a source other than local mode's directory (the Kubernetes one stands here).
    const kube = await onLoopback({
      source: (onChange) => new DirSource({ dir, onChange }),
      log: pino({ level: "info" }, sink),
    });
    try {
      const own = new RawAdsClient(`127.0.0.1:${kube.xdsPort}`, NODE("istio-system"));
      own.request(TYPE.secret, ["kubernetes://shop-cert"]);
      expect((await own.next()).resources.length).toBe(0);
      own.close();
      expect(said.join("")).toContain("gateways get no credentialName Secrets");
    } finally {
      await kube.close();
    }
  });

  it("keeps the key out of discovery's log, its /debug endpoints and the dashboard", async () => {
    const fetch = (path: string) =>
      new Promise<string>((resolve, reject) =>
        httpGet({ host: "127.0.0.1", port: discovery.monitoringPort, path }, (res) => {
          let body = "";
          res.on("data", (d: Buffer) => (body += d.toString()));
          res.on("end", () => resolve(body));
        }).on("error", reject),
      );
    const pages = await Promise.all(
      [
        "/debug/syncz",
        "/debug/configz",
        "/debug/summary",
        "/debug/memz",
        "/debug/proxy-status",
        "/metrics",
        "/dashboard/graph",
      ].map(fetch),
    );
    const seen = [...pages, ...logged].join("\n");
    expect(seen).toContain("proxy connected"); // the log was captured
    for (const key of keys) {
      const body = key.split("\n")[1] ?? key; // a line of the key's base64
      expect(seen).not.toContain(body);
      expect(seen).not.toContain(Buffer.from(key).toString("base64").slice(0, 40));
    }
  });
});
