// A Gateway's ISTIO_MUTUAL servers through translate and the engine, as Istio's egress gateway has them: the gateway
// presents its own mesh certificate (SDS `default`) and serves only clients whose certificate chains to the mesh root
// (SDS `ROOTCA`); an HTTPS server routes the bound VirtualService, a TLS server proxies its tcp route. A proxy that
// holds no mesh certificate (plaintext xDS) leaves such a server out, warned: never served without mTLS.
import { request } from "node:https";
import { connect, type ConnectionOptions, type TLSSocket } from "node:tls";
import { createServer, type Server } from "node:net";
import type { AddressInfo } from "node:net";
import type { Engine } from "../../../proxy/engine/engine.js";
import { workloadSecrets } from "../../../proxy/agent/secrets.js";
import { freePorts } from "../../../hack/paths.js";
import { testCa, type KeyPair, type TestCa } from "../../../test/support/engine/mesh-certs.js";
import { backend, type Backend } from "../../../test/support/engine/helpers.js";
import {
  appBehindGateway,
  l4BehindGateway,
  meshModel,
  oneServerGateway as server,
} from "../../../test/support/discovery/mesh.js";
import { violations } from "../../../test/support/discovery/envoy.js";
import { runTranslated } from "../../../test/support/discovery/translated.js";
import { validateObject } from "../validate/index.js";
import { parseNodeId, translate, type TranslateResult } from "./index.js";

const GATEWAY_ID = "spiffe://cluster.local/ns/istio-system/sa/istio-egressgateway-service-account";
const NODE = "router~127.0.0.1~egress-0.istio-system~istio-system.svc.cluster.local";

/** As a sidecar checks its peer: the chain to the mesh root (`ca`), and the peer's SPIFFE ID, not a host name. */
const meshClient = (ca: string, client: KeyPair | undefined, servername: string): ConnectionOptions => ({
  ca,
  servername,
  ...(client ? { cert: client.cert, key: client.key } : {}),
  checkServerIdentity: (_host, cert) =>
    cert.subjectaltname === `URI:${GATEWAY_ID}` ? undefined : new Error(`peer is ${cert.subjectaltname}`),
});

/** An HTTPS request to the gateway: the app's answer, or the failure. */
const meshGet = (port: number, ca: string, client?: KeyPair) =>
  new Promise<string>((resolve) => {
    const servername = "shop.example.com";
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: "/",
        headers: { host: servername },
        agent: false,
        ...meshClient(ca, client, servername),
      },
      (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve(`${res.statusCode} ${body}`));
      },
    );
    req.on("error", (e) => resolve(`error: ${e.message}`));
    req.end();
  });

/** A TLS connection to the gateway offering mesh ALPN: what the backend sent, with the ALPN agreed; or the failure. */
const meshTcp = (port: number, ca: string, client?: KeyPair, alpn = ["istio-peer-exchange", "istio"]) =>
  new Promise<string>((resolve) => {
    const s: TLSSocket = connect({
      host: "127.0.0.1",
      port,
      ALPNProtocols: alpn,
      ...meshClient(ca, client, "db.example.com"),
    });
    let got = "";
    s.on("data", (d: Buffer) => (got += d.toString()));
    s.on("end", () => resolve(`${String(s.alpnProtocol)}: ${got}`));
    s.on("error", (e) => resolve(`error: ${e.message}`));
  });

