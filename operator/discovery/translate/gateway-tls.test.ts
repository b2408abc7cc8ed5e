// A Gateway's HTTPS server through translate and the engine, as an ingress gateway serves it: TLS terminated with the
// mounted certificate, the bound VirtualService's routes behind it, MUTUAL's client certificates checked, and an
// HTTP server's httpsRedirect answered with a 301 to https.
import type { Engine } from "../../../proxy/engine/engine.js";
import { freePorts } from "../../../hack/paths.js";
import { gatewayFiles } from "../../../test/support/discovery/gateway-files.js";
import { generateCa, issueCert, type KeyPair } from "../../runtime/pki.js";
import { backend, get, type Backend } from "../../../test/support/engine/helpers.js";
import { appBehindGateway } from "../../../test/support/discovery/mesh.js";
import { validateObject } from "../validate/index.js";
import { runTranslated } from "../../../test/support/discovery/translated.js";

/** An HTTPS request to the gateway for `host`, trusting `ca`, with a client certificate when given. */
const httpsGet = (port: number, host: string, ca: string, client?: KeyPair) =>
  get(
    port,
    "/hello",
    {},
    { tls: { servername: host, ca, ...(client ? { cert: client.certPem, key: client.keyPem } : {}) } },
  );

describe("a Gateway's HTTPS server", () => {
  let app: Backend;
  let engine: Engine;
  let ca: KeyPair;
  let clientCa: KeyPair;
  let client: KeyPair;
  const ports = { https: 0, mutual: 0, http: 0, modern: 0 };

  beforeAll(async () => {
    app = await backend("app", (req, res) => res.end(`app saw ${String(req.headers["x-forwarded-proto"])}`));
    ca = await generateCa("gateway root", 1);
    clientCa = await generateCa("client root", 1);
    client = await issueCert(clientCa, { commonName: "partner", usage: "client", days: 1 });
    const leaf = await issueCert(ca, {
      commonName: "shop.example.com",
      dnsNames: ["shop.example.com"],
      usage: "server",
      days: 1,
    });
    const dir = gatewayFiles("weft-gw-tls-", leaf, clientCa.certPem);
    const keys = Object.keys(ports) as (keyof typeof ports)[];
    (await freePorts(keys.length, "0.0.0.0")).forEach((p, i) => (ports[keys[i]!] = p));
    const yaml = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge, namespace: default }
spec:
  servers:
  - port: { number: ${ports.https}, name: https, protocol: HTTPS }
    hosts: [shop.example.com]
    tls: { mode: SIMPLE, serverCertificate: ${dir}/tls.crt, privateKey: ${dir}/tls.key }
  - port: { number: ${ports.mutual}, name: https-mtls, protocol: HTTPS }
    hosts: [shop.example.com]
    tls: { mode: MUTUAL, serverCertificate: ${dir}/tls.crt, privateKey: ${dir}/tls.key, caCertificates: ${dir}/client-ca.crt }
  - port: { number: ${ports.http}, name: http, protocol: HTTP }
    hosts: [shop.example.com]
    tls: { httpsRedirect: true }
  - port: { number: ${ports.modern}, name: https-modern, protocol: HTTPS }
    hosts: [shop.example.com]
    tls: { mode: SIMPLE, serverCertificate: ${dir}/tls.crt, privateKey: ${dir}/tls.key, minProtocolVersion: TLSV1_3 }
${appBehindGateway(app.port, ["shop.example.com"])}`;
    ({ engine } = await runTranslated(yaml, "router~127.0.0.1~edge-0.default~default.svc.cluster.local"));
  });
  afterAll(async () => {
    await engine.stop();
    await app.close();
  });

  it("terminates TLS with the mounted certificate and routes the bound VirtualService behind it", async () => {
    expect(await httpsGet(ports.https, "shop.example.com", ca.certPem)).toMatchObject({
      status: 200,
      body: "app saw https",
    });
  });

  it("MUTUAL: serves a client whose certificate the CA signed, and no other", async () => {
    expect((await httpsGet(ports.mutual, "shop.example.com", ca.certPem, client)).status).toBe(200);
    await expect(httpsGet(ports.mutual, "shop.example.com", ca.certPem)).rejects.toThrow();
  });

  it("redirects plaintext to https on an httpsRedirect server", async () => {
    const r = await get(ports.http, "/cart?id=1", { host: "shop.example.com" }, { agent: false });
    expect([r.status, r.headers.location]).toEqual([301, "https://shop.example.com/cart?id=1"]);
  });

  it("minProtocolVersion TLSV1_3: a TLS 1.2 client's handshake fails, a TLS 1.3 one is served", async () => {
    await expect(
      get(
        ports.modern,
        "/hello",
        {},
        { tls: { servername: "shop.example.com", ca: ca.certPem, maxVersion: "TLSv1.2" } },
      ),
    ).rejects.toThrow();
    expect((await httpsGet(ports.modern, "shop.example.com", ca.certPem)).status).toBe(200);
  });

  it("refuses what it can't do yet, naming the field", () => {
    const server = (tls: Record<string, unknown>) => ({
      apiVersion: "networking.istio.io/v1",
      kind: "Gateway",
      metadata: { name: "g" },
      spec: { servers: [{ port: { number: 443, name: "https", protocol: "HTTPS" }, hosts: ["*"], tls }] },
    });
    expect(validateObject(server({ mode: "MUTUAL", credentialName: "shop-cert" }))).toEqual([]);
    const files = { mode: "SIMPLE", serverCertificate: "/c", privateKey: "/k" };
    expect(
      validateObject(
        server({
          ...files,
          cipherSuites: [
            "ECDHE-RSA-AES128-GCM-SHA256",
            "[ECDHE-ECDSA-AES128-GCM-SHA256|ECDHE-ECDSA-CHACHA20-POLY1305]",
          ],
        }),
      ),
    ).toEqual([]);
    expect(validateObject(server({ ...files, cipherSuites: ["TLS_AES_128_GCM_SHA256", "RC4-MD5X"] }))).toEqual([
      'spec.servers[0].tls.cipherSuites[0]: "TLS_AES_128_GCM_SHA256" is not a TLS 1.0-1.2 cipher suite this proxy has',
      'spec.servers[0].tls.cipherSuites[1]: "RC4-MD5X" is not a TLS 1.0-1.2 cipher suite this proxy has',
    ]);
    expect(validateObject(server({ ...files, minProtocolVersion: "TLSV1_3", maxProtocolVersion: "TLSV1_2" }))).toEqual([
      "spec.servers[0].tls.minProtocolVersion: TLSV1_3 is above maxProtocolVersion TLSV1_2",
    ]);
    expect(validateObject(server({ mode: "AUTO_PASSTHROUGH" }))).toContain(
      "spec.servers[0].tls.mode: AUTO_PASSTHROUGH is not supported yet for HTTPS servers (SIMPLE, MUTUAL, OPTIONAL_MUTUAL, ISTIO_MUTUAL and PASSTHROUGH are)",
    );
  });
});
