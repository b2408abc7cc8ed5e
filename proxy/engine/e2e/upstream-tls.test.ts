// TLS origination (UpstreamTlsContext on a cluster) against real TLS servers on loopback: SIMPLE and MUTUAL, the
// CA, the SNI and the SAN checked as Envoy checks them, and failures that never fall back to plaintext.
import type { TLSSocket } from "node:tls";
import { createServer as createHttpsServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { cluster, get, listener, resources, startEngine } from "../../../test/support/engine/helpers.js";
import { generateCa, issueCert, type KeyPair } from "../../../operator/runtime/pki.js";
import { revocationList } from "../../../test/support/engine/certs.js";
import type { Engine } from "../engine.js";
import type { Resources } from "../config/types.js";
import { ConfigError } from "../config/index.js";

const UTLS = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext";
const TCP = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";

function tlsSocket(context: Record<string, unknown>): Record<string, unknown> {
  return { transport_socket: { name: "envoy.transport_sockets.tls", typed_config: { "@type": UTLS, ...context } } };
}
const inline = (pem: string) => ({ inline_string: pem });

describe("upstream TLS origination", () => {
  let ca: KeyPair;
  let otherCa: KeyPair;
  let client: KeyPair;
  let leaf: KeyPair;
  let server: Server;
  let port = 0;
  const seen: { sni: string | false | null; clientCert: boolean; path: string }[] = [];
  let engine: Engine;
  let proxyPort = 0;

  beforeAll(async () => {
    ca = await generateCa("test root", 1);
    otherCa = await generateCa("other root", 1);
    leaf = await issueCert(ca, {
      commonName: "api.example.com",
      dnsNames: ["api.example.com", "*.wild.example.com"],
      usage: "server",
      days: 1,
    });
    client = await issueCert(ca, { commonName: "client", usage: "client", days: 1 });
    server = createHttpsServer(
      { cert: leaf.certPem, key: leaf.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: false },
      (req, res) => {
        const s = req.socket as TLSSocket;
        seen.push({ sni: s.servername, clientCert: s.authorized, path: req.url ?? "" });
        res.end(s.authorized ? "mutual" : "simple");
      },
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
    ({ engine, port: proxyPort } = await startEngine(resources([], [])));
  });
  afterAll(async () => {
    await engine.stop();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  async function via(context: Record<string, unknown>, path = "/"): Promise<{ status: number; body: string }> {
    await engine.apply(
      resources(
        [{ match: { prefix: "/" }, route: { cluster: "ext" } }],
        [cluster("ext", [port], tlsSocket(context))],
        undefined,
        path,
      ),
    );
    return get(proxyPort, path, {}, { agent: false });
  }
  const stat = (name: string) =>
    Number(new RegExp(`^cluster\\.ext\\.${name.replace(/\./g, "\\.")}: (\\d+)$`, "m").exec(engine.statsText())?.[1]);

  it("SIMPLE: verifies the chain against trusted_ca and the SAN, and sends the SNI", async () => {
    const r = await via(
      {
        sni: "api.example.com",
        common_tls_context: {
          validation_context: {
            trusted_ca: inline(ca.certPem),
            match_typed_subject_alt_names: [{ san_type: "DNS", matcher: { exact: "api.example.com" } }],
          },
        },
      },
      "/simple",
    );
    expect([r.status, r.body]).toEqual([200, "simple"]);
    expect(seen.at(-1)).toEqual({ sni: "api.example.com", clientCert: false, path: "/simple" });
    expect(stat("ssl.handshake")).toBeGreaterThan(0);
  });

  it("a wildcard SAN in the certificate matches an exact name under it", async () => {
    const r = await via(
      {
        sni: "x.wild.example.com",
        common_tls_context: {
          validation_context: {
            trusted_ca: inline(ca.certPem),
            match_typed_subject_alt_names: [{ san_type: "DNS", matcher: { exact: "x.wild.example.com" } }],
          },
        },
      },
      "/wild",
    );
    expect(r.status).toBe(200);
  });

  it("refuses a server whose SAN doesn't match, or whose chain isn't trusted: 503, never plaintext", async () => {
    const before = seen.length;
    const san = await via(
      {
        common_tls_context: {
          validation_context: {
            trusted_ca: inline(ca.certPem),
            match_typed_subject_alt_names: [{ san_type: "DNS", matcher: { exact: "evil.example.com" } }],
          },
        },
      },
      "/san",
    );
    expect(san.status).toBe(503);
    expect(stat("ssl.fail_verify_san")).toBeGreaterThan(0);
    const chain = await via(
      { common_tls_context: { validation_context: { trusted_ca: inline(otherCa.certPem) } } },
      "/chain",
    );
    expect(chain.status).toBe(503);
    expect(stat("ssl.fail_verify_error")).toBeGreaterThan(0);
    expect(seen.length).toBe(before); // no request reached the server
  });

  it("refuses a server whose certificate the CRL revokes (Istio's caCrl), and needs trusted_ca for a CRL", async () => {
    const trusting = (crl: string) => ({
      common_tls_context: { validation_context: { trusted_ca: inline(ca.certPem), crl: inline(crl) } },
    });
    const before = seen.length;
    const revoked = await via(trusting(await revocationList(ca, [leaf.certPem])), "/revoked");
    expect(revoked.status).toBe(503);
    expect(seen.length).toBe(before);
    const other = await via(trusting(await revocationList(ca, [client.certPem])), "/not-revoked");
    expect([other.status, other.body]).toEqual([200, "simple"]);
    await expect(via({ common_tls_context: { validation_context: { crl: inline("x") } } })).rejects.toThrow(
      /validation_context\.crl: needs trusted_ca/,
    );
  });

  it("without a validation context (insecureSkipVerify) any certificate is accepted, as Envoy does", async () => {
    expect((await via({ common_tls_context: {} }, "/skip")).status).toBe(200);
  });

  it("MUTUAL: presents the client certificate", async () => {
    const r = await via(
      {
        common_tls_context: {
          tls_certificates: [{ certificate_chain: inline(client.certPem), private_key: inline(client.keyPem) }],
          validation_context: { trusted_ca: inline(ca.certPem) },
        },
      },
      "/mutual",
    );
    expect([r.status, r.body]).toEqual([200, "mutual"]);
  });

  it("originates TLS for tcp_proxy too", async () => {
    // tcp_proxy carries a plain HTTP request over the TLS it originates to the HTTPS server.
    const res: Resources = {
      version: "tcp",
      listeners: [
        {
          name: "tcp",
          address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
          filter_chains: [
            {
              filters: [
                {
                  name: "envoy.filters.network.tcp_proxy",
                  typed_config: { "@type": TCP, stat_prefix: "t", cluster: "ext" },
                },
              ],
            },
          ],
        },
      ],
      clusters: [
        cluster(
          "ext",
          [port],
          tlsSocket({
            sni: "api.example.com",
            common_tls_context: { validation_context: { trusted_ca: inline(ca.certPem) } },
          }),
        ),
      ],
    };
    await engine.apply(res);
    const r = await get(engine.listenerPort("tcp"), "/tcp", {}, { agent: false });
    expect([r.status, r.body]).toEqual([200, "simple"]);
    expect(seen.at(-1)?.sni).toBe("api.example.com");
  });

  it("NACKs unreadable certificates and what it doesn't implement, naming the cluster; takes a missing SDS secret", async () => {
    const nack = (context: Record<string, unknown>) =>
      engine
        .apply({
          version: "bad",
          listeners: [listener([])],
          routes: [],
          clusters: [cluster("ext", [port], tlsSocket(context))],
        })
        .then(
          () => "accepted",
          (e: unknown) => (e instanceof ConfigError ? e.message : String(e)),
        );
    // A secret the agent hasn't given leaves the cluster not ready (its connections refused: mtls.test.ts,
    // upstream-credentials.test.ts), as Envoy keeps such a cluster, rather than refusing the whole config.
    expect(await nack({ common_tls_context: { tls_certificate_sds_secret_configs: [{ name: "default" }] } })).toBe(
      "accepted",
    );
    expect(
      await nack({ common_tls_context: { validation_context: { trusted_ca: { filename: "/nonexistent/ca.pem" } } } }),
    ).toContain('Cluster "ext": transport_socket: invalid TLS certificates');
    expect(await nack({ common_tls_context: { validation_context: { verify_certificate_hash: ["ab"] } } })).toContain(
      "validation_context.verify_certificate_hash: not supported",
    );
  });
});
