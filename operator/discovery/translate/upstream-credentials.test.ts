// A DestinationRule's tls.credentialName (SIMPLE and MUTUAL origination, per port), through translate and the engine:
// an egress gateway's plain HTTP request for api.partner.example goes out over TLS to a backend started here. MUTUAL:
// the backend sees the client certificate the Secret holds. SIMPLE: the Secret's CA verifies the backend, and one
// with another CA's certificate gets no request. A missing Secret fails closed: 503, and not even a connection to
// the backend. Rendered as istiod's ApplyCustomSDSToClientCommonTLSContext (`kubernetes://<name>`, `-cacert`).
import { createServer, type Server } from "node:https";
import type { TLSSocket } from "node:tls";
import type { Engine } from "../../../proxy/engine/engine.js";
import { workloadSecrets } from "../../../proxy/agent/secrets.js";
import { freePorts } from "../../../hack/paths.js";
import { generateCa, issueCert, type KeyPair } from "../../runtime/pki.js";
import { get, testEngine } from "../../../test/support/engine/helpers.js";
import { meshModel, secretYaml } from "../../../test/support/discovery/mesh.js";
import { runTranslated } from "../../../test/support/discovery/translated.js";
import { parseNodeId, translate } from "./index.js";

const NODE = "router~127.0.0.1~egress-0.istio-system~istio-system.svc.cluster.local";
const SIDECAR = "sidecar~127.0.0.1~app-0.istio-system~istio-system.svc.cluster.local";
const HOST = "api.partner.example";

/** A TLS backend: what it saw of each request (the client certificate's CN, "none"), and its connections. */
interface TlsBackend {
  server: Server;
  port: number;
  seen: string[];
  connections: number;
}

async function tlsBackend(leaf: KeyPair): Promise<TlsBackend> {
  const b: TlsBackend = { server: undefined as never, port: 0, seen: [], connections: 0 };
  b.server = createServer({ cert: leaf.certPem, key: leaf.keyPem, requestCert: true, rejectUnauthorized: false });
  b.server.on("request", (req, res) => {
    const cert = (req.socket as TLSSocket).getPeerCertificate();
    b.seen.push(String(cert?.subject?.CN ?? "none"));
    res.end("partner says hello");
  });
  b.server.on("connection", () => b.connections++);
  await new Promise<void>((resolve) => b.server.listen(0, "127.0.0.1", resolve));
  b.port = (b.server.address() as { port: number }).port;
  return b;
}

/** The egress gateway (HTTP on `gwPort`) routing everything to HOST:443, whose DestinationRule's port 443 has `tls`. */
const egress = (gwPort: number, backendPort: number, tls: string) => `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: egress, namespace: istio-system }
spec:
  servers: [{ port: { number: ${gwPort}, name: http, protocol: HTTP }, hosts: ["*"] }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: partner, namespace: istio-system }
spec:
  hosts: [${HOST}]
  ports: [{ number: 443, name: https, protocol: HTTPS, targetPort: ${backendPort} }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1 }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: partner, namespace: istio-system }
spec:
  hosts: ["*"]
  gateways: [egress]
  http: [{ route: [{ destination: { host: ${HOST}, port: { number: 443 } } }] }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: partner, namespace: istio-system }
spec:
  host: ${HOST}
  trafficPolicy:
    portLevelSettings: [{ port: { number: 443 }, tls: ${tls} }]
`;

