// Istio's egress gateway task ("Egress gateways with TLS origination", its mutual-TLS variant) through translate and two
// engines on loopback: a sidecar's request for an external host goes, as the mesh VirtualService says, to the egress
// gateway over ISTIO_MUTUAL (the DestinationRule's subset: SNI the external host, the gateway's SPIFFE ID checked);
// the gateway's ISTIO_MUTUAL server terminates it and its VirtualService route sends it on to the external service.
import { request } from "node:http";
import { localShape, OUTBOUND_LISTENER } from "../../../proxy/agent/local-shape.js";
import { workloadSecrets } from "../../../proxy/agent/secrets.js";
import type { Engine } from "../../../proxy/engine/engine.js";
import { freePorts } from "../../../hack/paths.js";
import { testCa, type TestCa } from "../../../test/support/engine/mesh-certs.js";
import { backend, get, testEngine, type Backend } from "../../../test/support/engine/helpers.js";
import { meshModel } from "../../../test/support/discovery/mesh.js";
import { runTranslated } from "../../../test/support/discovery/translated.js";
import { parseNodeId, translate } from "./index.js";

const EGRESS_SA = "istio-egressgateway-service-account";
const EGRESS_ID = `spiffe://cluster.local/ns/istio-system/sa/${EGRESS_SA}`;
const EGRESS_HOST = "istio-egressgateway.istio-system.svc.cluster.local";

const egressYaml = (gatewayPort: number, externalPort: number) => `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: cnn, namespace: default }
spec:
  hosts: [edition.example.com]
  ports: [{ number: 80, name: http-port, protocol: HTTP, targetPort: ${externalPort} }]
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1 }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: istio-egressgateway, namespace: istio-system }
spec:
  hosts: [${EGRESS_HOST}]
  ports: [{ number: 443, name: https, protocol: HTTPS, targetPort: ${gatewayPort} }]
  resolution: STATIC
  workloadSelector: { labels: { istio: egressgateway } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: egress-0, namespace: istio-system }
spec:
  address: 127.0.0.1
  serviceAccount: ${EGRESS_SA}
  labels: { istio: egressgateway, security.istio.io/tlsMode: istio }
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: istio-egressgateway, namespace: default }
spec:
  selector: { istio: egressgateway }
  servers:
  - port: { number: ${gatewayPort}, name: https, protocol: HTTPS }
    hosts: [edition.example.com]
    tls: { mode: ISTIO_MUTUAL }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: egressgateway-for-cnn, namespace: default }
spec:
  host: ${EGRESS_HOST}
  subsets:
  - name: cnn
    trafficPolicy:
      portLevelSettings:
      - port: { number: 443 }
        tls: { mode: ISTIO_MUTUAL, sni: edition.example.com }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: direct-cnn-through-egress-gateway, namespace: default }
spec:
  hosts: [edition.example.com]
  gateways: [istio-egressgateway, mesh]
  http:
  - match: [{ gateways: [mesh], port: 80 }]
    route: [{ destination: { host: ${EGRESS_HOST}, subset: cnn, port: { number: 443 } } }]
  - match: [{ gateways: [istio-egressgateway], port: ${gatewayPort} }]
    route: [{ destination: { host: edition.example.com, port: { number: 80 } } }]
`;

describe("Istio's egress gateway over ISTIO_MUTUAL, through two engines", () => {
  let mesh: TestCa;
  let external: Backend;
  let gateway: Engine;
  let sidecar: Engine;
  let outbound = 0;
  let gatewayPort = 0;

  beforeAll(async () => {
    mesh = await testCa("mesh root");
    external = await backend("cnn", (req, res) =>
      res.end(`cnn saw ${String(req.headers.host)} over ${String(req.headers["x-forwarded-proto"])}`),
    );
    gatewayPort = (await freePorts(1, "0.0.0.0"))[0] as number;
    const yaml = egressYaml(gatewayPort, external.port);
    const secrets = async (uri: string) => {
      const leaf = await mesh.issue({ uri });
      return workloadSecrets({ certChainPem: leaf.cert, keyPem: leaf.key, rootPem: mesh.ca });
    };
    ({ engine: gateway } = await runTranslated(
      yaml,
      "router~127.0.0.1~egress-0.istio-system~istio-system.svc.cluster.local",
      { secrets: await secrets(EGRESS_ID) },
    ));
    const node = { ...parseNodeId("sidecar~127.0.0.9~sleep-0.default~default.svc.cluster.local"), mtls: true };
    const out = translate(meshModel(yaml), node);
    expect(out.warnings).toEqual([]);
    const shaped = localShape({ version: "1", ...out }, { ip: "127.0.0.1", outboundPort: 0 });
    sidecar = await testEngine({ ...shaped, secrets: await secrets("spiffe://cluster.local/ns/default/sa/sleep") });
    outbound = sidecar.listenerPort(OUTBOUND_LISTENER);
  });
  afterAll(async () => {
    await sidecar.stop();
    await gateway.stop();
    await external.close();
  });

  it("sends the app's plaintext request through the gateway over mTLS, on to the external service", async () => {
    const r = await get(outbound, "/", { host: "edition.example.com" }, { agent: false });
    // https: the gateway received it over TLS, which the sidecar originated (the app spoke plaintext HTTP).
    expect([r.status, r.body]).toEqual([200, "cnn saw edition.example.com over https"]);
  });

  it("serves no client outside the mesh at the gateway: plaintext gets no answer", async () => {
    const got = await new Promise<string>((resolve) => {
      const req = request(
        { host: "127.0.0.1", port: gatewayPort, headers: { host: "edition.example.com" }, agent: false },
        (res) => resolve(String(res.statusCode)),
      );
      req.on("error", (e) => resolve(`error: ${e.message}`));
      req.end();
    });
    expect(got).toMatch(/^error: /);
  });
});
