// A TLS listener that verifies client certificates without requiring one (a validation context, and
// require_client_certificate false: Istio's Gateway OPTIONAL_MUTUAL): as Envoy, a client without a certificate is
// served, one the CA signed is served, and one presenting a certificate the CA didn't sign is refused (RSA or ECDSA).
import { testCa, type KeyPair } from "../../../test/support/engine/mesh-certs.js";
import { generateCa, issueCert } from "../../../operator/runtime/pki.js";
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

describe("a TLS listener verifying client certificates, not requiring one", () => {
  let b: Backend;
  let engine: Engine;
  let port: number;
  let serverCa = "";
  let partner: KeyPair;
  /** Certificates from another root of the same name, as an attacker's own CA would issue. */
  const strangers: Record<string, KeyPair> = {};

  beforeAll(async () => {
    b = await backend("b", (_req, res) => res.end("b says hello"));
    const root = await generateCa("server root", 1);
    serverCa = root.certPem;
    const server = await issueCert(root, {
      commonName: "localhost",
      dnsNames: ["localhost"],
      usage: "server",
      days: 1,
    });
    const clients = await generateCa("client root", 1);
    const pair = (k: { certPem: string; keyPem: string }): KeyPair => ({ cert: k.certPem, key: k.keyPem });
    const client = (ca: typeof clients) => issueCert(ca, { commonName: "partner", usage: "client", days: 1 });
    partner = pair(await client(clients));
    strangers.RSA = pair(await client(await generateCa("client root", 1)));
    strangers.ECDSA = await (await testCa("client root")).issue({ uri: "spiffe://example.com/partner" });
    const l = listener([]);
    (l.filter_chains as Record<string, unknown>[])[0]!.transport_socket = tlsTransport(
      server.certPem,
      server.keyPem,
      clients.certPem,
    );
    ({ engine, port } = await startEngine({
      listeners: [l],
      routes: [routeConfig([{ match: { prefix: "/" }, route: { cluster: "b" } }])],
      clusters: [cluster("b", [b.port])],
    }));
  });
  afterAll(async () => {
    await engine.stop();
    await b.close();
  });

  const request = async (client?: KeyPair) => {
    const tls = { servername: "localhost", ca: serverCa, ...(client ? { cert: client.cert, key: client.key } : {}) };
    const r = await get(port, "/", {}, { tls });
    return `${r.status} ${r.body}`;
  };

  it("serves a client without a certificate, and one whose certificate the CA signed", async () => {
    expect(await request()).toBe("200 b says hello");
    expect(await request(partner)).toBe("200 b says hello");
  });

  it.each(["RSA", "ECDSA"])("refuses a client presenting an %s certificate the CA didn't sign", async (kind) => {
    // No byte of the backend's: the connection ends once the handshake is done.
    await expect(request(strangers[kind])).rejects.toThrow();
    // The listener still serves others after it.
    expect(await request(partner)).toBe("200 b says hello");
  });
});