describe("DestinationRule tls.credentialName: TLS origination with a Secret of the gateway's namespace", () => {
  let partnerCa: KeyPair;
  let egressCa: KeyPair;
  let partner: TlsBackend;
  let impostor: TlsBackend;
  let secrets: unknown[];
  const engines: Engine[] = [];
  const backends: TlsBackend[] = [];

  beforeAll(async () => {
    partnerCa = await generateCa("partner root", 1);
    egressCa = await generateCa("egress client root", 1);
    const otherCa = await generateCa("someone else", 1);
    const serving = { commonName: HOST, dnsNames: [HOST], usage: "server" as const, days: 1 };
    partner = await tlsBackend(await issueCert(partnerCa, serving));
    impostor = await tlsBackend(await issueCert(otherCa, serving));
    backends.push(partner, impostor);
    const mesh = await issueCert(egressCa, { commonName: "mesh", usage: "client", days: 1 });
    secrets = workloadSecrets({ certChainPem: mesh.certPem, keyPem: mesh.keyPem, rootPem: egressCa.certPem });
  });
  afterAll(async () => {
    for (const e of engines) await e.stop();
    for (const b of backends) b.server.close();
  });

  const through = async (yaml: (gatewayPort: number) => string) => {
    const [gwPort] = (await freePorts(1, "0.0.0.0")) as [number];
    const { engine, out } = await runTranslated(yaml(gwPort), NODE, { secrets });
    engines.push(engine);
    return { port: gwPort, out, engine };
  };

  /** The cluster fails closed: 503, not even a connection to the backend, Envoy's counter of it. */
  const expectRefused = async (engine: Engine, gwPort: number) => {
    const connections = partner.connections;
    const r = await get(gwPort, "/", { host: HOST });
    expect(r.status).toBe(503);
    expect(partner.connections).toBe(connections);
    expect(engine.statsText()).toMatch(
      /^cluster\.outbound\|443\|\|api\.partner\.example\.client_ssl_socket_factory\.upstream_context_secrets_not_ready: [1-9]/m,
    );
  };

  it("MUTUAL: the backend sees the client certificate the Secret holds, the server checked against its ca.crt", async () => {
    const client = await issueCert(egressCa, { commonName: "weft-egress", usage: "client", days: 1 });
    const secret = secretYaml("partner-client", "istio-system", {
      "tls.crt": client.certPem,
      "tls.key": client.keyPem,
      "ca.crt": partnerCa.certPem,
    });
    const yaml = (gw: number) => egress(gw, partner.port, "{ mode: MUTUAL, credentialName: partner-client }") + secret;
    const { port, out } = await through(yaml);
    expect(out.secrets.map((s) => s.name)).toEqual([
      "kubernetes://partner-client",
      "kubernetes://partner-client-cacert",
    ]);
    const before = partner.seen.length;
    const r = await get(port, "/", { host: HOST });
    expect(`${r.status} ${r.body}`).toBe("200 partner says hello");
    expect(partner.seen.slice(before)).toEqual(["weft-egress"]);
  });

  it("SIMPLE: the Secret's CA verifies the backend; one with another CA's certificate gets no request (503)", async () => {
    const secret = secretYaml("partner-ca", "istio-system", { cacert: partnerCa.certPem }, { type: "Opaque" });
    const good = await through(
      (gw) => egress(gw, partner.port, "{ mode: SIMPLE, credentialName: partner-ca }") + secret,
    );
    expect(good.out.secrets.map((s) => s.name)).toEqual(["kubernetes://partner-ca-cacert"]);
    const before = partner.seen.length;
    const r = await get(good.port, "/", { host: HOST });
    expect(`${r.status} ${r.body}`).toBe("200 partner says hello");
    expect(partner.seen.slice(before)).toEqual(["none"]); // SIMPLE: no client certificate

    const bad = await through(
      (gw) => egress(gw, impostor.port, "{ mode: SIMPLE, credentialName: partner-ca }") + secret,
    );
    const refused = await get(bad.port, "/", { host: HOST });
    expect(refused.status).toBe(503);
    expect(impostor.seen).toEqual([]);
    expect(bad.engine.statsText()).toMatch(
      /^cluster\.outbound\|443\|\|api\.partner\.example\.ssl\.fail_verify_error: [1-9]/m,
    );
  });

  it("a missing Secret fails closed: a warning, 503, and no connection to the backend at all", async () => {
    const [gwPort] = (await freePorts(1, "0.0.0.0")) as [number];
    const yaml = egress(gwPort, partner.port, "{ mode: MUTUAL, credentialName: nowhere }");
    const out = translate(meshModel(yaml), { ...parseNodeId(NODE), mtls: true });
    expect(out.warnings).toEqual([
      "DestinationRule/istio-system/partner: tls.credentialName: secret istio-system/nowhere not found (a gateway reads Secrets of its own namespace); connections of outbound|443||api.partner.example are refused until it is served",
    ]);
    expect(out.secrets).toEqual([]);
    const engine = await testEngine({ ...out, secrets });
    engines.push(engine);
    await expectRefused(engine, gwPort);
  });

  it("a rule naming a Secret of the wrong kind (`<credential>-cacert`, a CA) refuses that cluster's connections, not the gateway's config", async () => {
    // Any namespace's DestinationRule reaches the gateway's cluster for its host. `kubernetes://gw-cacert` is the
    // CA of the gateway's own MUTUAL credential `gw` (istiod names it so too), served where MUTUAL wants a client
    // certificate: Envoy rejects that Secret alone (the cluster stays without TLS context, its connections
    // refused); a NACK of the whole config would leave the gateway on its last config, or with none.
    const gw = await issueCert(egressCa, { commonName: "gw", usage: "client", days: 1 });
    const secret = secretYaml("gw", "istio-system", {
      "tls.crt": gw.certPem,
      "tls.key": gw.keyPem,
      "ca.crt": partnerCa.certPem,
    });
    const [gwPort] = (await freePorts(1, "0.0.0.0")) as [number];
    const yaml =
      egress(gwPort, partner.port, "{ mode: MUTUAL, credentialName: gw-cacert }").replace(
        "metadata: { name: partner, namespace: istio-system }\nspec:\n  host:",
        "metadata: { name: partner, namespace: tenant }\nspec:\n  host:",
      ) + secret;
    expect(yaml).toContain("namespace: tenant");
    const out = translate(meshModel(yaml), { ...parseNodeId(NODE), mtls: true });
    expect(out.secrets.map((s) => s.name)).toEqual(["kubernetes://gw-cacert"]);
    const engine = await testEngine({ ...out, secrets: [...secrets, ...out.secrets] });
    engines.push(engine);
    await expectRefused(engine, gwPort);
  });

  it("a sidecar gets no Secret (istiod gives it no TLS for a rule without workloadSelector): it fails closed too", () => {
    const secret = secretYaml("partner-ca", "istio-system", { "ca.crt": partnerCa.certPem });
    const out = translate(
      meshModel(egress(8080, partner.port, "{ mode: SIMPLE, credentialName: partner-ca }") + secret),
      {
        ...parseNodeId(SIDECAR),
        mtls: true,
      },
    );
    expect(out.secrets).toEqual([]);
    expect(out.warnings).toContainEqual(
      expect.stringContaining("secret istio-system/partner-ca is not served to sidecars"),
    );
  });
});
