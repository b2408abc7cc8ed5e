// A Gateway server's `namespace/host` says which namespaces' VirtualServices may route its names (`.`: the Gateway's
// own, `*`: any), as istiod's pickMatchingGatewayHosts: through translate and the engine, another namespace's
// VirtualService bound to the Gateway can't take a name kept to the Gateway's namespace. (The namespace part was
// ignored: any namespace that could bind to the Gateway could route its names; PASSTHROUGH: gateway-passthrough.test.)
import { freePorts } from "../../../hack/paths.js";
import type { Engine } from "../../../proxy/engine/engine.js";
import { backend, get, type Backend } from "../../../test/support/engine/helpers.js";
import { runTranslated } from "../../../test/support/discovery/translated.js";

const config = (port: number, owner: number, tenant: number) => `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge, namespace: shop }
spec:
  servers:
  - port: { number: ${port}, name: http, protocol: HTTP }
    hosts: [./pay.example.com, "*/*.apps.example.com"]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: owner, namespace: shop }
spec:
  hosts: [owner.internal]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { http: ${owner} } }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: tenant, namespace: tenant }
spec:
  hosts: [tenant.internal]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1, ports: { http: ${tenant} } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: claims, namespace: tenant }
spec:
  hosts: [pay.example.com, blog.apps.example.com]
  gateways: [shop/edge]
  http: [{ route: [{ destination: { host: tenant.internal } }] }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: pay, namespace: shop }
spec:
  hosts: [pay.example.com]
  gateways: [edge]
  http: [{ route: [{ destination: { host: owner.internal } }] }]
`;

describe("a Gateway server's namespace/host", () => {
  let owner: Backend;
  let tenant: Backend;
  let engine: Engine;
  let port = 0;

  beforeAll(async () => {
    owner = await backend("owner");
    tenant = await backend("tenant");
    port = (await freePorts(1, "0.0.0.0"))[0] as number;
    ({ engine } = await runTranslated(
      config(port, owner.port, tenant.port),
      "router~127.0.0.1~edge-0.shop~shop.svc.cluster.local",
    ));
  });
  afterAll(async () => {
    await engine.stop();
    await owner.close();
    await tenant.close();
  });

  const who = async (host: string) => {
    const r = await get(port, "/", { host });
    return r.status === 200 ? (JSON.parse(r.body) as { name: string }).name : r.status;
  };

  it("keeps ./ names to the Gateway's namespace: another namespace's route for one gets no request", async () => {
    // The tenant's VirtualService comes first and used to take pay.example.com's requests.
    expect(await who("pay.example.com")).toBe("owner");
  });

  it("lets any namespace route a name under */", async () => {
    expect(await who("blog.apps.example.com")).toBe("tenant");
  });
});
