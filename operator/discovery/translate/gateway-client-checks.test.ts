// A Gateway's MUTUAL HTTPS servers with istiod's further client certificate checks, through translate and the engine:
// caCrl (a credentialName's Secret carries its own `ca.crl`), subjectAltNames, verifyCertificateSpki and
// verifyCertificateHash. The client they name is served; a revoked one, one with another SAN, one not pinned gets no
// byte of the app's. Rendered as istiod's default_validation_context; validated as istiod's validateTLSOptions.
import { createHash, X509Certificate } from "node:crypto";
import { writeFileSync } from "node:fs";
import type { Engine } from "../../../proxy/engine/engine.js";
import { workloadSecrets } from "../../../proxy/agent/secrets.js";
import { freePorts } from "../../../hack/paths.js";
import { gatewayFiles } from "../../../test/support/discovery/gateway-files.js";
import { revocationList } from "../../../test/support/engine/certs.js";
import { generateCa, issueCert, type KeyPair } from "../../runtime/pki.js";
import { backend, get, type Backend } from "../../../test/support/engine/helpers.js";
import { appBehindGateway, oneServerGateway as server, secretYaml } from "../../../test/support/discovery/mesh.js";
import { runTranslated } from "../../../test/support/discovery/translated.js";
import { violations } from "../../../test/support/discovery/envoy.js";
import { validateObject } from "../validate/index.js";
import type { TranslateResult } from "./index.js";

const NODE = "router~127.0.0.1~gw-0.istio-system~istio-system.svc.cluster.local";
const HOST = "shop.example.com";
const ADS = { ads: {}, resource_api_version: "V3" };

