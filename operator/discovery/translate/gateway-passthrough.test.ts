// A Gateway's PASSTHROUGH server through translate and the engine, as Istio's ingress "TLS passthrough" task has it:
// a bound VirtualService's tls route sends a server name to a backend that terminates TLS itself; the client verifies
// the backend's own certificate through the gateway, and a name no route has gets no handshake.
import { createServer as createTlsServer, connect, type Server } from "node:tls";
import type { AddressInfo } from "node:net";
import type { Engine } from "../../../proxy/engine/engine.js";
import { testCa, type TestCa } from "../../../test/support/engine/mesh-certs.js";
import { freePorts } from "../../../hack/paths.js";
import { validateObject } from "../validate/index.js";
import { l4BehindGateway, oneServerGateway as server } from "../../../test/support/discovery/mesh.js";
import { runTranslated } from "../../../test/support/discovery/translated.js";
import type { TranslateResult } from "./index.js";

/**
 * Another namespace's VirtualService bound to the Gateway, claiming names the Gateway keeps to its own namespace
 * (`./bank.example.com`) and one it opens to all (`*\/*.shop.example.com`), sending them to the same backend.
 */
const tenant = (backendPort: number) => `
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: tenant-nginx, namespace: tenant }
spec:
  hosts: [tenant-nginx.tenant.svc.cluster.local]
  ports: [{ number: 443, name: https, protocol: HTTPS, targetPort: ${backendPort} }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1 }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: claims, namespace: tenant }
spec:
  hosts: [bank.example.com, a.shop.example.com]
  gateways: [default/mygateway]
  tls:
  - match: [{ sniHosts: [bank.example.com] }]
    route: [{ destination: { host: tenant-nginx.tenant.svc.cluster.local } }]
  - match: [{ sniHosts: [a.shop.example.com] }]
    route: [{ destination: { host: tenant-nginx.tenant.svc.cluster.local } }]
`;

describe("a Gateway's PASSTHROUGH server", () => {
  let ca: TestCa;
  let backend: Server;
  let engine: Engine;
  let out: TranslateResult;
  let port = 0;

  beforeAll(async () => {
    ca = await testCa("backend root");
    const leaf = await ca.issue({ dns: "nginx.example.com" });
    backend = createTlsServer(leaf, (s) => s.end(`backend saw ${s.servername}`));
    await new Promise<void>((r) => backend.listen(0, "127.0.0.1", r));
    port = (await freePorts(1, "0.0.0.0"))[0] as number;
    const yaml = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: mygateway, namespace: default }
spec:
  servers:
  - port: { number: ${port}, name: https, protocol: HTTPS }
    hosts: [nginx.example.com, ./bank.example.com, "*/*.shop.example.com"]
    tls: { mode: PASSTHROUGH }
${l4BehindGateway("tls", { name: "my-nginx", host: "nginx.example.com", port, target: (backend.address() as AddressInfo).port, protocol: "HTTPS", gateway: "mygateway" })}`;
    ({ engine, out } = await runTranslated(
      yaml + tenant((backend.address() as AddressInfo).port),
      "router~127.0.0.1~gw-0.default~default.svc.cluster.local",
    ));
  });
  afterAll(async () => {
    await engine.stop();
    backend.close();
  });

  /** What a client asking for `servername` gets through the gateway; `anyCert`: whatever certificate is served. */
  const reach = (servername: string, anyCert = false) =>
    new Promise<string>((resolve) => {
      const trust = anyCert ? { rejectUnauthorized: false } : { ca: ca.ca };
      const s = connect({ host: "127.0.0.1", port, servername, ...trust });
      let got = "";
      s.on("data", (d: Buffer) => (got += d.toString()));
      s.on("end", () => resolve(got));
      s.on("error", (e) => resolve(`error: ${e.message}`));
    });

  it("passes the TLS through to the backend the tls route names: the client verifies the backend's certificate", async () => {
    expect(await reach("nginx.example.com")).toBe("backend saw nginx.example.com");
  });

  it("gives a server name no route has no handshake", async () => {
    // Closed before the handshake: no byte of the backend's, whichever way the client learns it.
    expect(await reach("other.example.com")).toMatch(/^(error: .*)?$/);
  });

  it("takes another namespace's routes only for the names the Gateway opens to it (ns/host), as istiod", async () => {
    // The tenant's route for ./bank.example.com (the Gateway's own namespace only) used to get a chain: a client asking
    // for bank.example.com reached the tenant's backend. Now only the name under */ does.
    expect(await reach("bank.example.com", true)).toMatch(/^(error: .*)?$/);
    expect(await reach("a.shop.example.com", true)).toBe("backend saw a.shop.example.com");
    const names = out.listeners.flatMap((l) =>
      (l.filter_chains ?? []).flatMap((c) => c.filter_chain_match?.server_names ?? []),
    );
    expect(names.sort()).toEqual(["a.shop.example.com", "nginx.example.com"]);
  });

  it("validates as Istio: PASSTHROUGH takes no certificates, on TLS servers too", () => {
    expect(validateObject(server("TLS", { mode: "PASSTHROUGH" }))).toEqual([]);
    expect(validateObject(server("HTTPS", {}))).toEqual([]); // Istio's default mode
    expect(validateObject(server("HTTPS", { mode: "PASSTHROUGH", credentialName: "c" }))).toEqual([
      "spec.servers[0].tls.credentialName: is not used with PASSTHROUGH (the backend terminates TLS)",
    ]);
    // httpsRedirect is an HTTP server's: accepted on a passthrough server, it would do nothing.
    expect(validateObject(server("TLS", { mode: "PASSTHROUGH", httpsRedirect: true }))).toEqual([
      "spec.servers[0].tls.httpsRedirect: is not used with PASSTHROUGH (the backend terminates TLS)",
    ]);
    // A TLS server may terminate TLS too (then it proxies tcp routes): translate/gateway-tls-server.test.ts.
    expect(validateObject(server("TLS", { mode: "SIMPLE", credentialName: "c" }))).toEqual([]);
    expect(validateObject(server("TLS", { mode: "AUTO_PASSTHROUGH" }))).toContain(
      "spec.servers[0].tls.mode: AUTO_PASSTHROUGH is not supported yet for TLS servers (SIMPLE, MUTUAL, OPTIONAL_MUTUAL, ISTIO_MUTUAL and PASSTHROUGH are)",
    );
  });
});
