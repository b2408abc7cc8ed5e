import { identityOf } from "./workload.js";

describe("identityOf", () => {
  it("names a local-mode sidecar's workload, canonical service and revision", () => {
    const id = identityOf("sidecar~127.0.10.12~reviews-v2.default~default.svc.cluster.local");
    expect(id?.ip).toBe("127.0.10.12");
    expect(id?.workload).toMatchObject({ name: "reviews-v2", namespace: "default", app: "reviews", version: "v2" });
  });

  it("drops a Deployment pod's replicaset hash and pod suffix", () => {
    const id = identityOf("sidecar~10.244.0.7~productpage-v1-6b746f74dc-x9k2p.shop~shop.svc.cluster.local");
    expect(id?.workload).toMatchObject({ name: "productpage-v1", namespace: "shop", app: "productpage" });
  });

  it("uses 'latest' when the workload carries no version", () => {
    expect(
      identityOf("router~127.0.10.2~istio-ingressgateway.default~default.svc.cluster.local")?.workload,
    ).toMatchObject({ name: "istio-ingressgateway", app: "istio-ingressgateway", version: "latest" });
  });

  it("refuses a node id of another shape", () => {
    expect(identityOf("just-a-name")).toBeUndefined();
  });
});
