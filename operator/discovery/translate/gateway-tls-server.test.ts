// A Gateway's TLS servers that terminate TLS with a certificate of their own (SIMPLE, MUTUAL, OPTIONAL_MUTUAL), as
// istiod's TLS-terminating TCP server: the bound VirtualService's tcp route proxies the decrypted bytes; under MUTUAL
// a client without a certificate the CA signed gets none of them. Istio's DownstreamTlsContext (ALPN h2, http/1.1).
import { createServer, type AddressInfo, type Server } from "node:net";
import { connect } from "node:tls";
import type { Engine } from "../../../proxy/engine/engine.js";
import { freePorts } from "../../../hack/paths.js";
import { gatewayFiles } from "../../../test/support/discovery/gateway-files.js";
import { generateCa, issueCert, type KeyPair } from "../../runtime/pki.js";
import { l4BehindGateway } from "../../../test/support/discovery/mesh.js";
import { runTranslated } from "../../../test/support/discovery/translated.js";
import type { TranslateResult } from "./index.js";

const HOST = "db.example.com";

describe("a Gateway's TLS servers terminating TLS (SIMPLE, MUTUAL)", () => {
  let db: Server;
  let engine: Engine;
  let out: TranslateResult;
  let ca: KeyPair;
  let client: KeyPair;
  const ports = { simple: 0, mutual: 0 };

  /** A TLS connection to the gateway: what the backend sent, or the failure. */
  const tlsRead = (port: number, cert?: KeyPair) =>
    new Promise<string>((resolve) => {
      const s = connect({
        host: "127.0.0.1",
        port,
        servername: HOST,
        ca: ca.certPem,
        ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}),
      });
      let got = "";
      s.on("data", (d: Buffer) => (got += d.toString()));
      s.on("end", () => resolve(got));
      s.on("error", (e) => resolve(`error: ${e.message}`));
    });

  beforeAll(async () => {
    db = createServer((s) => s.end("db says hello"));
    await new Promise<void>((r) => db.listen(0, "127.0.0.1", r));
    ca = await generateCa("gateway root", 1);
    const clientCa = await generateCa("client root", 1);
    client = await issueCert(clientCa, { commonName: "partner", usage: "client", days: 1 });
    const leaf = await issueCert(ca, { commonName: HOST, dnsNames: [HOST], usage: "server", days: 1 });
    const dir = gatewayFiles("weft-gw-tls-server-", leaf, clientCa.certPem);
    [ports.simple, ports.mutual] = (await freePorts(2, "0.0.0.0")) as [number, number];
    const files = `serverCertificate: ${dir}/tls.crt, privateKey: ${dir}/tls.key`;
    const target = (db.address() as AddressInfo).port;
    const yaml = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge, namespace: default }
spec:
  servers:
  - port: { number: ${ports.simple}, name: tls-simple, protocol: TLS }
    hosts: [${HOST}]
    tls: { mode: SIMPLE, ${files} }
  - port: { number: ${ports.mutual}, name: tls-mutual, protocol: TLS }
    hosts: [${HOST}]
    tls: { mode: MUTUAL, ${files}, caCertificates: ${dir}/client-ca.crt }
${l4BehindGateway("tcp", { name: "db-simple", host: HOST, port: ports.simple, target, protocol: "TCP" })}\
${l4BehindGateway("tcp", { name: "db-mutual", host: HOST, port: ports.mutual, target, protocol: "TCP" })}`;
    ({ engine, out } = await runTranslated(yaml, "router~127.0.0.1~edge-0.default~default.svc.cluster.local"));
  });
  afterAll(async () => {
    db.close();
    await engine?.stop();
  });

  it("SIMPLE: terminates TLS with the server's certificate and proxies the tcp route", async () => {
    expect(await tlsRead(ports.simple)).toBe("db says hello");
  });

  it("MUTUAL: proxies for a client the CA signed; one without a certificate gets no byte of the backend's", async () => {
    expect(await tlsRead(ports.mutual, client)).toBe("db says hello");
    expect(await tlsRead(ports.mutual)).toMatch(/^error: /);
  });

  it("writes istiod's DownstreamTlsContext for a TLS-terminating TCP server: ALPN h2, http/1.1, a TcpProxy", () => {
    const chain = out.listeners.find((l) => l.name === `0.0.0.0_${ports.mutual}`)?.filter_chains?.[0];
    expect(chain?.filters?.map((f) => f.name)).toEqual(["envoy.filters.network.tcp_proxy"]);
    expect(chain?.transport_socket?.typed_config).toMatchObject({
      common_tls_context: { alpn_protocols: ["h2", "http/1.1"] },
      require_client_certificate: true,
    });
  });
});
