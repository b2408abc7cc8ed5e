// A TLS listener's client certificate checks beyond the CA (a Gateway server's caCrl, subjectAltNames,
// verifyCertificateSpki and verifyCertificateHash, as istiod renders them): a certificate the CRL revokes, without a
// listed SAN, or not pinned is refused before a byte is served (Envoy's ssl.fail_verify_san and
// ssl.fail_verify_cert_hash counted); the client the lists name is served. Real TLS clients, certificates made here.
import { createHash, X509Certificate } from "node:crypto";
import { generateCa, issueCert, type KeyPair } from "../../../operator/runtime/pki.js";
import { revocationList } from "../../../test/support/engine/certs.js";
import {
  backend,
  cluster,
  get,
  listener,
  routeConfig,
  startEngine,
  tlsTransport,
  type Backend,
} from "../../../test/support/engine/helpers.js";
import type { Engine } from "../engine.js";
import type { Resources } from "../config/types.js";

describe("a TLS listener checking client certificates: CRL, SANs, pinned hash and public key", () => {
  let b: Backend;
  let engine: Engine;
  let port: number;
  let server: KeyPair;
  let serverCa = "";
  let clients: KeyPair;
  let partner: KeyPair;
  let other: KeyPair;
  const served: string[] = [];

  const config = (validation: Record<string, unknown>, require = true): Resources => {
    const l = listener([]);
    const transport = tlsTransport(server.certPem, server.keyPem) as { typed_config: Record<string, unknown> };
    const common = transport.typed_config.common_tls_context as Record<string, unknown>;
    common.validation_context = { trusted_ca: { inline_string: clients.certPem }, ...validation };
    transport.typed_config.require_client_certificate = require;
    (l.filter_chains as Record<string, unknown>[])[0]!.transport_socket = transport;
    return {
      listeners: [l],
      routes: [routeConfig([{ match: { prefix: "/" }, route: { cluster: "b" } }])],
      clusters: [cluster("b", [b.port])],
    };
  };

  beforeAll(async () => {
    b = await backend("b", (req, res) => {
      served.push(req.url ?? "");
      res.end("b says hello");
    });
    const root = await generateCa("server root", 1);
    serverCa = root.certPem;
    server = await issueCert(root, { commonName: "localhost", dnsNames: ["localhost"], usage: "server", days: 1 });
    clients = await generateCa("client root", 1);
    const client = (name: string) =>
      issueCert(clients, { commonName: name, dnsNames: [name], usage: "client", days: 1 });
    partner = await client("partner.example.com");
    other = await client("other.example.com");
    ({ engine, port } = await startEngine(config({})));
  });
  afterAll(async () => {
    await engine.stop();
    await b.close();
  });

  /** What a client sees: the status and body, or "refused" when the connection ended with nothing served. */
  const request = async (client: KeyPair | undefined, path: string): Promise<string> => {
    const tls = {
      servername: "localhost",
      ca: serverCa,
      ...(client ? { cert: client.certPem, key: client.keyPem } : {}),
    };
    try {
      const r = await get(port, path, {}, { tls });
      return `${r.status} ${r.body}`;
    } catch {
      return "refused";
    }
  };
  const stat = (name: string) =>
    Number(
      new RegExp(`^listener\\.http\\.${name.replace(/\./g, "\\.")}: (\\d+)$`, "m").exec(engine.statsText())?.[1] ?? 0,
    );

  it("refuses a client whose certificate the CRL revokes (caCrl), serves one it doesn't", async () => {
    await engine.apply(config({ crl: { inline_string: await revocationList(clients, [other.certPem]) } }));
    expect(await request(partner, "/crl-partner")).toBe("200 b says hello");
    expect(await request(other, "/crl-revoked")).toBe("refused");
    expect(served).not.toContain("/crl-revoked");
  });

  it("refuses a client without a listed SAN (istiod's match_subject_alt_names, exact), counting fail_verify_san", async () => {
    await engine.apply(config({ match_subject_alt_names: [{ exact: "partner.example.com" }] }));
    const before = stat("ssl.fail_verify_san");
    expect(await request(partner, "/san-partner")).toBe("200 b says hello");
    expect(await request(other, "/san-other")).toBe("refused");
    expect(served).not.toContain("/san-other");
    expect(stat("ssl.fail_verify_san")).toBe(before + 1);
    // Typed matchers too: a URI matcher doesn't take a DNS SAN.
    await engine.apply(
      config({ match_typed_subject_alt_names: [{ san_type: "URI", matcher: { exact: "partner.example.com" } }] }),
    );
    expect(await request(partner, "/san-uri")).toBe("refused");
  });

  it("reads SANs as Envoy's matchers do: DNS in any case and with a wildcard in its first label, IPv6 as Envoy writes it, values Node quotes", async () => {
    const client = (dnsNames: string[], ips: string[] = []) =>
      issueCert(clients, { commonName: "c", dnsNames, ips, usage: "client", days: 1 });
    const upper = await client(["Partner.Example.COM"]);
    const wildcard = await client(["api*.partner.example"]);
    const v6 = await client([], ["fd00::1"]);
    const quoted = await client(["o'brien.partner.example"]);
    const accepted = async (matchers: Record<string, unknown>[], c: KeyPair) => {
      await engine.apply(config({ match_subject_alt_names: matchers }));
      return request(c, "/san-forms");
    };
    expect(await accepted([{ exact: "partner.example.com" }], upper)).toBe("200 b says hello");
    expect(await accepted([{ exact: "api1.partner.example" }], wildcard)).toBe("200 b says hello");
    expect(await accepted([{ exact: "web.partner.example" }], wildcard)).toBe("refused");
    expect(await accepted([{ exact: "fd00::1" }], v6)).toBe("200 b says hello");
    expect(await accepted([{ exact: "o'brien.partner.example" }], quoted)).toBe("200 b says hello");
    // Only an exact DNS matcher is a DNS name match (Envoy's StringSanMatcher): a prefix is compared as written.
    expect(await accepted([{ prefix: "partner." }], upper)).toBe("refused");
  });

  it("refuses a certificate not pinned by hash or public key (either list may match), counting fail_verify_cert_hash", async () => {
    const cert = new X509Certificate(partner.certPem);
    const spki = createHash("sha256")
      .update(cert.publicKey.export({ type: "spki", format: "der" }))
      .digest("base64");
    const hex = createHash("sha256").update(cert.raw).digest("hex");
    const before = stat("ssl.fail_verify_cert_hash");
    // Envoy's two spellings of a hash: the colon-separated fingerprint, and plain hex.
    for (const pins of [
      { verify_certificate_hash: [cert.fingerprint256] },
      { verify_certificate_hash: [hex] },
      { verify_certificate_spki: [spki] },
      { verify_certificate_hash: ["00".repeat(32)], verify_certificate_spki: [spki] },
    ]) {
      await engine.apply(config(pins));
      expect(await request(partner, "/pinned")).toBe("200 b says hello");
      expect(await request(other, "/not-pinned")).toBe("refused");
    }
    expect(served).not.toContain("/not-pinned");
    expect(stat("ssl.fail_verify_cert_hash")).toBe(before + 4);
  });

  it("OPTIONAL_MUTUAL: a client without a certificate is served, one presenting an unlisted one refused", async () => {
    await engine.apply(config({ match_subject_alt_names: [{ exact: "partner.example.com" }] }, false));
    expect(await request(undefined, "/none")).toBe("200 b says hello");
    expect(await request(other, "/optional-other")).toBe("refused");
  });

  it("refuses configs it can't honour, naming the field (Envoy's messages)", async () => {
    const nack = (v: Record<string, unknown>) => engine.apply(config(v));
    await expect(nack({ verify_certificate_spki: ["abc"] })).rejects.toThrow(
      /verify_certificate_spki\[0\]: Invalid base64-encoded SHA-256 abc/,
    );
    await expect(nack({ verify_certificate_hash: ["zz"] })).rejects.toThrow(
      /verify_certificate_hash\[0\]: Invalid hex-encoded SHA-256 zz/,
    );
    await expect(nack({ match_subject_alt_names: [{ exact: "a" }], trusted_ca: undefined })).rejects.toThrow(
      /SAN-based verification of peer certificates needs trusted_ca/,
    );
    await expect(nack({ verify_certificate_hash: [], allow_expired_certificate: true })).rejects.toThrow(
      /validation_context\.allow_expired_certificate/,
    );
  });
});
