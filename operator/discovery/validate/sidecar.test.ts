// Sidecar and exportTo as Istio's documentation writes them are accepted; what Weft doesn't implement is refused
// (the invalid corpus, test/fixtures/invalid-istio.ts, holds those cases).
import { parseYaml } from "../../../test/support/discovery/bookinfo.js";
import { validateObject } from "./index.js";

describe("Sidecar and exportTo validation", () => {
  it("accepts the Sidecars of Istio's reference (namespace-wide, root default, per workload, REGISTRY_ONLY)", () => {
    const objects = parseYaml(`
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default, namespace: istio-config }
spec:
  egress:
  - hosts: ["./*", "istio-system/*"]
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default, namespace: prod-us1 }
spec:
  egress:
  - hosts: ["prod-us1/*", "prod-apis/*", "istio-system/*"]
---
apiVersion: networking.istio.io/v1beta1
kind: Sidecar
metadata: { name: ratings, namespace: prod-us1 }
spec:
  workloadSelector: { labels: { app: ratings } }
  outboundTrafficPolicy: { mode: REGISTRY_ONLY }
  egress:
  - hosts: ["*/*.example.com", "~/*", "~prod-us1/internal.prod-us1.svc.cluster.local", "*/reviews.default.svc.cluster.local"]
`);
    for (const obj of objects) expect(validateObject(obj)).toEqual([]);
  });

  it.each([[["."]], [["*"]], [["~"]], [[".", "istio-system", "shop"]]])("accepts exportTo %j", (exportTo) => {
    const obj = {
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: { name: "r", namespace: "default" },
      spec: { hosts: ["reviews"], http: [{ route: [{ destination: { host: "reviews" } }] }], exportTo },
    };
    expect(validateObject(obj)).toEqual([]);
  });

  it("refuses a malformed egress host, naming it", () => {
    const obj = {
      apiVersion: "networking.istio.io/v1",
      kind: "Sidecar",
      metadata: { name: "s", namespace: "default" },
      spec: { egress: [{ hosts: ["./*", "a/b/c", "Bad_NS/*", "./"] }] },
    };
    expect(validateObject(obj)).toEqual([
      expect.stringMatching(/^spec\.egress\[0\]\.hosts\[1\]: "a\/b\/c" must be namespace\/dnsName/),
      expect.stringMatching(/^spec\.egress\[0\]\.hosts\[2\]: "Bad_NS\/\*": "Bad_NS" is not/),
      expect.stringMatching(/^spec\.egress\[0\]\.hosts\[3\]: "\.\/": the dnsName after "\/" is empty/),
    ]);
  });
});
