// x-forwarded-client-cert on a gateway verifying client certificates (Istio's OPTIONAL_MUTUAL): with
// forward_client_cert_details SANITIZE_SET and every set_current_client_cert_details field, the app sees this hop's
// element as Envoy writes it for the client's certificate (By, Hash, Cert, Chain as sent, Subject, URI, each DNS),
// computed here from the certificate itself; a header the client sent is never passed on, with or without one.
import { X509Certificate } from "node:crypto";
import { testCa, type KeyPair } from "../../../test/support/engine/mesh-certs.js";
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

const GATEWAY = "spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway";
const FORGED = 'By=spiffe://forged;Hash=00;Subject="CN=admin";URI=spiffe://cluster.local/ns/prod/sa/admin';

describe("x-forwarded-client-cert: SANITIZE_SET on a gateway verifying client certificates", () => {
  let app: Backend;
  let engine: Engine;
  let port: number;
  let ca = "";
  let partner: KeyPair;
  /** A client whose certificate an intermediate signed, sending the leaf and the intermediate. */
  let branch: KeyPair;

  beforeAll(async () => {
    app = await backend("app");
    const mesh = await testCa("gateway root");
    ca = mesh.ca;
    const server = await mesh.issue({ uri: GATEWAY, dns: "localhost" });
    partner = await mesh.issue({
      uri: "spiffe://partner.example/client",
      dns: ["a.partner.example", "b.partner.example"],
      subject: 'C=US, O=Partner\\, \\"Inc\\"\\;x, CN=partner client',
    });
    branch = await (await mesh.intermediate("partner issuing CA")).issue({ uri: "spiffe://partner.example/branch" });
    const l = listener([]);
    const chain = (l.filter_chains as Record<string, unknown>[])[0]!;
    chain.transport_socket = tlsTransport(server.cert, server.key, ca);
    const hcm = (chain.filters as { typed_config: Record<string, unknown> }[])[0]!.typed_config;
    hcm.forward_client_cert_details = "SANITIZE_SET";
    hcm.set_current_client_cert_details = { subject: true, cert: true, chain: true, dns: true, uri: true };
    ({ engine, port } = await startEngine({
      listeners: [l],
      routes: [routeConfig([{ match: { prefix: "/" }, route: { cluster: "app" } }])],
      clusters: [cluster("app", [app.port])],
    }));
  });
  afterAll(async () => {
    await engine.stop();
    await app.close();
  });

  /** The x-forwarded-client-cert the app received for a request carrying a forged one. */
  const seen = async (client?: KeyPair): Promise<string | undefined> => {
    const tls = { servername: "localhost", ca, ...(client ? { cert: client.cert, key: client.key } : {}) };
    const r = await get(port, "/", { "x-forwarded-client-cert": FORGED }, { tls });
    expect(r.status).toBe(200);
    return (JSON.parse(r.body) as { headers: Record<string, string> }).headers["x-forwarded-client-cert"];
  };

  it("replaces the client's header with the element Envoy writes for its certificate", async () => {
    const c = new X509Certificate(partner.cert);
    const pem = encodeURIComponent(c.toString()); // the same bytes as Envoy's encoding: base64 and PEM armour only
    const subject = 'CN=partner client,O=Partner\\, \\"Inc\\"\\;x,C=US';
    expect(await seen(partner)).toBe(
      [
        `By=${GATEWAY}`,
        `Hash=${c.fingerprint256.replace(/:/g, "").toLowerCase()}`,
        `Cert="${pem}"`,
        `Chain="${pem}"`, // the client sent its leaf only
        `Subject="${subject}"`,
        "URI=spiffe://partner.example/client",
        "DNS=a.partner.example",
        "DNS=b.partner.example",
      ].join(";"),
    );
  });

  it("writes the Chain the client sent, leaf first: here the leaf and its intermediate", async () => {
    const [leaf, intermediate] = branch.cert
      .split(/(?<=-----END CERTIFICATE-----\n)/)
      .map((p) => new X509Certificate(p));
    const pem = (c: X509Certificate | undefined) => encodeURIComponent(c?.toString() ?? "");
    expect(leaf?.checkIssued(intermediate!)).toBe(true);
    expect(await seen(branch)).toMatch(
      new RegExp(`;Cert="${pem(leaf)}";Chain="${pem(leaf)}${pem(intermediate)}";Subject="O=weft-test";URI=`),
    );
  });

  it("removes the client's header when it presents no certificate", async () => {
    expect(await seen()).toBeUndefined();
  });
});
