// x-forwarded-client-cert as istiod renders it, through translate and the engine: a gateway's HTTPS servers
// (MUTUAL, OPTIONAL_MUTUAL) are SANITIZE_SET with the client certificate's subject, cert, dns and uri
// (buildGatewayConnectionManager), or what the mesh config's gatewayTopology.forwardClientCertDetails says; a
// sidecar's inbound is APPEND_FORWARD with subject, dns and uri (proxyHeaders' defaults, buildSidecarInboundHTTPOpts).
import { X509Certificate } from "node:crypto";
import type { Engine } from "../../../proxy/engine/engine.js";
import type { JsonObject } from "../../../proxy/xds/types.js";
import { freePorts } from "../../../hack/paths.js";
import { gatewayFiles } from "../../../test/support/discovery/gateway-files.js";
import { testCa, type KeyPair } from "../../../test/support/engine/mesh-certs.js";
import { backend, get, testEngine, type Backend } from "../../../test/support/engine/helpers.js";
import { appBehindGateway, meshModel } from "../../../test/support/discovery/mesh.js";
import { bookinfoKube } from "../../../test/support/discovery/bookinfo.js";
import { violations } from "../../../test/support/discovery/envoy.js";
import { normalise } from "../model/normalise.js";
import { DEFAULT_MESH, parseMeshConfig, type ForwardClientCert } from "../model/mesh.js";
import { parseNodeId, translate, type TranslateResult } from "./index.js";

const NODE = parseNodeId("router~127.0.0.1~gw-0.istio-system~istio-system.svc.cluster.local");
const HOST = "shop.example.com";
const GATEWAY_ID = "spiffe://cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account";
const FORGED = 'Hash=00;Subject="CN=admin";URI=spiffe://cluster.local/ns/prod/sa/admin';

/** Every HTTP connection manager's XFCC fields, by listener name. */
const xfccFields = (out: TranslateResult, name?: string) =>
  out.listeners
    .filter((l) => !name || l.name === name)
    .flatMap((l) => (l.filter_chains ?? []).flatMap((c) => c.filters ?? []))
    .map((f) => f.typed_config as JsonObject)
    .filter((t) => String(t["@type"]).endsWith(".HttpConnectionManager"))
    .map((t) => ({
      forward: t.forward_client_cert_details,
      set: t.set_current_client_cert_details,
    }));

