// A proxy scoped by a Sidecar gets only what it imports: Bookinfo's productpage importing reviews loses details
// and ratings (clusters, endpoints, virtual hosts), still routes to reviews as the imported VirtualService says, and
// proxies sharing a scope share a class; exportTo keeps VirtualServices and DestinationRules where they are exported.
import { bookinfoKube, bookinfoLocalModel, parseYaml, sample } from "../../../test/support/discovery/bookinfo.js";
import { violations } from "../../../test/support/discovery/envoy.js";
import { cluster, routeConfig, routesOf } from "../../../test/support/discovery/find.js";
import type { KubeObject } from "../model/kube.js";
import { normalise } from "../model/normalise.js";
import { parseNodeId, proxyClassKey, translate } from "./index.js";

const productpage = parseNodeId("sidecar~10.0.0.10~productpage-v1-0.default~default.svc.cluster.local");
const reviews = parseNodeId("sidecar~10.0.0.12~reviews-v1-0.default~default.svc.cluster.local");
const REVIEWS = "reviews.default.svc.cluster.local";
const model = (...extra: KubeObject[][]) =>
  normalise([...bookinfoKube(), ...sample("destination-rule-all.yaml"), ...extra.flat()]).model;
const importsReviews = parseYaml(`
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: productpage, namespace: default }
spec:
  workloadSelector: { labels: { app: productpage } }
  egress:
  - hosts: ["./${REVIEWS}"]
`);
const outboundServices = (out: ReturnType<typeof translate>): string[] =>
  [...new Set(out.clusters.map((c) => String(c["name"])).filter((n) => n.startsWith("outbound|")))]
    .map((n) => n.split("|")[3] ?? "")
    .filter((h, i, all) => all.indexOf(h) === i)
    .sort();
const vhostNames = (out: ReturnType<typeof translate>): string[] =>
  (routeConfig(out, "9080")["virtual_hosts"] as { name: string }[]).map((v) => v.name);

describe("Sidecar scoping in translation", () => {
  const scoped = translate(model(sample("virtual-service-all-v1.yaml"), importsReviews), productpage);

  it("gives the scoped proxy only the imported service's clusters, endpoints and virtual hosts", () => {
    expect(outboundServices(scoped)).toEqual([REVIEWS]);
    expect(scoped.endpoints.map((e) => e["cluster_name"])).toEqual(
      ["", "v1", "v2", "v3"].map((subset) => `outbound|9080|${subset}|${REVIEWS}`),
    );
    expect(vhostNames(scoped)).toEqual([`${REVIEWS}:9080`, "allow_any"]);
    expect(violations(scoped)).toEqual([]);
  });

  it("still routes to the imported service as its VirtualService says", () => {
    expect(routesOf(scoped, "9080", `${REVIEWS}:9080`)[0]).toMatchObject({
      route: { cluster: `outbound|9080|v1|${REVIEWS}` },
    });
    expect(cluster(scoped, `outbound|9080|v1|${REVIEWS}`)).toMatchObject({ type: "EDS" });
  });

  it("imports a local-mode ServiceEntry host as written, with the VirtualService that routes it", () => {
    const m = bookinfoLocalModel("destination-rule-all.yaml", "virtual-service-all-v1.yaml");
    const local = normalise([...importsReviews]).model.sidecars ?? [];
    const sidecar = [{ ...local[0]!, spec: { ...local[0]!.spec, egress: [{ hosts: ["./reviews"] }] } }];
    const node = parseNodeId("sidecar~127.0.0.1~productpage-v1.default~default.svc.cluster.local");
    const out = translate({ ...m, sidecars: sidecar }, node);
    expect(outboundServices(out)).toEqual(["reviews"]);
    expect(routesOf(out, "9080", "reviews:9080")[0]).toMatchObject({ route: { cluster: "outbound|9080|v1|reviews" } });
  });

  it("leaves proxies the Sidecar doesn't select with everything", () => {
    const out = translate(model(importsReviews), reviews);
    expect(outboundServices(out)).toEqual(
      ["details", "productpage", "ratings", "reviews"].map((s) => `${s}.default.svc.cluster.local`),
    );
  });

  it("makes the Sidecar part of the proxy class: one class for the pods it selects, another without it", () => {
    const m = model(importsReviews);
    const twin = parseNodeId("sidecar~10.0.0.10~productpage-v1-1.default~default.svc.cluster.local");
    expect(proxyClassKey(m, twin)).toBe(proxyClassKey(m, productpage));
    expect(proxyClassKey(m, productpage)).not.toBe(proxyClassKey(model(), productpage));
  });

  it("sends unknown hosts nowhere under the Sidecar's REGISTRY_ONLY", () => {
    const registryOnly = parseYaml(`
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default, namespace: default }
spec:
  outboundTrafficPolicy: { mode: REGISTRY_ONLY }
  egress: [{ hosts: ["./*"] }]
`);
    const out = translate(model(registryOnly), productpage);
    expect(vhostNames(out)).toContain("block_all");
    expect(vhostNames(out)).not.toContain("allow_any");
    expect(outboundServices(out)).toHaveLength(4);
  });
});

describe("exportTo in translation", () => {
  it("applies a VirtualService and a DestinationRule only in the namespaces they are exported to", () => {
    const elsewhere = parseYaml(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews-shop, namespace: shop }
spec:
  hosts: [${REVIEWS}]
  exportTo: ["."]
  http: [{ route: [{ destination: { host: ${REVIEWS}, subset: v3 } }] }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews-shop, namespace: shop }
spec:
  host: ${REVIEWS}
  exportTo: ["."]
  trafficPolicy: { loadBalancer: { simple: RANDOM } }
`);
    const m = model(elsewhere);
    const inDefault = translate(m, productpage);
    expect(routesOf(inDefault, "9080", `${REVIEWS}:9080`)[0]).toMatchObject({
      route: { cluster: `outbound|9080||${REVIEWS}` },
    });
    expect(cluster(inDefault, `outbound|9080||${REVIEWS}`)["lb_policy"]).not.toBe("RANDOM");
    const shopProxy = parseNodeId("sidecar~10.0.1.10~client-0.shop~shop.svc.cluster.local");
    const inShop = translate(m, shopProxy);
    expect(routesOf(inShop, "9080", `${REVIEWS}:9080`)[0]).toMatchObject({
      route: { cluster: `outbound|9080|v3|${REVIEWS}` },
    });
    expect(cluster(inShop, `outbound|9080||${REVIEWS}`)["lb_policy"]).toBe("RANDOM");
  });
});
