// Slow start (Istio's warmup): an endpoint that joins a cluster gets a share of requests that grows over the window,
// from min_weight_percent, as Envoy ramps it; the others keep theirs.
import { compile, ConfigError } from "./index.js";
import { slowStartFactor } from "./slow-start.js";
import { ClusterRuntime } from "../cluster.js";

const endpoint = (address: string) => ({ endpoint: { address: { socket_address: { address, port_value: 80 } } } });
const resources = (addresses: string[], lb: Record<string, unknown>) => ({
  clusters: [
    {
      name: "c",
      type: "STATIC",
      load_assignment: { cluster_name: "c", endpoints: [{ lb_endpoints: addresses.map(endpoint) }] },
      ...lb,
    },
  ],
});
const clusterOf = (res: ReturnType<typeof resources>) => {
  const c = compile(res).clusters.get("c");
  if (!c) throw new Error("no cluster");
  return c;
};

/** How many of `n` picks go to each address. */
function shares(rt: ClusterRuntime, n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const h = rt.pick(undefined, Math.random);
    if (h) out[h.endpoint.address] = (out[h.endpoint.address] ?? 0) + 1;
  }
  return out;
}

describe("slow start", () => {
  it("ramps a weight as Envoy does: (age / window) ^ (1 / aggression), at least min_weight_percent", () => {
    const linear = { windowMs: 10_000, aggression: 1, minFactor: 0.1 };
    expect([0, 2_500, 5_000, 10_000, 20_000].map((t) => slowStartFactor(linear, t))).toEqual([0.1, 0.25, 0.5, 1, 1]);
    const steep = { windowMs: 10_000, aggression: 2, minFactor: 0 };
    expect(slowStartFactor(steep, 2_500)).toBeCloseTo(0.5);
  });

  it.each([
    ["ROUND_ROBIN", "round_robin_lb_config"],
    ["LEAST_REQUEST", "least_request_lb_config"],
  ])(
    "gives an endpoint that joins a %s cluster a small share at first, its whole share after the window",
    (policy, key) => {
      const lb = {
        lb_policy: policy,
        [key]: {
          slow_start_config: { slow_start_window: "60s", min_weight_percent: { value: 10 } },
        },
      };
      const rt = new ClusterRuntime(clusterOf(resources(["10.0.0.1"], lb)));
      const old = rt.pick(undefined, Math.random);
      if (old) old.since -= 120_000; // it has been there for two minutes
      rt.update(clusterOf(resources(["10.0.0.1", "10.0.0.2"], lb)));
      const first = shares(rt, 1100);
      // Weights 1 and 0.1: about 1 in 11 to the newcomer (LEAST_REQUEST's two random choices: fewer still).
      expect(first["10.0.0.2"] ?? 0).toBeGreaterThan(0);
      expect(first["10.0.0.2"] ?? 0).toBeLessThan(200);
      const newcomer = [...Array(20)]
        .map(() => rt.pick(undefined, Math.random))
        .find((h) => h?.endpoint.address === "10.0.0.2");
      if (newcomer) newcomer.since -= 60_000; // its window is over
      const later = shares(rt, 1000);
      expect(later["10.0.0.2"] ?? 0).toBeGreaterThan(350);
    },
  );

  it("refuses what it can't do, naming the field", () => {
    const bad = (slow: Record<string, unknown>) => {
      try {
        compile(
          resources(["10.0.0.1"], { lb_policy: "ROUND_ROBIN", round_robin_lb_config: { slow_start_config: slow } }),
        );
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      return "accepted";
    };
    expect(bad({})).toMatch(/round_robin_lb_config\.slow_start_config\.slow_start_window: is required/);
    expect(bad({ slow_start_window: "1s", aggression: { default_value: 0 } })).toMatch(
      /aggression.default_value: must be above 0/,
    );
    expect(bad({ slow_start_window: "1s", min_weight_percent: { value: 120 } })).toMatch(/min_weight_percent.value/);
  });
});