describe("x-forwarded-client-cert on a gateway's MUTUAL and OPTIONAL_MUTUAL servers", () => {
  let app: Backend;
  let engine: Engine;
  let serverCa = "";
  let partner: KeyPair;
  let yaml = "";
  const ports = { mutual: 0, optional: 0 };

  beforeAll(async () => {
    app = await backend("app");
    const servers = await testCa("gateway root");
    serverCa = servers.ca;
    const leaf = await servers.issue({ uri: GATEWAY_ID, dns: HOST });
    const partners = await testCa("partner root");
    partner = await partners.issue({
      uri: "spiffe://partner.example/ns/billing/sa/client",
      dns: ["billing.partner.example", "api.partner.example"],
      subject: 'C=US, O=Partner\\, \\"Inc\\"\\;x, CN=billing client',
    });
    const dir = gatewayFiles("weft-gw-xfcc-", { certPem: leaf.cert, keyPem: leaf.key }, partners.ca);
    [ports.mutual, ports.optional] = (await freePorts(2, "0.0.0.0")) as [number, number];
    const files = `serverCertificate: ${dir}/tls.crt, privateKey: ${dir}/tls.key, caCertificates: ${dir}/client-ca.crt`;
    yaml = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge, namespace: default }
spec:
  servers:
  - port: { number: ${ports.mutual}, name: https-mutual, protocol: HTTPS }
    hosts: [${HOST}]
    tls: { mode: MUTUAL, ${files} }
  - port: { number: ${ports.optional}, name: https-optional, protocol: HTTPS }
    hosts: [${HOST}]
    tls: { mode: OPTIONAL_MUTUAL, ${files} }
${appBehindGateway(app.port, [HOST])}`;
    const out = translate(meshModel(yaml), NODE);
    expect(out.warnings).toEqual([]);
    engine = await testEngine(out);
  });
  afterAll(async () => {
    await engine?.stop();
    await app.close();
  });

  /** The x-forwarded-client-cert the app received for a request that carried a forged one. */
  const seen = async (port: number, client?: KeyPair) => {
    const tls = { servername: HOST, ca: serverCa, ...(client ? { cert: client.cert, key: client.key } : {}) };
    const r = await get(port, "/", { "x-forwarded-client-cert": FORGED }, { tls });
    expect(r.status).toBe(200);
    return (JSON.parse(r.body) as { headers: Record<string, string> }).headers["x-forwarded-client-cert"];
  };

  it("tells the app who the client is, as Envoy writes it for that certificate (the client's header replaced)", async () => {
    const c = new X509Certificate(partner.cert);
    const expected = [
      `By=${GATEWAY_ID}`,
      `Hash=${c.fingerprint256.replace(/:/g, "").toLowerCase()}`,
      `Cert="${encodeURIComponent(c.toString())}"`,
      'Subject="CN=billing client,O=Partner\\, \\"Inc\\"\\;x,C=US"',
      "URI=spiffe://partner.example/ns/billing/sa/client",
      "DNS=billing.partner.example",
      "DNS=api.partner.example",
    ].join(";");
    expect(await seen(ports.mutual, partner)).toBe(expected);
    expect(await seen(ports.optional, partner)).toBe(expected);
  });

  it("passes on no header from a client without a certificate (OPTIONAL_MUTUAL)", async () => {
    expect(await seen(ports.optional)).toBeUndefined();
  });

  it("renders istiod's fields, or gatewayTopology.forwardClientCertDetails'", () => {
    const render = (mode: ForwardClientCert) => {
      const model = meshModel(yaml);
      model.mesh = { ...DEFAULT_MESH, gatewayForwardClientCert: mode };
      const out = translate(model, NODE);
      expect(violations(out)).toEqual([]);
      return xfccFields(out, `0.0.0.0_${ports.mutual}`);
    };
    const details = { subject: true, cert: true, dns: true, uri: true };
    expect(render("SANITIZE_SET")).toEqual([{ forward: "SANITIZE_SET", set: details }]);
    expect(render("APPEND_FORWARD")).toEqual([{ forward: "APPEND_FORWARD", set: details }]);
    expect(render("FORWARD_ONLY")).toEqual([{ forward: "FORWARD_ONLY", set: undefined }]);
    expect(render("SANITIZE")).toEqual([{ forward: undefined, set: undefined }]);
  });

  it("reads gatewayTopology.forwardClientCertDetails from the mesh config, naming a value it doesn't know", () => {
    const mesh = (v: string) =>
      parseMeshConfig(`defaultConfig:\n  gatewayTopology:\n    forwardClientCertDetails: ${v}\n`);
    expect(mesh("APPEND_FORWARD").gatewayForwardClientCert).toBe("APPEND_FORWARD");
    expect(mesh("UNDEFINED").gatewayForwardClientCert).toBe("SANITIZE_SET");
    expect(() => mesh("SANITISE")).toThrow(/forwardClientCertDetails: "SANITISE" is not one of SANITIZE, /);
  });
});

describe("x-forwarded-client-cert on a sidecar's inbound", () => {
  it("is APPEND_FORWARD with the peer's subject, dns and uri, as istiod's proxyHeaders defaults", () => {
    const reviews = parseNodeId("sidecar~10.0.0.12~reviews-v1-0.default~default.svc.cluster.local");
    const out = translate(normalise(bookinfoKube()).model, reviews);
    expect(xfccFields(out, "virtualInbound")).toContainEqual({
      forward: "APPEND_FORWARD",
      set: { subject: true, dns: true, uri: true },
    });
  });
});
