// A gateway is the mesh's edge, through translate and the engine: an AuthorizationPolicy's remoteIpBlocks on the
// ingress gateway holds against a client that names an allowed address in x-forwarded-for, and the mesh config's
// gatewayTopology.numTrustedProxies makes the load balancer's entry the client. Sidecars keep trusting x-forwarded-for.
import type { Engine } from "../../../proxy/engine/engine.js";
import { backend, freePort, get, testEngine, type Backend } from "../../../test/support/engine/helpers.js";
import { meshModel } from "../../../test/support/discovery/mesh.js";
import { DEFAULT_MESH, parseMeshConfig } from "../model/mesh.js";
import { parseNodeId, translate } from "./index.js";

const GATEWAY = parseNodeId("router~127.0.0.1~edge-0.default~default.svc.cluster.local");

const config = (port: number, app: number) => `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge, namespace: default }
spec:
  servers: [{ port: { number: ${port}, name: http, protocol: HTTP }, hosts: [shop.example.com] }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: app, namespace: default }
spec:
  hosts: [app.internal]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { http: ${app} } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: shop, namespace: default }
spec:
  hosts: [shop.example.com]
  gateways: [edge]
  http: [{ route: [{ destination: { host: app.internal } }] }]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-list, namespace: default }
spec:
  action: ALLOW
  rules: [{ from: [{ source: { remoteIpBlocks: [192.0.2.0/24] } }] }]
`;

describe("a gateway is the edge: the client's address is its connection's", () => {
  let app: Backend;
  const engines: Engine[] = [];
  beforeAll(async () => {
    app = await backend("app");
  });
  afterAll(async () => {
    for (const e of engines) await e.stop();
    await app.close();
  });

  async function gateway(numTrustedProxies: number): Promise<number> {
    const port = await freePort();
    const model = meshModel(config(port, app.port));
    model.mesh = { ...DEFAULT_MESH, numTrustedProxies };
    const out = translate(model, GATEWAY);
    engines.push(
      await testEngine({
        listeners: out.listeners,
        routes: out.routes,
        clusters: out.clusters,
        endpoints: out.endpoints,
      }),
    );
    return port;
  }

  it("denies a client outside remoteIpBlocks that claims an address inside them", async () => {
    const port = await gateway(0);
    const r = await get(port, "/", { host: "shop.example.com", "x-forwarded-for": "192.0.2.10" });
    expect(r.status).toBe(403);
  });

  it("with numTrustedProxies 1, believes the load balancer's entry, and only that one", async () => {
    const port = await gateway(1);
    const ok = await get(port, "/", { host: "shop.example.com", "x-forwarded-for": "203.0.113.1, 192.0.2.10" });
    expect(ok.status).toBe(200);
    const seen = (JSON.parse(ok.body) as { headers: Record<string, string> }).headers;
    expect(seen["x-envoy-external-address"]).toBe("192.0.2.10");
    const claimed = await get(port, "/", { host: "shop.example.com", "x-forwarded-for": "192.0.2.10, 203.0.113.1" });
    expect(claimed.status).toBe(403);
  });

  it("writes use_remote_address on gateways only, and reads numTrustedProxies from the mesh config", () => {
    const hcms = (out: ReturnType<typeof translate>) =>
      JSON.stringify(out.listeners).match(/"use_remote_address":true/g)?.length ?? 0;
    const model = meshModel(config(8080, 9));
    expect(hcms(translate(model, GATEWAY))).toBe(1);
    expect(hcms(translate(model, parseNodeId("sidecar~10.0.0.12~app-0.default~default.svc.cluster.local")))).toBe(0);
    expect(parseMeshConfig("defaultConfig:\n  gatewayTopology:\n    numTrustedProxies: 2\n").numTrustedProxies).toBe(2);
    expect(() => parseMeshConfig("defaultConfig:\n  gatewayTopology:\n    proxyProtocol: {}\n")).toThrow(
      "defaultConfig.gatewayTopology.proxyProtocol: unknown field (known: numTrustedProxies, forwardClientCertDetails)",
    );
  });
});
