// Discovery's side of the gateway Secret review, in process (the API server's answer stands in as a function here;
// against the real one: test/integration/gateway-secrets.test.ts): proxies on 15012 with workload certificates of two
// ServiceAccounts of istio-system both claim `router`. Over incremental xDS, while the first review is unanswered,
// the proxy waiting for it gets nothing and every other proxy is served; denied, it gets an empty answer (even asking
// for the Secret by name) and /debug/syncz says why; the allowed ServiceAccount gets `kubernetes://shop-cert`.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { meshCredentials, requestCertificate, type WorkloadCert } from "../../proxy/agent/ca-client.js";
import type { DiscoveryResponse } from "../../proxy/xds/ads.js";
import { AdsClient } from "../../proxy/xds/client.js";
import { TYPE } from "../../proxy/xds/types.js";
import { secretYaml, shopGateway } from "../../test/support/discovery/mesh.js";
import { onLoopback } from "../../test/support/discovery/start.js";
import { until } from "../../test/support/engine/helpers.js";
import { generateCa, issueCert, type KeyPair } from "../runtime/pki.js";
import type { ReviewAnswer } from "./ads/secret-access.js";
import { LocalAuthenticator, mintLocalToken } from "./ca/authn.js";
import type { Discovery } from "./server.js";

const NS = "istio-system";
const router = (pod: string) => `router~127.0.0.1~${pod}.${NS}~${NS}.svc.cluster.local`;
const key = Buffer.alloc(32, 9);

/** An xDS client over 15012 that asks for `kubernetes://shop-cert` by name and ACKs what it gets. */
function asker(address: string, ca: string, cert: WorkloadCert, node: string, type: string = TYPE.secret) {
  const responses: DiscoveryResponse[] = [];
  const ads = new AdsClient({
    server: address,
    node: { id: node, user_agent_name: "envoy" },
    credentials: () => meshCredentials(ca, cert),
    delta: true,
    backoffMs: false,
    onResponse: (r) => void responses.push(r),
  });
  ads.subscribe(type, type === TYPE.secret ? ["kubernetes://shop-cert"] : []);
  return { responses, close: () => ads.close() };
}

describe("gateway Secrets after the ServiceAccount's review (incremental xDS)", () => {
  let discovery: Discovery;
  let ca: KeyPair;
  let address = "";
  const reviews: { user: string; namespace: string; answer(a: ReviewAnswer): void }[] = [];

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "weft-gw-review-"));
    const shop = await generateCa("shop root", 1);
    const leaf = await issueCert(shop, {
      commonName: "shop",
      dnsNames: ["shop.example.com"],
      usage: "server",
      days: 1,
    });
    writeFileSync(
      join(dir, "secret.yaml"),
      secretYaml("shop-cert", NS, { "tls.crt": leaf.certPem, "tls.key": leaf.keyPem }),
    );
    writeFileSync(join(dir, "gateway.yaml"), shopGateway(8443, NS, 8080));
    ca = await generateCa("weft-mesh-ca", 1);
    discovery = await onLoopback({
      configDir: dir,
      secure: {
        port: 0,
        ca,
        authn: new LocalAuthenticator(key),
        ttlMs: 60_000,
        names: { dnsNames: [], ips: ["127.0.0.1"] },
      },
      // Each review waits for the test to answer it.
      reviewSecrets: {
        review: (user, namespace) => new Promise((answer) => reviews.push({ user, namespace, answer })),
      },
      log: pino({ level: "silent" }),
    });
    address = `127.0.0.1:${discovery.securePort}`;
  }, 30_000);
  afterAll(() => discovery.close());

  const certFor = (serviceAccount: string) =>
    requestCertificate(
      { address, rootPem: ca.certPem },
      mintLocalToken(key, { namespace: NS, serviceAccount }, 60_000),
    );

  it("holds only the reviewed proxy's first answer; denied, it gets no Secret and syncz says why", async () => {
    const app = asker(address, ca.certPem, await certFor("app"), router("app-0"));
    await until(() => reviews.length === 1);
    expect([reviews[0]?.user, reviews[0]?.namespace]).toEqual([`system:serviceaccount:${NS}:app`, NS]);
    // Meanwhile another proxy is served at once.
    const sidecar = asker(
      address,
      ca.certPem,
      await certFor("sleep"),
      `sidecar~127.0.0.1~sleep-0.${NS}~${NS}.svc.cluster.local`,
      TYPE.cluster,
    );
    await until(() => sidecar.responses.length > 0);
    expect(app.responses).toEqual([]);
    sidecar.close();

    reviews[0]?.answer({ allowed: false, reason: "" });
    await until(() => app.responses.length > 0);
    expect(app.responses.map((r) => r.resources.length)).toEqual([0]);
    const syncz = (await (await fetch(`http://127.0.0.1:${discovery.monitoringPort}/debug/syncz`)).json()) as {
      node: string;
      credentialsDenied?: string;
    }[];
    expect(syncz.find((p) => p.node === router("app-0"))?.credentialsDenied).toBe(
      `app/${NS} is not authorized to read secrets: no RBAC rule allows it`,
    );
    app.close();
  });

  it("serves the allowed ServiceAccount's gateway the Secret", async () => {
    const gw = asker(address, ca.certPem, await certFor("istio-ingressgateway"), router("gw-0"));
    await until(() => reviews.length === 2);
    reviews[1]?.answer({ allowed: true });
    await until(() => gw.responses.length > 0);
    expect(gw.responses.map((r) => r.resources.length)).toEqual([1]);
    gw.close();
  });
});
