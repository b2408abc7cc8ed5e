// Locality load balancing per proxy, as istiod writes it: priorities from the proxy's locality (failover only with
// outlierDetection), `failover`, `failoverPriority`, `distribute`, `enabled: false`, the mesh-wide setting, and the
// panic threshold from minHealthPercent. And the generator: proxies in different zones must not share one EDS.
import type { ClusterLoadAssignment, Cluster } from "../../../proxy/xds/resources.js";
import type { ConfigModel } from "../model/config.js";
import { parseMeshConfig } from "../model/mesh.js";
import { meshModel, zonedEntry } from "../../../test/support/discovery/mesh.js";
import { violations } from "../../../test/support/discovery/envoy.js";
import { SnapshotGenerator } from "../ads/generator.js";
import { TYPE } from "../../../proxy/xds/types.js";
import { parseNodeId, translate } from "./index.js";
import { nodeLocality } from "./proxy.js";

const entry = (name: string, address: string, locality: string, labels = "app: zoned") => `
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: ${name} }
spec: { address: ${address}, labels: { ${labels} }, locality: ${locality} }
---`;

const ZONED = `
${zonedEntry("  workloadSelector: { labels: { app: zoned } }")}
${entry("z-s1", "10.0.0.1", "r1/z1/s1", "app: zoned, tier: gold")}
${entry("z-s2", "10.0.0.2", "r1/z1/s2")}
${entry("z-z2", "10.0.0.3", "r1/z2")}
${entry("z-r2", "10.0.0.4", "r2/z3")}
${entry("z-r3", "10.0.0.5", "r3/z4")}
${entry("client-a", "10.1.0.1", "r1/z1/s1", "app: client, tier: gold")}
${entry("client-c", "10.1.0.2", "r2/z3", "app: client, tier: gold")}
`;

const A = parseNodeId("sidecar~10.1.0.1~client-a.default~default.svc.cluster.local");
const C = parseNodeId("sidecar~10.1.0.2~client-c.default~default.svc.cluster.local");
const NAME = "outbound|80||zoned.example";

function rule(trafficPolicy: string): string {
  return `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: zoned }
spec:
  host: zoned.example
  trafficPolicy: ${trafficPolicy}
`;
}

function out(model: ConfigModel, proxy = A): { cla: ClusterLoadAssignment; cluster: Cluster } {
  const result = translate(model, proxy);
  expect(violations(result)).toEqual([]);
  const cla = result.endpoints.find((e) => e.cluster_name === NAME) as ClusterLoadAssignment;
  const cluster = result.clusters.find((c) => c.name === NAME) as Cluster;
  return { cla, cluster };
}

/** Each locality's priority, `region/zone/subzone: priority`, in the assignment's order. */
function priorities(cla: ClusterLoadAssignment): Record<string, number> {
  const by: Record<string, number> = {};
  for (const l of cla.endpoints ?? [])
    for (const e of l.lb_endpoints ?? []) by[e.endpoint?.address?.socket_address?.address ?? ""] = l.priority ?? 0;
  return by;
}

const OUTLIER = "{ outlierDetection: { consecutive5xxErrors: 3 } }";

describe("locality failover (mesh default: enabled)", () => {
  it("orders endpoints by the proxy's locality: same subzone 0, same zone 1, same region 2, other regions 3", () => {
    const model = meshModel(ZONED, rule(OUTLIER));
    expect(priorities(out(model, A).cla)).toEqual({
      "10.0.0.1": 0,
      "10.0.0.2": 1,
      "10.0.0.3": 2,
      "10.0.0.4": 3,
      "10.0.0.5": 3,
    });
    // Another proxy, another order: its own zone first, the rest after (priorities without gaps).
    expect(priorities(out(model, C).cla)).toEqual({
      "10.0.0.1": 1,
      "10.0.0.2": 1,
      "10.0.0.3": 1,
      "10.0.0.4": 0,
      "10.0.0.5": 1,
    });
    // Outlier detection turns the panic threshold off, as Istio's minHealthPercent (default 0).
    expect(out(model).cluster.common_lb_config).toEqual({ healthy_panic_threshold: { value: 0 } });
  });

  it("does nothing without outlierDetection (nothing would ever fail over), nor with enabled: false", () => {
    const none = out(meshModel(ZONED, rule("{ loadBalancer: { simple: ROUND_ROBIN } }")));
    expect(new Set(Object.values(priorities(none.cla)))).toEqual(new Set([0]));
    expect(none.cluster.common_lb_config).toBeUndefined();
    const off = meshModel(
      ZONED,
      rule(`{ outlierDetection: {}, loadBalancer: { localityLbSetting: { enabled: false } } }`),
    );
    expect(new Set(Object.values(priorities(out(off).cla)))).toEqual(new Set([0]));
    const meshOff = {
      ...meshModel(ZONED, rule(OUTLIER)),
      mesh: parseMeshConfig("localityLbSetting: {enabled: false}"),
    };
    expect(new Set(Object.values(priorities(out(meshOff).cla)))).toEqual(new Set([0]));
  });

  it("puts the `failover` region before other regions", () => {
    const model = meshModel(
      ZONED,
      rule(`{ outlierDetection: {}, loadBalancer: { localityLbSetting: { failover: [{ from: r1, to: r3 }] } } }`),
    );
    const { cla, cluster } = out(model);
    expect(priorities(cla)).toEqual({ "10.0.0.1": 0, "10.0.0.2": 1, "10.0.0.3": 2, "10.0.0.4": 4, "10.0.0.5": 3 });
    expect(cluster.common_lb_config).toEqual({
      healthy_panic_threshold: { value: 0 },
      locality_weighted_lb_config: {},
    });
  });

  it("orders by failoverPriority labels, the proxy's against each endpoint's", () => {
    const model = meshModel(
      ZONED,
      rule(`{ outlierDetection: {}, loadBalancer: { localityLbSetting: { failoverPriority: [tier] } } }`),
    );
    expect(priorities(out(model).cla)).toEqual({
      "10.0.0.1": 0,
      "10.0.0.2": 1,
      "10.0.0.3": 1,
      "10.0.0.4": 1,
      "10.0.0.5": 1,
    });
    // The topology labels come from the localities: by zone, then by region.
    const topo = meshModel(
      ZONED,
      rule(
        `{ outlierDetection: {}, loadBalancer: { localityLbSetting: { failoverPriority: [topology.kubernetes.io/region, topology.kubernetes.io/zone] } } }`,
      ),
    );
    expect(priorities(out(topo).cla)).toEqual({
      "10.0.0.1": 0,
      "10.0.0.2": 0,
      "10.0.0.3": 1,
      "10.0.0.4": 2,
      "10.0.0.5": 2,
    });
  });

  it("maps minHealthPercent to healthy_panic_threshold", () => {
    const model = meshModel(ZONED, rule("{ outlierDetection: { minHealthPercent: 30 } }"));
    expect(out(model).cluster.common_lb_config).toEqual({ healthy_panic_threshold: { value: 30 } });
  });
});

