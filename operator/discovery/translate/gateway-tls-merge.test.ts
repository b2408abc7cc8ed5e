// A PASSTHROUGH server and a terminating HTTPS server on one port, through translate and the engine, merged by SNI as
// istiod merges them: one listener, the passthrough name's chain a TcpProxy to the backend (which terminates TLS
// itself), the other name's chain terminating TLS with the gateway's certificate; a name in both kinds is refused,
// naming the Gateway and server.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer as createTlsServer, connect, type Server } from "node:tls";
import type { AddressInfo } from "node:net";
import type { Engine } from "../../../proxy/engine/engine.js";
import { freePorts } from "../../../hack/paths.js";
import { testCa, type TestCa } from "../../../test/support/engine/mesh-certs.js";
import { backend, get, type Backend } from "../../../test/support/engine/helpers.js";
import { appBehindGateway, l4BehindGateway, meshModel } from "../../../test/support/discovery/mesh.js";
import { runTranslated } from "../../../test/support/discovery/translated.js";
import { parseNodeId, translate, type TranslateResult } from "./index.js";

const NODE = "router~127.0.0.1~gw-0.default~default.svc.cluster.local";

describe("PASSTHROUGH and terminating HTTPS servers on one port", () => {
  let ca: TestCa;
  let app: Backend;
  let nginx: Server;
  let engine: Engine;
  let out: TranslateResult;
  let port = 0;
  let yaml = "";

  beforeAll(async () => {
    ca = await testCa("web root");
    const nginxLeaf = await ca.issue({ dns: "nginx.example.com" });
    const shopLeaf = await ca.issue({ dns: "shop.example.com" });
    nginx = createTlsServer(nginxLeaf, (s) => s.end(`nginx terminated ${s.servername}`));
    await new Promise<void>((r) => nginx.listen(0, "127.0.0.1", r));
    app = await backend("app", (req, res) => res.end(`app saw ${String(req.headers["x-forwarded-proto"])}`));
    const dir = mkdtempSync(join(tmpdir(), "weft-gw-merge-"));
    writeFileSync(join(dir, "tls.crt"), shopLeaf.cert);
    writeFileSync(join(dir, "tls.key"), shopLeaf.key);
    port = (await freePorts(1, "0.0.0.0"))[0] as number;
    yaml = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge, namespace: default }
spec:
  servers:
  - port: { number: ${port}, name: https, protocol: HTTPS }
    hosts: [shop.example.com]
    tls: { mode: SIMPLE, serverCertificate: ${dir}/tls.crt, privateKey: ${dir}/tls.key }
  - port: { number: ${port}, name: tls, protocol: TLS }
    hosts: [nginx.example.com]
    tls: { mode: PASSTHROUGH }
${l4BehindGateway("tls", { name: "nginx", host: "nginx.example.com", port, target: (nginx.address() as AddressInfo).port, protocol: "HTTPS" })}\
${appBehindGateway(app.port, ["shop.example.com"])}`;
    ({ engine, out } = await runTranslated(yaml, NODE));
  });
  afterAll(async () => {
    await engine.stop();
    await app.close();
    nginx.close();
  });

  it("is one listener: a chain per name, by SNI", () => {
    const listeners = out.listeners.filter((l) => l.name === `0.0.0.0_${port}`);
    expect(listeners).toHaveLength(1);
    expect(listeners[0]?.filter_chains?.map((c) => c.filter_chain_match?.server_names)).toEqual([
      ["shop.example.com"],
      ["nginx.example.com"],
    ]);
  });

  it("passes the PASSTHROUGH name's TLS to the backend: the client verifies the backend's own certificate", async () => {
    const got = await new Promise<string>((resolve) => {
      const s = connect({ host: "127.0.0.1", port, servername: "nginx.example.com", ca: ca.ca });
      let data = "";
      s.on("data", (d: Buffer) => (data += d.toString()));
      s.on("end", () => resolve(data));
      s.on("error", (e) => resolve(`error: ${e.message}`));
    });
    expect(got).toBe("nginx terminated nginx.example.com");
  });

  it("terminates the other name's TLS with the gateway's certificate and routes its VirtualService", async () => {
    const r = await get(port, "/", {}, { tls: { servername: "shop.example.com", ca: ca.ca } });
    expect([r.status, r.body]).toEqual([200, "app saw https"]);
  });

  it("refuses a name both passed through and terminated, naming the Gateway and server; the rest serve", () => {
    const clash = `
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: other, namespace: default }
spec:
  servers:
  - port: { number: ${port}, name: tls, protocol: TLS }
    hosts: [shop.example.com]
    tls: { mode: PASSTHROUGH }
`;
    const both = translate(meshModel(yaml + clash), parseNodeId(NODE));
    expect(both.warnings).toEqual([
      `Gateway/default/other: spec.servers[0]: port ${port}: host shop.example.com is already served on this port by Gateway/default/edge: spec.servers[0], which terminates TLS: a name is passed through or terminated, not both; this server is left out`,
    ]);
    expect(both.listeners).toEqual(out.listeners);
  });
});
