// Test support: a Kubernetes Node for the model's random tests, with or without topology labels (region, zone).
import fc from "fast-check";

export const nodeArbitrary = fc.record({
  apiVersion: fc.constant("v1"),
  kind: fc.constant("Node"),
  metadata: fc.record({
    name: fc.constantFrom("n0", "n1"),
    labels: fc.option(
      fc.record(
        {
          "topology.kubernetes.io/region": fc.constantFrom("r1", "r2"),
          "topology.kubernetes.io/zone": fc.constantFrom("z1", "z2"),
        },
        { requiredKeys: [], noNullPrototype: true },
      ),
      { nil: undefined },
    ),
  }),
});
