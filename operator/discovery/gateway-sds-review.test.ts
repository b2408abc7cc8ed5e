// Discovery's side of the gateway Secret review, in process (the API server's answer stands in as a function here;
// against the real one: test/integration/gateway-secrets.test.ts): proxies on 15012 with workload certificates of two
// ServiceAccounts of istio-system both claim `router`. Over incremental xDS, while the first review is unanswered,
// the proxy waiting for it gets nothing and every other proxy is served; denied, it gets an empty answer (even asking
// for the Secret by name) and /debug/syncz says why; the allowed ServiceAccount gets `kubernetes://shop-cert`.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TYPE } from "../../proxy/xds/types.js";
import { secretYaml, shopGateway } from "../../test/support/discovery/mesh.js";
import {
  credentialsDenied,
  meshAds,
  reviewedDiscovery,
  type ReviewedDiscovery,
} from "../../test/support/discovery/reviewed.js";
import { until } from "../../test/support/engine/helpers.js";
import { generateCa, issueCert } from "../runtime/pki.js";

const NS = "istio-system";
const router = (pod: string) => `router~127.0.0.1~${pod}.${NS}~${NS}.svc.cluster.local`;

describe("gateway Secrets after the ServiceAccount's review (incremental xDS)", () => {
  let d: ReviewedDiscovery;

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
    d = await reviewedDiscovery(dir);
  }, 30_000);
  afterAll(() => d.discovery.close());

  /** A proxy of `serviceAccount` that asks for `kubernetes://shop-cert` by name (or for `type`'s every resource). */
  const asker = async (serviceAccount: string, node: string, type: string = TYPE.secret) =>
    meshAds(d, await d.certFor(NS, serviceAccount), node, [
      [type, type === TYPE.secret ? ["kubernetes://shop-cert"] : []],
    ]);

  it("holds only the reviewed proxy's first answer; denied, it gets no Secret and syncz says why", async () => {
    const { reviews } = d;
    const app = await asker("app", router("app-0"));
    await until(() => reviews.length === 1);
    expect([reviews[0]?.user, reviews[0]?.namespace]).toEqual([`system:serviceaccount:${NS}:app`, NS]);
    // Meanwhile another proxy is served at once.
    const sidecar = await asker("sleep", `sidecar~127.0.0.1~sleep-0.${NS}~${NS}.svc.cluster.local`, TYPE.cluster);
    await until(() => sidecar.responses.length > 0);
    expect(app.responses).toEqual([]);
    sidecar.close();

    reviews[0]?.answer({ allowed: false, reason: "" });
    await until(() => app.responses.length > 0);
    expect(app.responses.map((r) => r.resources.length)).toEqual([0]);
    expect(await credentialsDenied(d, router("app-0"))).toBe(
      `app/${NS} is not authorized to read secrets: no RBAC rule allows it`,
    );
    app.close();
  });

  it("serves the allowed ServiceAccount's gateway the Secret", async () => {
    const gw = await asker("istio-ingressgateway", router("gw-0"));
    await until(() => d.reviews.length === 2);
    d.reviews[1]?.answer({ allowed: true });
    await until(() => gw.responses.length > 0);
    expect(gw.responses.map((r) => r.resources.length)).toEqual([1]);
    gw.close();
  });
});
