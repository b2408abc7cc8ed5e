// A Gateway server with an RSA and an ECDSA certificate, through translate and the engine: `credentialNames` (two
// Secrets over SDS) and `tlsCertificates` (two pairs of mounted files). Each client gets the certificate its
// signature algorithms let it verify, and the app behind it; rendered as istiod renders it (one
// tls_certificate_sds_secret_configs entry a name, MUTUAL's CA the first name's); validated as istiod's
// validateTLSOptions and the CRD's bounds.
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";
import type { Engine } from "../../../proxy/engine/engine.js";
import { freePorts } from "../../../hack/paths.js";
import { selfSigned } from "../../../test/support/engine/certs.js";
import { backend, type Backend } from "../../../test/support/engine/helpers.js";
import { appBehindGateway, meshModel, oneServerGateway, secretYaml } from "../../../test/support/discovery/mesh.js";
import { runTranslated } from "../../../test/support/discovery/translated.js";
import { violations } from "../../../test/support/discovery/envoy.js";
import { validateObject } from "../validate/index.js";
import { parseNodeId, translate, type TranslateResult } from "./index.js";

const NODE = "router~127.0.0.1~gw-0.istio-system~istio-system.svc.cluster.local";
const HOST = "shop.example.com";
type Pair = { cert: string; key: string };

const gateway = (servers: string) => `---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge, namespace: default }
spec:
  servers:${servers}`;
const https = (port: number, name: string, tls: string) => `
  - port: { number: ${port}, name: ${name}, protocol: HTTPS }
    hosts: [${HOST}]
    tls: { ${tls} }`;
const tlsSecret = (name: string, p: Pair, ca?: string) =>
  secretYaml(name, "istio-system", { "tls.crt": p.cert, "tls.key": p.key, ...(ca ? { "ca.crt": ca } : {}) });