describe("a Gateway's ISTIO_MUTUAL servers", () => {
  let mesh: TestCa;
  let sleep: KeyPair;
  let stranger: KeyPair;
  let app: Backend;
  let db: Server;
  let engine: Engine;
  let yaml = "";
  let out: TranslateResult;
  const ports = { https: 0, tls: 0 };

  beforeAll(async () => {
    mesh = await testCa("mesh root");
    sleep = await mesh.issue({ uri: "spiffe://cluster.local/ns/default/sa/sleep" });
    // The same identity from another root: what a client of another mesh (or an attacker's CA) would present.
    stranger = await (await testCa("other root")).issue({ uri: "spiffe://cluster.local/ns/default/sa/sleep" });
    const gateway = await mesh.issue({ uri: GATEWAY_ID });
    app = await backend("app", (req, res) => res.end(`app saw ${String(req.headers["x-forwarded-proto"])}`));
    db = createServer((s) => s.end("db says hello"));
    await new Promise<void>((r) => db.listen(0, "127.0.0.1", r));
    [ports.https, ports.tls] = (await freePorts(2, "0.0.0.0")) as [number, number];
    yaml = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge, namespace: default }
spec:
  servers:
  - port: { number: ${ports.https}, name: https, protocol: HTTPS }
    hosts: [shop.example.com]
    tls: { mode: ISTIO_MUTUAL }
  - port: { number: ${ports.tls}, name: tls, protocol: TLS }
    hosts: [db.example.com]
    tls: { mode: ISTIO_MUTUAL }
${l4BehindGateway("tcp", { name: "db", host: "db.example.com", port: ports.tls, target: (db.address() as AddressInfo).port, protocol: "TCP" })}\
${appBehindGateway(app.port, ["shop.example.com"])}`;
    const secrets = workloadSecrets({ certChainPem: gateway.cert, keyPem: gateway.key, rootPem: mesh.ca });
    ({ engine, out } = await runTranslated(yaml, NODE, { secrets }));
  });
  afterAll(async () => {
    await engine.stop();
    await app.close();
    db.close();
  });

  it("HTTPS: presents the gateway's mesh certificate and routes a client holding a mesh certificate", async () => {
    expect(await meshGet(ports.https, mesh.ca, sleep)).toBe("200 app saw https");
  });

  it("HTTPS: a client without a certificate, or with one from another root, fails the handshake", async () => {
    expect(await meshGet(ports.https, mesh.ca)).toMatch(/^error: .*certificate required/);
    expect(await meshGet(ports.https, mesh.ca, stranger)).toMatch(/^error: /);
  });

  it("TLS: proxies the tcp route for a mesh client, agreeing Istio's metadata-exchange ALPN", async () => {
    expect(await meshTcp(ports.tls, mesh.ca, sleep)).toBe("istio-peer-exchange: db says hello");
  });

  it("TLS: proxies the tcp route whatever ALPN is agreed, h2 too, as Envoy's tcp_proxy (no HTTP/2 codec)", async () => {
    expect(await meshTcp(ports.tls, mesh.ca, sleep, ["h2"])).toBe("h2: db says hello");
  });

  it("TLS: a client without a certificate, or with one from another root, gets no byte of the backend's", async () => {
    // Refused with TLS 1.3's "certificate required" alert; another root's certificate: closed with nothing sent.
    expect(await meshTcp(ports.tls, mesh.ca)).toMatch(/^error: .*certificate required/);
    expect(await meshTcp(ports.tls, mesh.ca, stranger)).toMatch(/^(error: .*|istio-peer-exchange: )$/);
  });

  it("writes Istio's DownstreamTlsContext: SDS default and ROOTCA, a client certificate required, Istio's ALPN", () => {
    expect(violations(out)).toEqual([]);
    const context = (port: number) =>
      out.listeners.find((l) => l.name === `0.0.0.0_${port}`)?.filter_chains?.[0]?.transport_socket?.typed_config;
    const mtls = (alpn: string[]) => ({
      require_client_certificate: true,
      common_tls_context: {
        alpn_protocols: alpn,
        tls_certificate_sds_secret_configs: [{ name: "default", sds_config: { ads: {} } }],
        combined_validation_context: {
          default_validation_context: {},
          validation_context_sds_secret_config: { name: "ROOTCA", sds_config: { ads: {} } },
        },
      },
    });
    expect(context(ports.https)).toMatchObject(mtls(["h2", "http/1.1"]));
    expect(context(ports.tls)).toMatchObject(mtls(["istio-peer-exchange", "h2", "http/1.1"]));
  });

  it("reads every client's ClientHello (TLS inspector), as istiod for chains that negotiate ALPN, `*` hosts too", () => {
    const every = yaml.replace("hosts: [shop.example.com]", 'hosts: ["*"]');
    const secure = translate(meshModel(every), { ...parseNodeId(NODE), mtls: true });
    const https = secure.listeners.find((l) => l.name === `0.0.0.0_${ports.https}`);
    expect(https?.filter_chains?.[0]?.filter_chain_match).toBeUndefined();
    expect(https?.listener_filters?.map((f) => f.name)).toEqual(["envoy.filters.listener.tls_inspector"]);
  });

  it("leaves the servers out, warned, for a gateway without a mesh certificate (plaintext xDS)", () => {
    const plain = translate(meshModel(yaml), parseNodeId(NODE));
    expect(
      plain.listeners.filter((l) => [`0.0.0.0_${ports.https}`, `0.0.0.0_${ports.tls}`].includes(l.name ?? "")),
    ).toEqual([]);
    expect(plain.warnings).toEqual(
      [0, 1].map(
        (i) =>
          `Gateway/default/edge: spec.servers[${i}].tls.mode: ISTIO_MUTUAL presents the gateway's mesh certificate and this proxy has none (it connected on plaintext xDS, not 15012 with a workload certificate); the server is left out`,
      ),
    );
  });

  it("validates as Istio: ISTIO_MUTUAL takes no certificates of its own, named", () => {
    expect(validateObject(server("TLS", { mode: "ISTIO_MUTUAL" }))).toEqual([]);
    expect(
      validateObject(
        server("HTTPS", {
          mode: "ISTIO_MUTUAL",
          credentialName: "c",
          serverCertificate: "/c",
          privateKey: "/k",
          caCertificates: "/ca",
          minProtocolVersion: "TLSV1_3",
        }),
      ),
    ).toEqual([
      "spec.servers[0].tls.serverCertificate: ISTIO_MUTUAL TLS cannot have associated server certificate",
      "spec.servers[0].tls.privateKey: ISTIO_MUTUAL TLS cannot have associated private key",
      "spec.servers[0].tls.caCertificates: ISTIO_MUTUAL TLS cannot have associated CA bundle",
      "spec.servers[0].tls.credentialName: ISTIO_MUTUAL TLS cannot have associated credentialName",
      "spec.servers[0].tls.minProtocolVersion: is not applied with ISTIO_MUTUAL (the mesh's TLS settings are used)",
    ]);
    // Still refused by name: not implemented.
    expect(validateObject(server("HTTPS", { mode: "AUTO_PASSTHROUGH", credentialName: "c" }))).toContain(
      "spec.servers[0].tls.mode: AUTO_PASSTHROUGH is not supported yet for HTTPS servers (SIMPLE, MUTUAL, OPTIONAL_MUTUAL, ISTIO_MUTUAL and PASSTHROUGH are)",
    );
  });
});
