// Gateway HTTPS servers with credentialName, through translate and the engine as an ingress gateway serves them:
// several servers on one port, each presenting its own Secret's certificate by SNI; MUTUAL's CA from `<name>-cacert`;
// a missing or invalid Secret leaves its server out (named) while the others serve; a gateway proxy gets only Secrets
// of its own namespace, a sidecar none, and a proxy whose namespace nothing vouches for (plaintext xDS) none.
import { connect, type PeerCertificate } from "node:tls";
import type { Engine } from "../../../proxy/engine/engine.js";
import { freePorts } from "../../../hack/paths.js";
import { generateCa, issueCert, type KeyPair } from "../../runtime/pki.js";
import { backend, get, testEngine, type Backend } from "../../../test/support/engine/helpers.js";
import { appBehindGateway, meshModel, secretYaml } from "../../../test/support/discovery/mesh.js";
import { violations } from "../../../test/support/discovery/envoy.js";
import { parseYaml } from "../../../test/support/discovery/bookinfo.js";
import { validateObject } from "../validate/index.js";
import { workloadSecrets } from "../../../proxy/agent/secrets.js";
import { parseNodeId, translate, type TranslateResult } from "./index.js";

const servedTo = (port: number, servername: string, ca: string) =>
  new Promise<PeerCertificate>((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port, servername, ca }, () => {
      resolve(s.getPeerCertificate());
      s.end();
    });
    s.on("error", reject);
  });

const b64 = (s: string) => Buffer.from(s).toString("base64");

const router = (ns: string, mtls = true) => ({
  ...parseNodeId(`router~127.0.0.1~gw-0.${ns}~${ns}.svc.cluster.local`),
  mtls,
});

