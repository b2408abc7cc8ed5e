// A Gateway's OPTIONAL_MUTUAL HTTPS servers through translate and the engine, as istiod renders them (MUTUAL's
// DownstreamTlsContext with require_client_certificate false): a client without a certificate is served, one whose
// certificate the CA signed is served, one presenting a certificate from another CA is refused; mounted files or a
// credentialName's Secret (its CA from `<name>-cacert`) alike. Validated as istiod's validateTLSOptions.
import type { Engine } from "../../../proxy/engine/engine.js";
import { workloadSecrets } from "../../../proxy/agent/secrets.js";
import { freePorts } from "../../../hack/paths.js";
import { gatewayFiles } from "../../../test/support/discovery/gateway-files.js";
import { generateCa, issueCert, type KeyPair } from "../../runtime/pki.js";
import { backend, get, testEngine, type Backend } from "../../../test/support/engine/helpers.js";
import {
  appBehindGateway,
  meshModel,
  oneServerGateway as server,
  secretYaml,
} from "../../../test/support/discovery/mesh.js";
import { violations } from "../../../test/support/discovery/envoy.js";
import { parseYaml } from "../../../test/support/discovery/bookinfo.js";
import { validateObject } from "../validate/index.js";
import { parseNodeId, translate, type TranslateResult } from "./index.js";

const NODE = "router~127.0.0.1~gw-0.istio-system~istio-system.svc.cluster.local";
const HOST = "shop.example.com";

describe("a Gateway's OPTIONAL_MUTUAL HTTPS servers", () => {
  let app: Backend;
  let engine: Engine;
  let ca: KeyPair;
  let partner: KeyPair;
  let stranger: KeyPair;
  let out: TranslateResult;
  let dir = "";
  const ports = { files: 0, sds: 0 };

  /** An HTTPS request to the gateway on `port`, with `client`'s certificate when given: status and body. */
  const httpsGet = async (port: number, client?: KeyPair) => {
    const r = await get(
      port,
      "/",
      {},
      { tls: { servername: HOST, ca: ca.certPem, ...(client ? { cert: client.certPem, key: client.keyPem } : {}) } },
    );
    return `${r.status} ${r.body}`;
  };

  beforeAll(async () => {
    app = await backend("app", (_req, res) => res.end("app says hello"));
    ca = await generateCa("gateway root", 1);
    const partnerCa = await generateCa("partner root", 1);
    partner = await issueCert(partnerCa, { commonName: "partner", usage: "client", days: 1 });
    // The same name from another CA: what an attacker's own CA would issue.
    stranger = await issueCert(await generateCa("partner root", 1), {
      commonName: "partner",
      usage: "client",
      days: 1,
    });
    const leaf = await issueCert(ca, { commonName: HOST, dnsNames: [HOST], usage: "server", days: 1 });
    dir = gatewayFiles("weft-gw-optional-", leaf, partnerCa.certPem);
    [ports.files, ports.sds] = (await freePorts(2, "0.0.0.0")) as [number, number];
    const yaml = `
${secretYaml("shop-cert", "istio-system", { "tls.crt": leaf.certPem, "tls.key": leaf.keyPem }, { type: "kubernetes.io/tls" })}\
${secretYaml("shop-cert-cacert", "istio-system", { "ca.crt": partnerCa.certPem })}\
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge, namespace: default }
spec:
  servers:
  - port: { number: ${ports.files}, name: https-files, protocol: HTTPS }
    hosts: [${HOST}]
    tls: { mode: OPTIONAL_MUTUAL, serverCertificate: ${dir}/tls.crt, privateKey: ${dir}/tls.key, caCertificates: ${dir}/client-ca.crt }
  - port: { number: ${ports.sds}, name: https-sds, protocol: HTTPS }
    hosts: [${HOST}]
    tls: { mode: OPTIONAL_MUTUAL, credentialName: shop-cert }
${appBehindGateway(app.port, [HOST])}`;
    for (const o of parseYaml(yaml)) if (o.kind !== "Secret") expect(validateObject(o)).toEqual([]);
    out = translate(meshModel(yaml), { ...parseNodeId(NODE), mtls: true });
    expect(out.warnings).toEqual([]);
    const mesh = await issueCert(ca, { commonName: "gw", usage: "client", days: 1 });
    const own = workloadSecrets({ certChainPem: mesh.certPem, keyPem: mesh.keyPem, rootPem: ca.certPem });
    engine = await testEngine({ ...out, secrets: [...own, ...out.secrets] });
  });
  afterAll(async () => {
    await engine?.stop();
    await app.close();
  });

  it("serves a client without a certificate", async () => {
    expect(await httpsGet(ports.files)).toBe("200 app says hello");
    expect(await httpsGet(ports.sds)).toBe("200 app says hello");
  });

  it("serves a client whose certificate the CA signed", async () => {
    expect(await httpsGet(ports.files, partner)).toBe("200 app says hello");
    expect(await httpsGet(ports.sds, partner)).toBe("200 app says hello");
  });

  it("refuses a client presenting a certificate from another CA: no byte of the app's", async () => {
    await expect(httpsGet(ports.files, stranger)).rejects.toThrow();
    await expect(httpsGet(ports.sds, stranger)).rejects.toThrow();
  });

  it("writes istiod's DownstreamTlsContext: MUTUAL's validation context, require_client_certificate false", () => {
    expect(violations(out)).toEqual([]);
    const context = (port: number) =>
      out.listeners.find((l) => l.name === `0.0.0.0_${port}`)?.filter_chains?.[0]?.transport_socket?.typed_config;
    expect(context(ports.files)).toEqual({
      "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
      common_tls_context: {
        tls_certificates: [
          { certificate_chain: { filename: `${dir}/tls.crt` }, private_key: { filename: `${dir}/tls.key` } },
        ],
        validation_context: { trusted_ca: { filename: `${dir}/client-ca.crt` } },
        alpn_protocols: ["h2", "http/1.1"],
      },
      require_client_certificate: false,
    });
    expect(context(ports.sds)).toEqual({
      "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
      common_tls_context: {
        tls_certificate_sds_secret_configs: [
          { name: "kubernetes://shop-cert", sds_config: { ads: {}, resource_api_version: "V3" } },
        ],
        combined_validation_context: {
          default_validation_context: {},
          validation_context_sds_secret_config: {
            name: "kubernetes://shop-cert-cacert",
            sds_config: { ads: {}, resource_api_version: "V3" },
          },
        },
        alpn_protocols: ["h2", "http/1.1"],
      },
      require_client_certificate: false,
    });
    expect(out.secrets.map((s) => s.name)).toEqual(["kubernetes://shop-cert", "kubernetes://shop-cert-cacert"]);
  });

  it("validates as istiod: the client CA is required with files, not with credentialName", () => {
    const files = { mode: "OPTIONAL_MUTUAL", serverCertificate: "/c", privateKey: "/k" };
    expect(validateObject(server("HTTPS", files))).toEqual([
      "spec.servers[0].tls.caCertificates: is required with OPTIONAL_MUTUAL (the CA client certificates are checked against)",
    ]);
    expect(validateObject(server("HTTPS", { ...files, caCertificates: "/ca" }))).toEqual([]);
    expect(validateObject(server("HTTPS", { mode: "OPTIONAL_MUTUAL", credentialName: "c" }))).toEqual([]);
    expect(
      validateObject(server("HTTPS", { mode: "OPTIONAL_MUTUAL", credentialName: "c", caCertificates: "/ca" })),
    ).toEqual(["spec.servers[0].tls.caCertificates: is not used with credentialName (the Secret holds it)"]);
  });
});
