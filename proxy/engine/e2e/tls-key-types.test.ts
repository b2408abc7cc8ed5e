// A TLS listener with two certificates, one RSA and one ECDSA (Istio's Gateway credentialNames and tlsCertificates),
// inline or over SDS: as Envoy's server contexts, a client that can verify ECDSA gets the ECDSA certificate and one
// that can verify only RSA (its signature algorithms, or under TLS 1.2 its cipher suites) gets the RSA one. Two
// certificates of one key type are refused, naming the listener.
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";
import { selfSigned } from "../../../test/support/engine/certs.js";
import {
  backend,
  cluster,
  listener,
  routeConfig,
  startEngine,
  tlsTransport,
  type Backend,
} from "../../../test/support/engine/helpers.js";
import type { Engine } from "../engine.js";

type Pair = { cert: string; key: string };
const CHAIN_TLS = (l: Record<string, unknown>) =>
  (l.filter_chains as { transport_socket: { typed_config: { common_tls_context: Record<string, unknown> } } }[])[0]!
    .transport_socket.typed_config.common_tls_context;

describe("a TLS listener with an RSA and an ECDSA certificate", () => {
  let b: Backend;
  let engine: Engine;
  let rsa: Pair;
  let ecdsa: Pair;
  let rsa2: Pair;
  beforeAll(async () => {
    b = await backend("b");
    [rsa, ecdsa, rsa2] = await Promise.all([
      selfSigned("rsa.example.com", true),
      selfSigned("ecdsa.example.com"),
      selfSigned("rsa2.example.com", true),
    ]);
  });
  afterAll(async () => {
    await engine?.stop();
    await b.close();
  });

  const inline = (p: Pair) => ({ certificate_chain: { inline_string: p.cert }, private_key: { inline_string: p.key } });
  /** A listener presenting `pairs` inline, or over SDS (secrets `cert-0`, `cert-1`, ...). */
  const config = (pairs: Pair[], sds = false) => {
    const l = listener([]);
    const chain = (l.filter_chains as Record<string, unknown>[])[0]!;
    chain.transport_socket = tlsTransport(pairs[0]!.cert, pairs[0]!.key);
    const common = CHAIN_TLS(l);
    if (sds) {
      delete common.tls_certificates;
      common.tls_certificate_sds_secret_configs = pairs.map((_, i) => ({ name: `cert-${i}`, sds_config: { ads: {} } }));
    } else common.tls_certificates = pairs.map(inline);
    return {
      listeners: [l],
      routes: [routeConfig([{ match: { prefix: "/" }, route: { cluster: "b" } }])],
      clusters: [cluster("b", [b.port])],
      ...(sds ? { secrets: pairs.map((p, i) => ({ name: `cert-${i}`, tls_certificate: inline(p) })) } : {}),
    };
  };
  /** The CN of the certificate the listener presents to a client with `opts`, or the handshake's error. */
  const presented = (port: number, opts: ConnectionOptions) =>
    new Promise<string>((resolve) => {
      const s = tlsConnect(
        { host: "127.0.0.1", port, ca: [rsa.cert, ecdsa.cert], checkServerIdentity: () => undefined, ...opts },
        () => {
          resolve(String(s.getPeerCertificate().subject.CN));
          s.end();
        },
      );
      s.on("error", (e) => resolve(`error: ${e.message}`));
    });
  const CLIENTS: [string, ConnectionOptions, string][] = [
    ["offering ECDSA and RSA (Node's default)", {}, "ecdsa.example.com"],
    ["offering only ECDSA signature algorithms", { sigalgs: "ecdsa_secp256r1_sha256" }, "ecdsa.example.com"],
    ["offering only RSA signature algorithms", { sigalgs: "rsa_pss_rsae_sha256:rsa_pkcs1_sha256" }, "rsa.example.com"],
    [
      "of TLS 1.2 with only ECDHE-RSA suites",
      { maxVersion: "TLSv1.2", ciphers: "ECDHE-RSA-AES128-GCM-SHA256" },
      "rsa.example.com",
    ],
    [
      "of TLS 1.2 with only ECDHE-ECDSA suites",
      { maxVersion: "TLSv1.2", ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256" },
      "ecdsa.example.com",
    ],
  ];

  it.each(CLIENTS)(
    "tls_certificates [RSA, ECDSA]: a client %s gets the certificate it can verify",
    async (_, opts, cn) => {
      await engine?.stop();
      let port: number;
      ({ engine, port } = await startEngine(config([rsa, ecdsa])));
      expect(await presented(port, opts)).toBe(cn);
    },
  );

  it.each(CLIENTS)(
    "SDS [ECDSA, RSA] (order aside): a client %s gets the certificate it can verify",
    async (_, opts, cn) => {
      await engine?.stop();
      let port: number;
      ({ engine, port } = await startEngine(config([ecdsa, rsa], true)));
      expect(await presented(port, opts)).toBe(cn);
    },
  );

  it("with only the RSA certificate, a client offering only ECDSA signature algorithms fails the handshake", async () => {
    await engine?.stop();
    let port: number;
    ({ engine, port } = await startEngine(config([rsa])));
    expect(await presented(port, { sigalgs: "ecdsa_secp256r1_sha256" })).toMatch(/^error: /);
  });

  it("refuses two certificates of one key type, naming the listener (as Envoy's server contexts)", async () => {
    await expect(engine.apply({ version: "x", ...config([rsa, rsa2]) })).rejects.toThrow(
      /Listener "http": filter_chains\[0\]\.transport_socket: invalid TLS certificate or key: at most one certificate of a given type may be specified \(two RSA/,
    );
    await expect(engine.apply({ version: "y", ...config([rsa, rsa2], true) })).rejects.toThrow(/two RSA/);
  });
});