describe("Gateway HTTPS servers with credentialName (Secrets over SDS)", () => {
  let app: Backend;
  let engine: Engine;
  let ca: KeyPair;
  let partnerCa: KeyPair;
  let partner: KeyPair;
  let other: KeyPair;
  let yaml = "";
  let out: TranslateResult;
  /** The gateway agent's own SDS secrets (default, ROOTCA). */
  let own: unknown[] = [];
  const ports = { https: 0, mutual: 0 };

  beforeAll(async () => {
    app = await backend("app", (req, res) => res.end(`app saw ${String(req.headers.host)}`));
    ca = await generateCa("gateway root", 1);
    partnerCa = await generateCa("partner root", 1);
    partner = await issueCert(partnerCa, { commonName: "partner", usage: "client", days: 1 });
    const leaf = (cn: string) => issueCert(ca, { commonName: cn, dnsNames: [cn], usage: "server", days: 1 });
    const [shop, api, mutual] = [
      await leaf("shop.example.com"),
      await leaf("*.api.example.com"),
      await leaf("partner.example.com"),
    ];
    other = await leaf("other.example.com");
    const keys = Object.keys(ports) as (keyof typeof ports)[];
    (await freePorts(keys.length, "0.0.0.0")).forEach((p, i) => (ports[keys[i]!] = p));
    const server = (port: number, name: string, host: string, tls: string) =>
      `  - port: { number: ${port}, name: ${name}, protocol: HTTPS }\n    hosts: ["${host}"]\n    tls: ${tls}\n`;
    const TLS = { type: "kubernetes.io/tls" };
    const pair = (k: KeyPair) => ({ "tls.crt": k.certPem, "tls.key": k.keyPem });
    yaml = `
${secretYaml("shop-cert", "istio-system", pair(shop), TLS)}\
${secretYaml("api-cert", "istio-system", { cert: api.certPem, key: api.keyPem }, { type: "Opaque", stringData: true })}\
${secretYaml("partner-cert", "istio-system", pair(mutual), TLS)}\
${secretYaml("partner-cert-cacert", "istio-system", { "ca.crt": partnerCa.certPem })}\
${secretYaml("bad-pem", "istio-system", { "tls.crt": "not a certificate", "tls.key": "not a key" }, TLS)}\
${secretYaml("mismatch", "istio-system", { "tls.crt": shop.certPem, "tls.key": api.keyPem }, TLS)}\
${secretYaml("other-cert", "other", pair(other), TLS)}\
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge, namespace: default }
spec:
  servers:
${server(ports.https, "https-shop", "shop.example.com", "{ mode: SIMPLE, credentialName: shop-cert }")}\
${server(ports.https, "https-api", "*.api.example.com", "{ mode: SIMPLE, credentialName: api-cert }")}\
${server(ports.https, "https-bad", "bad.example.com", "{ mode: SIMPLE, credentialName: bad-pem }")}\
${server(ports.https, "https-mismatch", "mismatch.example.com", "{ mode: SIMPLE, credentialName: mismatch }")}\
${server(ports.https, "https-missing", "missing.example.com", "{ mode: SIMPLE, credentialName: nope }")}\
${server(ports.https, "https-other", "other.example.com", "{ mode: SIMPLE, credentialName: other-cert }")}\
${server(ports.mutual, "https-partner", "partner.example.com", "{ mode: MUTUAL, credentialName: partner-cert }")}\
${appBehindGateway(app.port, ["shop.example.com", "*.api.example.com", "partner.example.com", "other.example.com", "bad.example.com"])}`;
    for (const o of parseYaml(yaml)) if (o.kind !== "Secret") expect(validateObject(o)).toEqual([]);
    out = translate(meshModel(yaml), router("istio-system"));
    // A gateway on 15012 holds a workload certificate (SDS default/ROOTCA from its agent) for mesh mTLS upstream.
    const mesh = await issueCert(ca, { commonName: "gw", usage: "client", days: 1 });
    own = workloadSecrets({ certChainPem: mesh.certPem, keyPem: mesh.keyPem, rootPem: ca.certPem });
    engine = await testEngine({ ...out, secrets: [...own, ...out.secrets] });
  });
  afterAll(async () => {
    await engine?.stop();
    await app.close();
  });

  it("serves each server's own certificate by SNI, from its Secret, and routes behind it", async () => {
    expect((await servedTo(ports.https, "shop.example.com", ca.certPem)).subject.CN).toBe("shop.example.com");
    expect((await servedTo(ports.https, "x.api.example.com", ca.certPem)).subject.CN).toBe("*.api.example.com");
    const r = await get(ports.https, "/", {}, { tls: { servername: "x.api.example.com", ca: ca.certPem } });
    expect([r.status, r.body]).toEqual([200, "app saw x.api.example.com"]);
    // Istio's route table per HTTPS server: another server's host over this server's SNI finds no route.
    const crossed = await get(
      ports.https,
      "/",
      { host: "x.api.example.com" },
      { tls: { servername: "shop.example.com", ca: ca.certPem } },
    );
    expect(crossed.status).toBe(404);
  });

  it("leaves out a server whose Secret is missing, invalid, or another namespace's, naming the Gateway and field", async () => {
    const at = (i: number, why: string) =>
      `Gateway/default/edge: spec.servers[${i}].tls.credentialName: ${why}; the server is left out`;
    expect(out.warnings).toEqual([
      at(
        2,
        "secret istio-system/bad-pem: not a PEM certificate and private key (error:0480006C:PEM routines::no start line)",
      ),
      at(3, "secret istio-system/mismatch: the private key is not the certificate's"),
      at(4, "secret istio-system/nope not found (a gateway reads Secrets of its own namespace)"),
      at(5, "secret istio-system/other-cert not found (a gateway reads Secrets of its own namespace)"),
    ]);
    // Those names get no chain: with no chain for every name, their handshake fails, as Envoy's.
    for (const sni of ["bad.example.com", "other.example.com", "unknown.example.com"])
      await expect(servedTo(ports.https, sni, ca.certPem)).rejects.toThrow();
    expect(violations(out)).toEqual([]);
  });

  it("serves Istio's SDS names, and only the own namespace's Secrets to a gateway, none to a sidecar", () => {
    expect(out.secrets.map((s) => s.name)).toEqual([
      "kubernetes://api-cert",
      "kubernetes://partner-cert",
      "kubernetes://partner-cert-cacert",
      "kubernetes://shop-cert",
    ]);
    expect(JSON.stringify(out)).not.toContain(b64(other.keyPem));
    const inOther = translate(meshModel(yaml), router("other"));
    expect(inOther.secrets.map((s) => s.name)).toEqual(["kubernetes://other-cert"]);
    const sidecar = parseNodeId("sidecar~127.0.0.1~a-0.istio-system~istio-system.svc.cluster.local");
    expect(translate(meshModel(yaml), { ...sidecar, mtls: true }).secrets).toEqual([]);
  });

  it("gives a gateway on plaintext xDS (its namespace unverified) no Secret, unless in local mode", () => {
    const plain = translate(meshModel(yaml), router("istio-system", false));
    expect(plain.secrets).toEqual([]);
    expect(plain.listeners.map((l) => l.name)).toEqual([]);
    expect(plain.warnings[0]).toMatch(/spec.servers\[0\].tls.credentialName: this proxy connected on plaintext xDS/);
    const local = translate(meshModel(yaml), router("istio-system", false), { credentialsOverPlaintext: true });
    expect(local.secrets.map((s) => s.name)).toContain("kubernetes://shop-cert");
  });

  it("keeps the keys out of the engine's /config_dump (redacted), and refuses a listener naming a Secret it lacks", async () => {
    const dump = await get(engine.ports.admin, "/config_dump", {}, { agent: false });
    expect(dump.status).toBe(200);
    expect(dump.body).toContain("kubernetes://shop-cert");
    expect(dump.body).toContain("[redacted]");
    for (const s of out.secrets) {
      const key = s.tls_certificate?.private_key?.inline_bytes;
      if (key) expect(dump.body).not.toContain(String(key).slice(0, 40));
    }
    const lacking = { ...out, secrets: [...own, ...out.secrets.filter((s) => s.name !== "kubernetes://api-cert")] };
    await expect(engine.apply(lacking)).rejects.toThrow(
      /^Listener "0\.0\.0\.0_\d+": filter_chains\[1\]\.transport_socket\.typed_config\.common_tls_context\.tls_certificate_sds_secret_configs\[0\]\.name: secret "kubernetes:\/\/api-cert" is not \(yet\) available/,
    );
  });

  it("gives a host two HTTPS servers on one port claim to the first only, and one catch-all chain at most", () => {
    const twice = `${yaml.slice(0, yaml.indexOf("apiVersion: networking.istio.io/v1\nkind: Gateway"))}
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge, namespace: default }
spec:
  servers:
  - { port: { number: 8443, name: a, protocol: HTTPS }, hosts: [shop.example.com], tls: { mode: SIMPLE, credentialName: shop-cert } }
  - { port: { number: 8443, name: b, protocol: HTTPS }, hosts: [shop.example.com, x.api.example.com], tls: { mode: SIMPLE, credentialName: api-cert } }
  - { port: { number: 8443, name: c, protocol: HTTPS }, hosts: ["*"], tls: { mode: SIMPLE, credentialName: api-cert } }
  - { port: { number: 8443, name: d, protocol: HTTPS }, hosts: ["*"], tls: { mode: SIMPLE, credentialName: shop-cert } }
`;
    const t = translate(meshModel(twice), router("istio-system"));
    const chains = (t.listeners[0]?.filter_chains ?? []).map((c) => c.filter_chain_match?.server_names);
    expect(chains).toEqual([["shop.example.com"], ["x.api.example.com"], undefined]);
    expect(t.warnings).toEqual([
      "Gateway/default/edge: spec.servers[1]: port 8443: some of its hosts are another server's on this port: those are left out",
      "Gateway/default/edge: spec.servers[3]: port 8443: its hosts are another server's on this port: it is left out",
    ]);
    expect(violations(t)).toEqual([]);
  });

  it("MUTUAL: takes the CA from <name>-cacert, serving a client the CA signed and no other", async () => {
    const tls = { servername: "partner.example.com", ca: ca.certPem };
    const r = await get(ports.mutual, "/", {}, { tls: { ...tls, cert: partner.certPem, key: partner.keyPem } });
    expect(r.status).toBe(200);
    await expect(get(ports.mutual, "/", {}, { tls })).rejects.toThrow();
  });
});
