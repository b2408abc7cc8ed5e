// x-forwarded-client-cert is settled before anything reads the request, as Envoy's HCM does it (mutateRequestHeaders,
// before the route is chosen and the filters run): a gateway under SANITIZE_SET whose RBAC or routes look at the
// header see this hop's element, never the one a client wrote. A client without a certificate that forges one is
// denied and routed as a client without one; a client whose certificate carries the URI passes.
import { testCa, type KeyPair } from "../../../test/support/engine/mesh-certs.js";
import {
  backend,
  cluster,
  get,
  listener,
  ROUTER,
  routeConfig,
  startEngine,
  tlsTransport,
  type Backend,
} from "../../../test/support/engine/helpers.js";
import { TYPE } from "../../xds/types.js";
import type { Engine } from "../engine.js";

const PARTNER = "spiffe://partner.example/client";
const FORGED = `By=spiffe://gw;Hash=00;URI=${PARTNER}`;
/** Only requests whose x-forwarded-client-cert names the partner's URI (an AuthorizationPolicy on the header). */
const PARTNER_ONLY = {
  name: "envoy.filters.http.rbac",
  typed_config: {
    "@type": TYPE.rbac,
    rules: {
      action: "ALLOW",
      policies: {
        partner: {
          permissions: [{ any: true }],
          principals: [
            {
              header: {
                name: "x-forwarded-client-cert",
                string_match: { contains: `URI=${PARTNER}` },
              },
            },
          ],
        },
      },
    },
  },
};

describe("x-forwarded-client-cert before RBAC and routing (SANITIZE_SET)", () => {
  let app: Backend;
  let partnerApp: Backend;
  let engine: Engine;
  let port: number;
  let ca = "";
  let partner: KeyPair;

  const start = async (filters: unknown[]) => {
    const routes = [
      {
        match: { prefix: "/", headers: [{ name: "x-forwarded-client-cert", string_match: { contains: PARTNER } }] },
        route: { cluster: "partner" },
      },
      { match: { prefix: "/" }, route: { cluster: "app" } },
    ];
    const mesh = await testCa("gateway root");
    ca = mesh.ca;
    const server = await mesh.issue({ uri: "spiffe://cluster.local/ns/istio-system/sa/gw", dns: "localhost" });
    partner = await mesh.issue({ uri: PARTNER });
    const l = listener([], filters);
    const chain = (l.filter_chains as Record<string, unknown>[])[0]!;
    chain.transport_socket = tlsTransport(server.cert, server.key, ca); // OPTIONAL_MUTUAL
    const hcm = (chain.filters as { typed_config: Record<string, unknown> }[])[0]!.typed_config;
    hcm.forward_client_cert_details = "SANITIZE_SET";
    hcm.set_current_client_cert_details = { uri: true };
    ({ engine, port } = await startEngine({
      listeners: [l],
      routes: [routeConfig(routes)],
      clusters: [cluster("app", [app.port]), cluster("partner", [partnerApp.port])],
    }));
  };

  beforeAll(async () => {
    app = await backend("app");
    partnerApp = await backend("partner");
  });
  afterEach(async () => engine?.stop());
  afterAll(async () => {
    await app.close();
    await partnerApp.close();
  });

  const send = (client?: KeyPair) =>
    get(
      port,
      "/",
      { "x-forwarded-client-cert": FORGED },
      { tls: { servername: "localhost", ca, ...(client ? { cert: client.cert, key: client.key } : {}) } },
    );

  it("RBAC on the header denies a client without a certificate that forged it, allows the partner's certificate", async () => {
    await start([PARTNER_ONLY, ROUTER]);
    const forged = await send();
    expect(forged.status).toBe(403);
    expect(partnerApp.hits + app.hits).toBe(0);
    const real = await send(partner);
    expect(real.status).toBe(200);
    expect(partnerApp.hits).toBe(1);
  });

  it("a route matching the header takes the partner's certificate, not a forged header", async () => {
    const before = { app: app.hits, partner: partnerApp.hits };
    await start([ROUTER]);
    const forged = await send();
    expect(forged.status).toBe(200);
    expect(JSON.parse(forged.body)).toMatchObject({ name: "app" });
    expect((JSON.parse(forged.body) as { headers: Record<string, string> }).headers).not.toHaveProperty(
      "x-forwarded-client-cert",
    );
    const real = await send(partner);
    expect(JSON.parse(real.body)).toMatchObject({ name: "partner" });
    expect(app.hits - before.app).toBe(1);
    expect(partnerApp.hits - before.partner).toBe(1);
  });
});
