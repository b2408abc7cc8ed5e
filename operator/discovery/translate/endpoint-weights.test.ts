// Endpoint weights (ServiceEntry endpoints, WorkloadEntry weight) as the proxy takes them: Envoy's weights are 1 to
// 2^32-1, per endpoint and summed per locality.
import { violations } from "../../../test/support/discovery/envoy.js";
import { assignment } from "../../../test/support/discovery/find.js";
import { meshModel } from "../../../test/support/discovery/mesh.js";
import { validateObject } from "../validate/index.js";
import { parseYaml } from "../../../test/support/discovery/bookinfo.js";
import { parseNodeId, translate } from "./index.js";

const client = parseNodeId("sidecar~127.0.0.9~client-0.default~default.svc.cluster.local");
const entry = (weights: number[]): string => `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: weighted }
spec:
  hosts: [weighted.example.com]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [${weights.map((w, i) => `{ address: 10.1.0.${i + 1}, weight: ${w} }`).join(", ")}]`;
const weightsOf = (weights: number[]) => {
  const out = translate(meshModel(entry(weights)), client);
  expect(violations(out)).toEqual([]);
  const cla = assignment(out, "outbound|80||weighted.example.com") as {
    endpoints: { load_balancing_weight: number; lb_endpoints: { load_balancing_weight: number }[] }[];
  };
  return cla.endpoints.map((l) => [l.load_balancing_weight, l.lb_endpoints.map((e) => e.load_balancing_weight)]);
};

describe("endpoint weights", () => {
  it("takes weight 0 as unset (1), as Istio does", () => {
    expect(weightsOf([0, 3])).toEqual([[4, [1, 3]]]);
  });

  it("caps a locality's weight, the sum of its endpoints', at 2^32-1", () => {
    expect(weightsOf([2 ** 32 - 1, 2 ** 31])).toEqual([[2 ** 32 - 1, [2 ** 32 - 1, 2 ** 31]]]);
  });

  it("rejects a weight past 2^32-1 (Istio's uint32), naming the field", () => {
    const [se] = parseYaml(entry([2 ** 32]));
    expect(validateObject(se ?? {})).toEqual([
      "spec.endpoints[0].weight: must be an integer from 0 to 4294967295, got 4294967296",
    ]);
  });
});