describe("a Gateway server with an RSA and an ECDSA certificate (credentialNames, tlsCertificates)", () => {
  let app: Backend;
  let engine: Engine;
  let out: TranslateResult;
  let rsa: Pair;
  let ecdsa: Pair;
  const ports = { sds: 0, files: 0 };

  /** Which certificate a client offering `opts` is presented ("rsa", "ecdsa"), and the app's answer; or "refused". */
  const served = (port: number, opts: ConnectionOptions) =>
    new Promise<string>((resolve) => {
      const s = tlsConnect({ host: "127.0.0.1", port, servername: HOST, ca: [rsa.cert, ecdsa.cert], ...opts });
      s.on("secureConnect", () => s.write(`GET / HTTP/1.1\r\nhost: ${HOST}\r\nconnection: close\r\n\r\n`));
      let got = "";
      s.on("data", (d: Buffer) => (got += d.toString()));
      s.on("end", () => {
        const raw = s.getPeerX509Certificate()?.raw;
        const which = [rsa, ecdsa].findIndex((p) => fingerprint(p.cert) === (raw && hash(raw)));
        resolve(`${["rsa", "ecdsa"][which] ?? "other"}: ${got.split("\r\n")[0]} ${got.split("\r\n\r\n")[1] ?? ""}`);
      });
      s.on("error", () => resolve("refused"));
    });
  const hash = (der: Buffer) => createHash("sha256").update(der).digest("hex");
  const fingerprint = (pem: string) => hash(Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ""), "base64"));

  beforeAll(async () => {
    app = await backend("app", (_req, res) => res.end("app says hello"));
    [rsa, ecdsa] = await Promise.all([selfSigned(HOST, true), selfSigned(HOST)]);
    const dir = mkdtempSync(join(tmpdir(), "weft-gw-key-types-"));
    for (const [name, p] of [
      ["rsa", rsa],
      ["ecdsa", ecdsa],
    ] as const) {
      writeFileSync(join(dir, `${name}.crt`), p.cert);
      writeFileSync(join(dir, `${name}.key`), p.key);
    }
    [ports.sds, ports.files] = (await freePorts(2, "0.0.0.0")) as [number, number];
    const files = (n: string) => `{ serverCertificate: ${dir}/${n}.crt, privateKey: ${dir}/${n}.key }`;
    const yaml = `${tlsSecret("rsa-cert", rsa)}${tlsSecret("ecdsa-cert", ecdsa)}${gateway(
      https(ports.sds, "https-sds", "mode: SIMPLE, credentialNames: [rsa-cert, ecdsa-cert]") +
        https(ports.files, "https-files", `mode: SIMPLE, tlsCertificates: [${files("ecdsa")}, ${files("rsa")}]`),
    )}
${appBehindGateway(app.port, [HOST])}`;
    ({ engine, out } = await runTranslated(yaml, NODE, { secrets: [] }));
  });
  afterAll(async () => {
    await engine?.stop();
    await app.close();
  });

  const CLIENTS: [string, ConnectionOptions, string][] = [
    ["offering ECDSA and RSA (Node's default) gets ECDSA", {}, "ecdsa"],
    ["offering only ECDSA signature algorithms gets ECDSA", { sigalgs: "ecdsa_secp256r1_sha256" }, "ecdsa"],
    ["offering only RSA signature algorithms gets RSA", { sigalgs: "rsa_pss_rsae_sha256:rsa_pkcs1_sha256" }, "rsa"],
    [
      "of TLS 1.2 with only ECDHE-RSA suites gets RSA",
      { maxVersion: "TLSv1.2", ciphers: "ECDHE-RSA-AES128-GCM-SHA256" },
      "rsa",
    ],
  ];
  it.each(CLIENTS)("credentialNames [rsa-cert, ecdsa-cert]: a client %s, and the app", async (_, opts, which) => {
    expect(await served(ports.sds, opts)).toBe(`${which}: HTTP/1.1 200 OK app says hello`);
  });
  it.each(CLIENTS)("tlsCertificates [ecdsa, rsa]: a client %s, and the app", async (_, opts, which) => {
    expect(await served(ports.files, opts)).toBe(`${which}: HTTP/1.1 200 OK app says hello`);
  });

  it("renders istiod's: one SDS config per credential name, each Secret served; files as tls_certificates", () => {
    expect(violations(out)).toEqual([]);
    const common = (port: number) =>
      (
        out.listeners.find((l) => l.name === `0.0.0.0_${port}`)?.filter_chains?.[0]?.transport_socket?.typed_config as {
          common_tls_context: Record<string, unknown>;
        }
      ).common_tls_context;
    const ADS = { ads: {}, resource_api_version: "V3" };
    expect(common(ports.sds).tls_certificate_sds_secret_configs).toEqual([
      { name: "kubernetes://rsa-cert", sds_config: ADS },
      { name: "kubernetes://ecdsa-cert", sds_config: ADS },
    ]);
    expect(out.secrets.map((s) => s.name).sort()).toEqual(["kubernetes://ecdsa-cert", "kubernetes://rsa-cert"]);
    expect((common(ports.files).tls_certificates as unknown[]).length).toBe(2);
  });

  it("MUTUAL: every client is checked against the first name's CA (istiod's), which is served with both certificates", () => {
    const yaml = `${tlsSecret("rsa-cert", rsa, ecdsa.cert)}${tlsSecret("ecdsa-cert", ecdsa)}${gateway(
      https(443, "https", "mode: MUTUAL, credentialNames: [rsa-cert, ecdsa-cert]"),
    )}${appBehindGateway(app.port, [HOST])}`;
    const r = translate(meshModel(yaml), { ...parseNodeId(NODE), mtls: true });
    expect(r.warnings).toEqual([]);
    const tls = r.listeners[0]?.filter_chains?.[0]?.transport_socket?.typed_config as {
      common_tls_context: { combined_validation_context: { validation_context_sds_secret_config: { name: string } } };
    };
    expect(tls.common_tls_context.combined_validation_context.validation_context_sds_secret_config.name).toBe(
      "kubernetes://rsa-cert-cacert",
    );
    expect(r.secrets.map((s) => s.name).sort()).toEqual([
      "kubernetes://ecdsa-cert",
      "kubernetes://rsa-cert",
      "kubernetes://rsa-cert-cacert",
    ]);
  });

  it("two Secrets of one key type, or one missing, leave the server out, warned (the proxy would refuse the listener)", async () => {
    const other = await selfSigned(HOST, true);
    const warnings = (names: string) =>
      translate(
        meshModel(
          `${tlsSecret("rsa-cert", rsa)}${tlsSecret("rsa-2", other)}${gateway(
            https(443, "https", `mode: SIMPLE, credentialNames: [${names}]`),
          )}${appBehindGateway(app.port, [HOST])}`,
        ),
        { ...parseNodeId(NODE), mtls: true },
      ).warnings;
    expect(warnings("rsa-cert, rsa-2")).toEqual([
      expect.stringMatching(
        /spec\.servers\[0\]\.tls\.credentialNames: secrets istio-system\/rsa-cert and istio-system\/rsa-2 both hold an RSA certificate: give one RSA and one ECDSA; the server is left out$/,
      ),
    ]);
    expect(warnings("rsa-cert, gone")).toEqual([
      expect.stringMatching(/credentialNames: secret istio-system\/gone not found .*; the server is left out$/),
    ]);
  });

  it("validates as istiod's validateTLSOptions and the CRD (one source, at most two certificates)", () => {
    const problems = (tls: Record<string, unknown>) => validateObject(oneServerGateway("HTTPS", tls));
    const pair = { serverCertificate: "/c", privateKey: "/k" };
    expect(problems({ mode: "SIMPLE", credentialNames: ["a", "b"] })).toEqual([]);
    expect(problems({ mode: "MUTUAL", credentialNames: ["a"] })).toEqual([]);
    expect(problems({ mode: "SIMPLE", tlsCertificates: [pair, pair] })).toEqual([]);
    expect(problems({ mode: "MUTUAL", tlsCertificates: [pair], caCertificates: "/ca" })).toEqual([]);
    const ONLY_ONE =
      "only one of credential_name, credential_names, server_certificate/private_key, tls_certificates should be specified";
    expect(problems({ mode: "SIMPLE", credentialName: "a", credentialNames: ["b"] })).toEqual([
      `spec.servers[0].tls.credentialNames: ${ONLY_ONE}`,
    ]);
    expect(problems({ mode: "SIMPLE", ...pair, tlsCertificates: [pair] })).toEqual([
      `spec.servers[0].tls.tlsCertificates: ${ONLY_ONE}`,
    ]);
    expect(problems({ mode: "SIMPLE", credentialNames: ["a", "b", "c"] })).toEqual([
      "spec.servers[0].tls.credentialNames: SIMPLE TLS can support up to 2 server certificates",
    ]);
    expect(problems({ mode: "MUTUAL", tlsCertificates: [pair, pair, pair], caCertificates: "/ca" })).toEqual([
      "spec.servers[0].tls.tlsCertificates: MUTUAL TLS can support up to 2 server certificates",
    ]);
    expect(problems({ mode: "MUTUAL", tlsCertificates: [{ serverCertificate: "/c", caCertificates: "/ca" }] })).toEqual(
      [
        "spec.servers[0].tls.tlsCertificates[0].privateKey: is required (the key's file)",
        "spec.servers[0].tls.tlsCertificates[0].caCertificates: is not used: give the server's caCertificates",
        "spec.servers[0].tls.caCertificates: is required with MUTUAL (the CA client certificates are checked against)",
      ],
    );
    expect(problems({ mode: "MUTUAL", credentialNames: ["a", "a"], caCertificates: "/ca", caCrl: "/crl" })).toEqual([
      "spec.servers[0].tls.credentialNames[1]: a is listed twice",
      "spec.servers[0].tls.caCertificates: is not used with credentialNames (the Secret holds it)",
      "spec.servers[0].tls.caCrl: CRL is not supported with credentialName. CRL has to be specified in the credential",
    ]);
    expect(problems({ mode: "SIMPLE", credentialNames: [] })).toEqual([
      "spec.servers[0].tls.credentialNames: must have at least 1 item",
    ]);
    expect(problems({ mode: "ISTIO_MUTUAL", credentialNames: ["a"], tlsCertificates: [pair] })).toEqual([
      "spec.servers[0].tls.tlsCertificates: ISTIO_MUTUAL TLS cannot have associated tlsCertificates",
      "spec.servers[0].tls.credentialNames: ISTIO_MUTUAL TLS cannot have associated credentialNames",
    ]);
  });
});
