// A selector DestinationRule's tls.credentialName on sidecars, through translate and the engine (the agent's local
// shape: one outbound listener reached by Host): the sidecar the rule selects, whose ServiceAccount was allowed
// (credentialsAllowed, the review's answer: ads/peer.ts), originates mTLS with the Secret's client certificate and
// verifies the backend with its CA; denied, unreviewed, unselected or under a rule without a selector, it gets no
// Secret and its cluster refuses the request (503) without a connection to the backend, never sending plaintext.
import { createServer, type Server } from "node:https";
import type { TLSSocket } from "node:tls";
import { localShape, OUTBOUND_LISTENER } from "../../../proxy/agent/local-shape.js";
import type { Engine } from "../../../proxy/engine/engine.js";
import { get, testEngine } from "../../../test/support/engine/helpers.js";
import { loopbackEntry, meshModel, secretYaml } from "../../../test/support/discovery/mesh.js";
import { generateCa, issueCert } from "../../runtime/pki.js";
import type { ProxyIdentity } from "./proxy.js";
import { parseNodeId, translate } from "./index.js";

const HOST = "pay.example";
const node = (pod: string) => parseNodeId(`sidecar~127.0.0.9~${pod}.shop~shop.svc.cluster.local`);
const entry = (name: string, labels: string) => `---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: ${name}, namespace: shop }
spec: { address: 10.0.0.9, labels: { ${labels} } }
`;
const rule = (selector: string) => `---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: pay-a, namespace: shop }
spec:
  host: ${HOST}
  ${selector}
  trafficPolicy: { tls: { mode: MUTUAL, credentialName: pay-client } }
`;
const SELECTOR = "workloadSelector: { matchLabels: { app: a } }";

describe("a selector DestinationRule's credentialName on sidecars, through the engine", () => {
  let backend: Server;
  let seen: string[];
  let connections = 0;
  let yaml = "";
  const engines: Engine[] = [];

  beforeAll(async () => {
    const pay = await generateCa("pay root", 1);
    const serving = await issueCert(pay, { commonName: HOST, dnsNames: [HOST], usage: "server", days: 1 });
    const client = await issueCert(pay, { commonName: "shop-client", usage: "client", days: 1 });
    seen = [];
    backend = createServer({
      cert: serving.certPem,
      key: serving.keyPem,
      requestCert: true,
      rejectUnauthorized: false,
    });
    backend.on("request", (req, res) => {
      seen.push(String((req.socket as TLSSocket).getPeerCertificate()?.subject?.CN ?? "none"));
      res.end("paid");
    });
    backend.on("connection", () => connections++);
    await new Promise<void>((resolve) => backend.listen(0, "127.0.0.1", resolve));
    const port = (backend.address() as { port: number }).port;
    yaml =
      loopbackEntry("pay", HOST, port, "shop") +
      entry("a-0", "app: a") +
      entry("b-0", "app: b") +
      secretYaml("pay-client", "shop", { "tls.crt": client.certPem, "tls.key": client.keyPem, "ca.crt": pay.certPem });
  });
  afterAll(async () => {
    for (const e of engines) await e.stop();
    backend.close();
  });

  async function through(proxy: ProxyIdentity, selector = SELECTOR) {
    const out = translate(meshModel(yaml + rule(selector)), { mtls: true, serviceAccount: "pay", ...proxy });
    const shaped = localShape({ version: "1", ...out }, { ip: "127.0.0.1", appAddress: "127.0.0.1", outboundPort: 0 });
    const engine = await testEngine(shaped);
    engines.push(engine);
    const before = { seen: seen.length, connections };
    const r = await get(engine.listenerPort(OUTBOUND_LISTENER), "/", { host: HOST });
    return {
      status: r.status,
      backendSaw: seen.slice(before.seen),
      connected: connections > before.connections,
      secrets: out.secrets.map((s) => s.name),
      warnings: out.warnings,
    };
  }

  it("the selected sidecar whose ServiceAccount was allowed: the backend sees the Secret's client certificate", async () => {
    const r = await through({ ...node("a-0"), credentialsAllowed: true });
    expect(r).toMatchObject({ status: 200, backendSaw: ["shop-client"], warnings: [] });
    expect(r.secrets).toEqual(["kubernetes://pay-client", "kubernetes://pay-client-cacert"]);
  });

  const refused = (why: string) => ({
    status: 503,
    backendSaw: [],
    connected: false,
    secrets: [],
    warnings: [
      `DestinationRule/shop/pay-a: tls.credentialName: ${why}; connections of outbound|80||${HOST} are refused until it is served`,
    ],
  });

  it("denied by the review: no Secret, 503 without a connection, and the warning carries the review's reason", async () => {
    const reason = "pay/shop is not authorized to read secrets: no RBAC rule allows it";
    expect(await through({ ...node("a-0"), credentialsDenied: reason })).toEqual(
      refused(`secret shop/pay-client: ${reason}`),
    );
  });

  it("not reviewed (no review allowed it, e.g. local mode): no Secret", async () => {
    expect(await through(node("a-0"))).toEqual(
      refused(
        "secret shop/pay-client: its ServiceAccount was not reviewed (a sidecar gets Secrets only after a SubjectAccessReview allows its ServiceAccount to list them: Kubernetes mode)",
      ),
    );
  });

  it("a rule without a workloadSelector serves no sidecar its Secret, allowed or not (istiod gives them no TLS)", async () => {
    expect(await through({ ...node("b-0"), credentialsAllowed: true }, "")).toEqual(
      refused(
        "secret shop/pay-client is not served to sidecars (istiod gives them no TLS here; only a rule with a workloadSelector serves its Secret, to the sidecars it selects)",
      ),
    );
  });

  it("a sidecar the rule doesn't select gets neither the rule nor its Secret", async () => {
    const r = await through({ ...node("b-0"), credentialsAllowed: true });
    expect(r.secrets).toEqual([]);
    expect(r.backendSaw).toEqual([]); // plain HTTP to a TLS port: the backend answers no request
  });
});