describe("a Gateway's MUTUAL servers checking client certificates: caCrl, subjectAltNames, pins", () => {
  let app: Backend;
  let engine: Engine;
  let ca: KeyPair;
  const clients: Record<"partner" | "other" | "revoked", KeyPair> = {} as never;
  let out: TranslateResult;
  let dir = "";
  let hash = "";
  let spki: string[] = [];
  const ports = { crl: 0, san: 0, pin: 0, sds: 0, mesh: 0 };

  /** What a client with `client`'s certificate sees: status and body, or "refused" (nothing served). */
  const httpsGet = async (port: number, client: KeyPair) => {
    const tls = { servername: HOST, ca: ca.certPem, cert: client.certPem, key: client.keyPem };
    try {
      const r = await get(port, "/", {}, { tls });
      return `${r.status} ${r.body}`;
    } catch {
      return "refused";
    }
  };
  const stat = (port: number, name: string) =>
    Number(new RegExp(`^listener\\.0\\.0\\.0\\.0_${port}\\.ssl\\.${name}: (\\d+)$`, "m").exec(engine.statsText())?.[1]);

  beforeAll(async () => {
    app = await backend("app", (_req, res) => res.end("app says hello"));
    ca = await generateCa("gateway root", 1);
    const partnerCa = await generateCa("partner root", 1);
    for (const name of ["partner", "other", "revoked"] as const)
      clients[name] = await issueCert(partnerCa, {
        commonName: name,
        dnsNames: [`${name}.example.com`],
        usage: "client",
        days: 1,
      });
    hash = new X509Certificate(clients.partner.certPem).fingerprint256;
    // The partner's public key and the revoked client's: that one is refused by the CRL alone.
    spki = [clients.partner, clients.revoked].map(({ certPem }) =>
      createHash("sha256")
        .update(new X509Certificate(certPem).publicKey.export({ type: "spki", format: "der" }))
        .digest("base64"),
    );
    const crl = await revocationList(partnerCa, [clients.revoked.certPem]);
    const leaf = await issueCert(ca, { commonName: HOST, dnsNames: [HOST], usage: "server", days: 1 });
    dir = gatewayFiles("weft-gw-checks-", leaf, partnerCa.certPem);
    writeFileSync(`${dir}/client.crl`, crl);
    [ports.crl, ports.san, ports.pin, ports.sds, ports.mesh] = (await freePorts(5, "0.0.0.0")) as [
      number,
      number,
      number,
      number,
      number,
    ];
    const files = `mode: MUTUAL, serverCertificate: ${dir}/tls.crt, privateKey: ${dir}/tls.key, caCertificates: ${dir}/client-ca.crt`;
    const https = (port: number, name: string, tls: string) => `
  - port: { number: ${port}, name: ${name}, protocol: HTTPS }
    hosts: [${HOST}]
    tls: { ${tls} }`;
    const yaml = `
${secretYaml("shop-cert", "istio-system", { "tls.crt": leaf.certPem, "tls.key": leaf.keyPem, "ca.crt": partnerCa.certPem, "ca.crl": crl }, { type: "kubernetes.io/tls" })}\
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge, namespace: default }
spec:
  servers:${https(ports.crl, "https-crl", `${files}, caCrl: ${dir}/client.crl`)}\
${https(ports.san, "https-san", `${files}, subjectAltNames: [partner.example.com, revoked.example.com]`)}\
${https(ports.pin, "https-pin", `${files}, verifyCertificateHash: ["${hash}"]`)}\
${https(ports.sds, "https-sds", `mode: MUTUAL, credentialName: shop-cert, subjectAltNames: [partner.example.com, revoked.example.com], verifyCertificateSpki: ${JSON.stringify(spki)}, verifyCertificateHash: ["${"00".repeat(32)}"]`)}\
${https(ports.mesh, "https-mesh", `mode: ISTIO_MUTUAL, subjectAltNames: ["spiffe://cluster.local/ns/default/sa/partner"], caCrl: ${dir}/client.crl`)}
${appBehindGateway(app.port, [HOST])}`;
    const mesh = await issueCert(ca, { commonName: "gw", usage: "client", days: 1 });
    const secrets = workloadSecrets({ certChainPem: mesh.certPem, keyPem: mesh.keyPem, rootPem: ca.certPem });
    ({ engine, out } = await runTranslated(yaml, NODE, { secrets }));
  });
  afterAll(async () => {
    await engine?.stop();
    await app.close();
  });

  it("caCrl: the revoked client is refused, the others served", async () => {
    expect(await httpsGet(ports.crl, clients.partner)).toBe("200 app says hello");
    expect(await httpsGet(ports.crl, clients.other)).toBe("200 app says hello");
    expect(await httpsGet(ports.crl, clients.revoked)).toBe("refused");
  });

  it("subjectAltNames: a client whose certificate has another SAN is refused (ssl.fail_verify_san)", async () => {
    expect(await httpsGet(ports.san, clients.partner)).toBe("200 app says hello");
    expect(await httpsGet(ports.san, clients.other)).toBe("refused");
    expect(stat(ports.san, "fail_verify_san")).toBe(1);
  });

  it("verifyCertificateHash: a certificate the CA signed but not pinned is refused (ssl.fail_verify_cert_hash)", async () => {
    expect(await httpsGet(ports.pin, clients.partner)).toBe("200 app says hello");
    expect(await httpsGet(ports.pin, clients.revoked)).toBe("refused");
    expect(stat(ports.pin, "fail_verify_cert_hash")).toBe(1);
  });

  it("credentialName: the Secret's ca.crl revokes, its SANs and pins checked (spki or hash)", async () => {
    expect(await httpsGet(ports.sds, clients.partner)).toBe("200 app says hello");
    expect(await httpsGet(ports.sds, clients.revoked)).toBe("refused"); // listed SAN and key, but revoked
    expect([stat(ports.sds, "fail_verify_san"), stat(ports.sds, "fail_verify_cert_hash")]).toEqual([0, 0]);
    expect(await httpsGet(ports.sds, clients.other)).toBe("refused"); // SAN not listed
    expect(stat(ports.sds, "fail_verify_san")).toBe(1);
  });

  it("renders istiod's validation contexts: match_subject_alt_names exact, crl a file, the pins as given", () => {
    expect(violations(out)).toEqual([]);
    const common = (port: number) =>
      (
        out.listeners.find((l) => l.name === `0.0.0.0_${port}`)?.filter_chains?.[0]?.transport_socket?.typed_config as {
          common_tls_context: Record<string, unknown>;
        }
      ).common_tls_context;
    expect(common(ports.crl).validation_context).toEqual({
      trusted_ca: { filename: `${dir}/client-ca.crt` },
      crl: { filename: `${dir}/client.crl` },
    });
    expect(common(ports.san).validation_context).toEqual({
      trusted_ca: { filename: `${dir}/client-ca.crt` },
      match_subject_alt_names: [{ exact: "partner.example.com" }, { exact: "revoked.example.com" }],
    });
    expect(common(ports.sds).combined_validation_context).toEqual({
      default_validation_context: {
        match_subject_alt_names: [{ exact: "partner.example.com" }, { exact: "revoked.example.com" }],
        verify_certificate_spki: spki,
        verify_certificate_hash: ["00".repeat(32)],
      },
      validation_context_sds_secret_config: { name: "kubernetes://shop-cert-cacert", sds_config: ADS },
    });
    expect(common(ports.mesh).combined_validation_context).toEqual({
      default_validation_context: {
        match_subject_alt_names: [{ exact: "spiffe://cluster.local/ns/default/sa/partner" }],
        crl: { filename: `${dir}/client.crl` },
      },
      validation_context_sds_secret_config: { name: "ROOTCA", sds_config: ADS },
    });
    // As istiod's toEnvoyCaSecret: the CA Secret carries the credential's CRL.
    const caSecret = out.secrets.find((s) => s.name === "kubernetes://shop-cert-cacert");
    expect(Object.keys(caSecret?.validation_context ?? {})).toEqual(["trusted_ca", "crl"]);
  });

  it("validates as istiod: no CRL with SIMPLE or credentialName; checks need a client certificate; pins readable", () => {
    const problems = (tls: Record<string, unknown>) => validateObject(server("HTTPS", tls));
    const simple = { mode: "SIMPLE", serverCertificate: "/c", privateKey: "/k" };
    expect(problems({ ...simple, caCrl: "/crl", subjectAltNames: ["a"] })).toEqual([
      "spec.servers[0].tls.subjectAltNames: is not used with SIMPLE (no client certificate is asked for)",
      "spec.servers[0].tls.caCrl: CRL is not supported with SIMPLE TLS",
    ]);
    expect(problems({ mode: "MUTUAL", credentialName: "c", caCrl: "/crl" })).toEqual([
      "spec.servers[0].tls.caCrl: CRL is not supported with credentialName. CRL has to be specified in the credential",
    ]);
    expect(problems({ mode: "ISTIO_MUTUAL", verifyCertificateHash: ["00".repeat(32)] })).toEqual([
      "spec.servers[0].tls.verifyCertificateHash: is not applied with ISTIO_MUTUAL (only MUTUAL and OPTIONAL_MUTUAL)",
    ]);
    expect(
      problems({
        mode: "OPTIONAL_MUTUAL",
        credentialName: "c",
        verifyCertificateSpki: ["abc"],
        verifyCertificateHash: ["zz"],
      }),
    ).toEqual([
      "spec.servers[0].tls.verifyCertificateSpki[0]: Invalid base64-encoded SHA-256 abc",
      "spec.servers[0].tls.verifyCertificateHash[0]: Invalid hex-encoded SHA-256 zz",
    ]);
  });
});
