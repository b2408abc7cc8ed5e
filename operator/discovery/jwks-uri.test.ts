// A RequestAuthentication's jwksUri from `weft discovery --config-dir` (in process) to a gateway's engine over ADS:
// discovery fetches the keys before the push that needs them, so the first config a gateway gets already verifies
// tokens; a jwksUri that can't be fetched inlines keys no token verifies with (every token 401, never one let through
// unverified) and says so in /debug/configz. (Refreshes and recovery: sources/jwks.test.ts.)
import { createServer, get as httpGet, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { freePorts } from "../../hack/paths.js";
import { Engine } from "../../proxy/engine/engine.js";
import { XdsClient } from "../../proxy/agent/xds-client.js";
import { backend, get, until, type Backend } from "../../test/support/engine/helpers.js";
import { appBehindGateway } from "../../test/support/discovery/mesh.js";
import { issuer, jwks, nowSeconds } from "../../test/support/jwt.js";
import { startDiscovery, type Discovery } from "./server.js";

const ISS = "https://issuer.example.com";
const key = issuer("ES256");

describe("jwksUri through discovery to a gateway", () => {
  let dir: string;
  let discovery: Discovery;
  let app: Backend;
  let keys: Server;
  let port = 0;
  let engine: Engine;
  let client: XdsClient;

  const policy = (path: string) => `---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: jwt, namespace: default }
spec: { jwtRules: [{ issuer: "${ISS}", jwksUri: "http://127.0.0.1:${(keys.address() as AddressInfo).port}${path}" }] }
`;

  /** The gateway, the app behind it, and a RequestAuthentication whose jwksUri is this path on the keys server. */
  const writeConfig = (path: string) =>
    writeFileSync(
      join(dir, "gateway.yaml"),
      `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge, namespace: default }
spec: { servers: [{ port: { number: ${port}, name: http, protocol: HTTP }, hosts: [shop.example.com] }] }
${appBehindGateway(app.port, ["shop.example.com"])}${policy(path)}`,
    );

  beforeAll(async () => {
    app = await backend("app", (_req, res) => res.end("shop"));
    keys = createServer((req, res) => (req.url === "/keys" ? res.end(jwks(key)) : res.writeHead(503).end("down")));
    await new Promise<void>((r) => keys.listen(0, "127.0.0.1", r));
    [port] = (await freePorts(1, "0.0.0.0")) as [number];
    dir = mkdtempSync(join(tmpdir(), "weft-jwks-"));
    writeConfig("/keys");
    discovery = await startDiscovery({
      configDir: dir,
      address: "127.0.0.1",
      xdsPort: 0,
      monitoringPort: 0,
      pushDebounceMs: 10,
      log: pino({ level: "silent" }),
    });
    engine = new Engine({ adminPort: false, statsPort: false, readyPort: false, drainTimeoutMs: 200 });
    await engine.start();
    client = new XdsClient({
      address: `127.0.0.1:${discovery.xdsPort}`,
      node: { id: "router~127.0.0.1~gw-0.default~default.svc.cluster.local" },
      apply: (r) => engine.apply(r),
    });
    client.start();
    await until(() => engine.listenerPort(`0.0.0.0_${port}`) > 0, 10_000);
  });
  afterAll(async () => {
    client.stop();
    await engine.stop();
    await discovery.close();
    await app.close();
    keys.close();
  });

  const call = (token: string) =>
    get(port, "/", { host: "shop.example.com", authorization: `Bearer ${token}` }, { agent: false });
  const good = () => key.token({ iss: ISS, exp: nowSeconds() + 300 });
  const configz = () =>
    new Promise<string>((resolve, reject) =>
      httpGet({ host: "127.0.0.1", port: discovery.monitoringPort, path: "/debug/configz" }, (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve(body));
      }).on("error", reject),
    );

  it("verifies tokens with the fetched keys from the first config on", async () => {
    expect((await call(good())).status).toBe(200);
    expect((await call(issuer("ES256", key.kid).token({ iss: ISS }))).status).toBe(401);
  });

  it("fails closed when the jwksUri can't be fetched, and reports it", async () => {
    const applied = client.applied;
    writeConfig("/down");
    await until(() => client.applied !== applied, 10_000);
    const refused = await call(good());
    expect([refused.status, refused.body]).toEqual([401, "Jwt verification fails"]);
    expect(await configz()).toContain("/down: status 503 (every token fails)");
  }, 20_000);
});
