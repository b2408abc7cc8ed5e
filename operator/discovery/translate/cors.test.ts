// Istio's corsPolicy end to end: a VirtualService through translate, the result applied to Weft's engine, and a
// browser's preflight and request over real HTTP/1.1 on loopback.
import { localShape, OUTBOUND_LISTENER } from "../../../proxy/agent/local-shape.js";
import { backend, get, testEngine, type Backend } from "../../../test/support/engine/helpers.js";
import type { Engine } from "../../../proxy/engine/engine.js";
import { loopbackEntry, meshModel } from "../../../test/support/discovery/mesh.js";
import { parseNodeId, translate } from "./index.js";

const client = parseNodeId("sidecar~127.0.0.9~client-0.default~default.svc.cluster.local");

/** A ServiceEntry for app.example.com:80 served by the backend on loopback, and its VirtualService with corsPolicy. */
const mesh = (port: number) => `${loopbackEntry("app", "app.example.com", port)}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: app }
spec:
  hosts: [app.example.com]
  http:
  - route: [{ destination: { host: app.example.com } }]
    corsPolicy:
      allowOrigins: [{ exact: "https://shop.example.com" }, { regex: "https://.*\\\\.partner\\\\.io" }]
      allowMethods: [GET, PUT]
      allowHeaders: [x-token]
      exposeHeaders: [x-app]
      maxAge: 24h
      allowCredentials: true
`;

/**
 * The engine as the agent runs it without traffic capture: one outbound listener (translate's HCM and http_filters)
 * that the app reaches by Host, here on a free loopback port.
 */
async function meshEngine(yaml: string): Promise<{ engine: Engine; port: number }> {
  const out = translate(meshModel(yaml), client);
  expect(out.warnings).toEqual([]);
  const shaped = localShape({ version: "1", ...out }, { ip: "127.0.0.1", appAddress: "127.0.0.1", outboundPort: 0 });
  const engine = await testEngine(shaped);
  return { engine, port: engine.listenerPort(OUTBOUND_LISTENER) };
}

const appBackend = () =>
  backend("app", (req, res) => {
    res.writeHead(200, { "x-app": "1" });
    res.end(`${req.method} ${req.url}`);
  });

describe("Istio corsPolicy through translate and the engine", () => {
  let app: Backend;
  let engine: Engine;
  let port: number;

  beforeAll(async () => {
    app = await appBackend();
    ({ engine, port } = await meshEngine(mesh(app.port)));
  });
  afterAll(async () => {
    await engine.stop();
    await app.close();
  });

  const host = "app.example.com";

  it("answers the browser's preflight at the sidecar; the app never sees it", async () => {
    const before = app.hits;
    const r = await get(
      port,
      "/cart",
      { host, origin: "https://eu.partner.io", "access-control-request-method": "PUT" },
      { method: "OPTIONS" },
    );
    expect(r.status).toBe(200);
    expect(r.headers).toMatchObject({
      "access-control-allow-origin": "https://eu.partner.io",
      "access-control-allow-credentials": "true",
      "access-control-allow-methods": "GET,PUT",
      "access-control-allow-headers": "x-token",
      "access-control-max-age": "86400",
    });
    expect(app.hits).toBe(before);
  });

  it("lets an allowed origin read the response; another origin gets no CORS headers", async () => {
    const ok = await get(port, "/cart", { host, origin: "https://shop.example.com" });
    expect([ok.status, ok.body]).toEqual([200, "GET /cart"]);
    expect(ok.headers).toMatchObject({
      "access-control-allow-origin": "https://shop.example.com",
      "access-control-expose-headers": "x-app",
    });
    const other = await get(port, "/cart", { host, origin: "https://evil.example.net" });
    expect([other.status, other.body]).toEqual([200, "GET /cart"]);
    expect(other.headers["access-control-allow-origin"]).toBeUndefined();
  });
});

describe("unmatchedPreflights", () => {
  let app: Backend;
  const engines: Engine[] = [];
  beforeAll(async () => {
    app = await appBackend();
  });
  afterAll(async () => {
    for (const e of engines) await e.stop();
    await app.close();
  });

  const preflightFrom = async (yaml: string): Promise<number> => {
    const { engine, port } = await meshEngine(yaml);
    engines.push(engine);
    const before = app.hits;
    const headers = {
      host: "app.example.com",
      origin: "https://evil.example.net",
      "access-control-request-method": "PUT",
    };
    await get(port, "/cart", headers, { method: "OPTIONS" });
    return app.hits - before;
  };

  it("forwards a preflight from an origin the policy doesn't allow (FORWARD, the default), or answers it (IGNORE)", async () => {
    expect(await preflightFrom(mesh(app.port))).toBe(1);
    const ignore = mesh(app.port).replace(
      "allowCredentials: true",
      "allowCredentials: true\n      unmatchedPreflights: IGNORE",
    );
    expect(await preflightFrom(ignore)).toBe(0);
  });
});
