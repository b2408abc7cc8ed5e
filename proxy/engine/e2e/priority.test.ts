// Priority levels, the panic threshold and locality weights with real traffic: backends on loopback in "zones", some
// ejected by outlier detection.
import type { Engine } from "../engine.js";
import { cluster, engineHarness, get, many } from "../../../test/support/engine/helpers.js";
import { shareDeviation } from "../../../test/support/share.js";

const ROUTE = (name: string) => [{ match: { prefix: "/" }, route: { cluster: name } }];
const EJECT_AT_ONCE = { consecutive_5xx: 1, base_ejection_time: "60s", max_ejection_percent: 100 };

const endpoint = (port: number) => ({
  endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: port } } },
});

describe("priority levels, panic and locality weights through the engine", () => {
  const { up, engineFor } = engineHarness();
  const failing = new Set<string>();
  const zoneBackend = (name: string) =>
    up(name, (_req, res) => {
      res.writeHead(failing.has(name) ? 500 : 200);
      res.end(name);
    });

  /** Sends requests one at a time until `n` hosts of the cluster are ejected. */
  async function ejectUntil(engine: Engine, port: number, name: string, n: number): Promise<void> {
    for (let i = 0; i < 50 && engine.clusterRuntime(name)!.ejected < n; i++) await get(port, "/");
    expect(engine.clusterRuntime(name)!.ejected).toBe(n);
  }

  it("sends nothing to priority 1 while priority 0 is healthy, then 30% once one of its two hosts is ejected", async () => {
    const [a, b, c] = await Promise.all(["p0-a", "p0-b", "p1-c"].map(zoneBackend));
    const { engine, port } = await engineFor(ROUTE("tiers"), [
      {
        ...cluster("tiers", []),
        load_assignment: {
          cluster_name: "tiers",
          endpoints: [
            { locality: { region: "r", zone: "a" }, lb_endpoints: [endpoint(a!.port), endpoint(b!.port)] },
            { locality: { region: "r", zone: "b" }, priority: 1, lb_endpoints: [endpoint(c!.port)] },
          ],
        },
        outlier_detection: EJECT_AT_ONCE,
      },
    ]);
    await many(40, 4, () => get(port, "/"));
    expect([a!.hits, b!.hits, c!.hits]).toEqual([20, 20, 0]);
    failing.add("p0-a");
    await ejectUntil(engine, port, "tiers", 1);
    for (const x of [a, b, c]) x!.hits = 0;
    // Priority 0 is 140% × 1/2 = 70% available: 70% of the picks stay there, 30% spill to priority 1.
    const replies = await many(400, 4, () => get(port, "/"));
    expect(replies.every((r) => r.status === 200)).toBe(true);
    expect(a!.hits).toBe(0);
    expect(shareDeviation(c!.hits, 400, 0.3)).toBeLessThanOrEqual(1);
    expect(engine.statsText()).toContain("cluster.tiers.lb_healthy_panic: 0");
  });

  it("in panic (fewer than 50% healthy) balances over every host, ejected or not, and counts lb_healthy_panic", async () => {
    const [x, y, z] = await Promise.all(["panic-x", "panic-y", "panic-z"].map(zoneBackend));
    const hosts = [x!.port, y!.port, z!.port];
    const { engine, port } = await engineFor(ROUTE("three"), [
      cluster("three", hosts, { outlier_detection: EJECT_AT_ONCE }),
    ]);
    failing.add("panic-x").add("panic-y");
    await ejectUntil(engine, port, "three", 2);
    for (const h of [x, y, z]) h!.hits = 0;
    const replies = await many(30, 1, () => get(port, "/"));
    // One host of three is healthy: 33% < 50%, so all three take traffic, the ejected ones answering 500.
    expect([x!.hits, y!.hits, z!.hits]).toEqual([10, 10, 10]);
    expect(replies.filter((r) => r.status === 500).length).toBe(20);
    expect(engine.statsText()).toContain("cluster.three.lb_healthy_panic: 30");
  });

  it("with healthy_panic_threshold 0 never panics: the one healthy host takes everything", async () => {
    const [x, y, z] = await Promise.all(["calm-x", "calm-y", "calm-z"].map(zoneBackend));
    const { engine, port } = await engineFor(ROUTE("calm"), [
      cluster("calm", [x!.port, y!.port, z!.port], {
        outlier_detection: EJECT_AT_ONCE,
        common_lb_config: { healthy_panic_threshold: { value: 0 } },
      }),
    ]);
    failing.add("calm-x").add("calm-y");
    await ejectUntil(engine, port, "calm", 2);
    for (const h of [x, y, z]) h!.hits = 0;
    const replies = await many(30, 1, () => get(port, "/"));
    expect([x!.hits, y!.hits, z!.hits]).toEqual([0, 0, 30]);
    expect(replies.every((r) => r.status === 200)).toBe(true);
    expect(engine.statsText()).toContain("cluster.calm.lb_healthy_panic: 0");
  });

  it("shares a priority by locality weight with locality_weighted_lb_config", async () => {
    const [near, far1, far2] = await Promise.all(["w-near", "w-far1", "w-far2"].map(zoneBackend));
    const { port } = await engineFor(ROUTE("weighted"), [
      {
        ...cluster("weighted", []),
        load_assignment: {
          cluster_name: "weighted",
          endpoints: [
            { locality: { zone: "near" }, load_balancing_weight: 3, lb_endpoints: [endpoint(near!.port)] },
            {
              locality: { zone: "far" },
              load_balancing_weight: 1,
              lb_endpoints: [endpoint(far1!.port), endpoint(far2!.port)],
            },
          ],
        },
        common_lb_config: { locality_weighted_lb_config: {} },
      },
    ]);
    await many(400, 1, () => get(port, "/"));
    expect([near!.hits, far1!.hits + far2!.hits]).toEqual([300, 100]);
  });
});
