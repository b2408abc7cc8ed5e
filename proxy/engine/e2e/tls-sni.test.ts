// Several TLS chains on one port told apart by SNI (filter_chain_match.server_names), as Istio's gateways give one
// chain per HTTPS server: the certificate a client is served is its server name's, an exact name before the longest
// `*.` wildcard, and a client with no or an unknown server name gets the chain without server_names, or none.
import { connect, type PeerCertificate } from "node:tls";
import { generateCa, issueCert, type KeyPair } from "../../../operator/runtime/pki.js";
import * as h from "../../../test/support/engine/helpers.js";
import type { Engine } from "../engine.js";

const INSPECTOR = {
  name: "envoy.filters.listener.tls_inspector",
  typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector" },
};

/** One HTTP chain terminating TLS with `pair`, for the server names given (none: the chain without). */
function chain(pair: KeyPair, names?: string[]): Record<string, unknown> {
  const base = (h.listener([]).filter_chains as Record<string, unknown>[])[0] as Record<string, unknown>;
  return {
    ...base,
    ...(names ? { filter_chain_match: { server_names: names } } : {}),
    transport_socket: h.tlsTransport(pair.certPem, pair.keyPem),
  };
}

/** The certificate the listener serves a client asking for `servername` ("": no SNI); rejects when the handshake fails. */
function servedTo(port: number, servername: string, ca: string): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port, servername, ca, checkServerIdentity: () => undefined }, () => {
      const cert = s.getPeerCertificate();
      s.end();
      resolve(cert);
    });
    s.on("error", reject);
  });
}

describe("TLS chains chosen by SNI (server_names)", () => {
  let b: h.Backend;
  let engine: Engine;
  let port: number;
  let ca: KeyPair;
  const certs: Record<string, KeyPair> = {};
  const resources = (chains: Record<string, unknown>[]) => ({
    listeners: [{ ...h.listener([]), listener_filters: [INSPECTOR], filter_chains: chains }],
    routes: [h.routeConfig([{ match: { prefix: "/" }, route: { cluster: "b" } }])],
    clusters: [h.cluster("b", [b.port])],
  });

  beforeAll(async () => {
    b = await h.backend("b");
    ca = await generateCa("sni root", 1);
    for (const cn of ["shop.example.com", "wild.example.org", "deep.example.org", "default"])
      certs[cn] = await issueCert(ca, { commonName: cn, dnsNames: [cn], usage: "server", days: 1 });
    ({ engine, port } = await h.startEngine(
      resources([
        chain(certs["shop.example.com"]!, ["shop.example.com"]),
        chain(certs["wild.example.org"]!, ["*.example.org"]),
        chain(certs["deep.example.org"]!, ["*.deep.example.org", "exact.example.org"]),
        chain(certs["default"]!),
      ]),
    ));
  });
  afterAll(async () => {
    await engine.stop();
    await b.close();
  });

  it("serves each server name its own certificate: exact, then the longest wildcard", async () => {
    const cn = async (sni: string) => (await servedTo(port, sni, ca.certPem)).subject.CN;
    expect(await cn("shop.example.com")).toBe("shop.example.com");
    expect(await cn("SHOP.example.com")).toBe("shop.example.com");
    expect(await cn("a.example.org")).toBe("wild.example.org");
    expect(await cn("a.b.example.org")).toBe("wild.example.org");
    expect(await cn("a.deep.example.org")).toBe("deep.example.org");
    expect(await cn("exact.example.org")).toBe("deep.example.org");
  });

  it("serves HTTP on the chain the server name picked", async () => {
    const r = await h.get(port, "/x", {}, { tls: { servername: "shop.example.com", ca: ca.certPem } });
    expect(JSON.parse(r.body)).toMatchObject({ name: "b", url: "/x" });
  });

  it("gives a client with no SNI or an unknown one the chain without server_names", async () => {
    expect((await servedTo(port, "", ca.certPem)).subject.CN).toBe("default");
    expect((await servedTo(port, "other.example.net", ca.certPem)).subject.CN).toBe("default");
    expect((await servedTo(port, "example.org", ca.certPem)).subject.CN).toBe("default"); // *.example.org needs a label
    expect((await servedTo(port, ".example.org", ca.certPem)).subject.CN).toBe("default"); // an empty one is none
  });

  it("without such a chain, fails their handshake, and still serves the names it has", async () => {
    await engine.apply(
      resources([
        chain(certs["shop.example.com"]!, ["shop.example.com"]),
        chain(certs["wild.example.org"]!, ["*.example.org"]),
      ]),
    );
    await expect(servedTo(port, "", ca.certPem)).rejects.toThrow();
    await expect(servedTo(port, "other.example.net", ca.certPem)).rejects.toThrow();
    expect((await servedTo(port, "shop.example.com", ca.certPem)).subject.CN).toBe("shop.example.com");
    expect(engine.statsText()).toMatch(/^listener\.http\.no_filter_chain_match: [2-9]/m);
  });

  it("refuses two chains for the same server name, and server_names without the TLS inspector", async () => {
    const twice = resources([
      chain(certs["shop.example.com"]!, ["shop.example.com"]),
      chain(certs["default"]!, ["shop.example.com"]),
    ]);
    await expect(engine.apply(twice)).rejects.toThrow(
      'Listener "http": filter_chains[1].filter_chain_match.server_names: "shop.example.com" is matched by another chain',
    );
    const bare = resources([chain(certs["shop.example.com"]!, ["shop.example.com"])]);
    (bare.listeners[0] as Record<string, unknown>).listener_filters = [];
    await expect(engine.apply(bare)).rejects.toThrow(
      "filter_chains[0].filter_chain_match.server_names: needs the envoy.filters.listener.tls_inspector listener filter",
    );
    await expect(engine.apply(resources([chain(certs["default"]!, ["*"])]))).rejects.toThrow(
      'filter_chains[0].filter_chain_match.server_names[0]: "*": only a leading "*." wildcard is supported',
    );
  });
});