describe("locality distribute", () => {
  const model = meshModel(
    ZONED,
    rule(
      `{ loadBalancer: { localityLbSetting: { distribute: [{ from: "r1/z1/*", to: { "r1/z1/*": 80, "r2/*": 20 } }] } } }`,
    ),
  );

  it("weighs the localities a `from` matching the proxy names, empties the others, weights the cluster by locality", () => {
    const { cla, cluster } = out(model);
    const weights = Object.fromEntries(
      (cla.endpoints ?? []).map((l) => [
        `${l.locality?.region}/${l.locality?.zone}/${l.locality?.sub_zone ?? ""}`,
        [l.load_balancing_weight, l.lb_endpoints?.length],
      ]),
    );
    expect(weights).toEqual({
      "r1/z1/s1": [40, 1],
      "r1/z1/s2": [40, 1],
      "r1/z2/": [1, 0],
      "r2/z3/": [20, 1],
      "r3/z4/": [1, 0],
    });
    expect(cluster.common_lb_config).toEqual({ locality_weighted_lb_config: {} });
  });

  it("leaves a proxy no `from` matches as it was", () => {
    const { cla } = out(model, C);
    expect((cla.endpoints ?? []).map((l) => [l.load_balancing_weight, l.lb_endpoints?.length])).toEqual(
      Array(5).fill([1, 1]),
    );
  });

  it("comes from the mesh config when the rule sets none", () => {
    const mesh = parseMeshConfig(`localityLbSetting: { distribute: [{ from: "r1/*", to: { "r2/*": 100 } }] }`);
    const { cla } = out({ ...meshModel(ZONED), mesh });
    expect((cla.endpoints ?? []).map((l) => l.lb_endpoints?.length)).toEqual([0, 0, 0, 1, 0]);
  });
});

describe("the generator's proxy classes", () => {
  it("keeps proxies in different zones apart, so each gets its own priorities", () => {
    const g = new SnapshotGenerator();
    g.setModel(meshModel(ZONED, rule(OUTLIER)));
    const eds = (proxy: typeof A) => {
      const entry = g.snapshotFor(proxy, []).resources.get(TYPE.endpoint)?.get(NAME);
      return priorities(entry?.json as ClusterLoadAssignment);
    };
    expect(eds(A)["10.0.0.1"]).toBe(0);
    expect(eds(C)["10.0.0.1"]).toBe(1);
    expect(eds(C)["10.0.0.4"]).toBe(0);
  });

  it("takes the node's locality when the registry knows none for the proxy's workload", () => {
    const g = new SnapshotGenerator();
    g.setModel(meshModel(ZONED, rule(OUTLIER)));
    const unknown = (locality?: string) => {
      const proxy = { ...parseNodeId("sidecar~10.2.0.1~vm-1.default~default.svc.cluster.local"), locality };
      const entry = g.snapshotFor(proxy, []).resources.get(TYPE.endpoint)?.get(NAME);
      return priorities(entry?.json as ClusterLoadAssignment);
    };
    expect(unknown(nodeLocality({ region: "r3", zone: "z4" }).locality)["10.0.0.5"]).toBe(0);
    expect(unknown(nodeLocality({ region: "r2", zone: "z3", sub_zone: "" }).locality)["10.0.0.4"]).toBe(0);
    expect(nodeLocality({})).toEqual({});
    // The registry's locality wins over the node's (istiod's initializeProxy).
    const a = { ...A, locality: "r3/z4" };
    expect(priorities(out(meshModel(ZONED, rule(OUTLIER)), a).cla)["10.0.0.1"]).toBe(0);
  });
});
