import type { EngineReport, EngineTarget } from "../../proxy/xds/engine.js";
import { planUpgrade, resolveMaxUnavailable, type InjectedPod, type PlanInput } from "./upgrade-plan.js";
import { determineStatus } from "./status.js";

const OLD: EngineTarget = { version: "0.2.0", binaryPath: "/usr/local/bin/weft-engine" };
const NEW: EngineTarget = { version: "0.3.0", binaryPath: "/usr/local/bin/weft-engine" };
const pod = (name: string, extra: Partial<InjectedPod> = {}): InjectedPod => ({
  namespace: "shop",
  name,
  annotations: {},
  carrierImage: "hub/weft:0.2.0",
  ...extra,
});
const running = (t: EngineTarget, engine = t.version): EngineReport => ({ ...t, engine, phase: "Running" });
const input = (o: Partial<PlanInput>): PlanInput => ({
  policy: "HotRestart",
  target: NEW,
  image: "hub/weft:0.3.0",
  maxUnavailable: "25%",
  pods: [],
  reports: {},
  workloads: [],
  ...o,
});
const eight = Array.from({ length: 8 }, (_, i) => pod(`p${i}`));
const allOld = Object.fromEntries(eight.map((p) => [`shop/${p.name}`, running(OLD)]));
const asked = JSON.stringify(NEW);

describe("planUpgrade", () => {
  it("resolves maxUnavailable as Deployments do: a count, or a percentage rounded up, never below 1", () => {
    expect([
      resolveMaxUnavailable(2, 8),
      resolveMaxUnavailable("25%", 8),
      resolveMaxUnavailable("10%", 8),
      resolveMaxUnavailable("1%", 1),
      resolveMaxUnavailable("100%", 8),
    ]).toEqual([2, 2, 1, 1, 8]);
  });

  it("HotRestart moves maxUnavailable pods at a time: annotation and carrier image", () => {
    const plan = planUpgrade(input({ pods: eight, reports: allOld }));
    expect(plan.patches).toEqual([
      { namespace: "shop", name: "p0", annotation: asked, carrierImage: "hub/weft:0.3.0" },
      { namespace: "shop", name: "p1", annotation: asked, carrierImage: "hub/weft:0.3.0" },
    ]);
    expect(plan.progress).toMatchObject({ total: 8, upgraded: 0, failed: [] });
  });

  it("counts pods asked and not yet reporting the target as in flight, and moves the next once one reports it", () => {
    const pods = eight.map((p, i) =>
      i < 2 ? { ...p, annotations: { "weft.dev/engine": asked }, carrierImage: "hub/weft:0.3.0" } : p,
    );
    expect(planUpgrade(input({ pods, reports: allOld })).patches).toEqual([]);
    const plan = planUpgrade(input({ pods, reports: { ...allOld, "shop/p0": running(NEW) } }));
    expect(plan.patches.map((p) => p.name)).toEqual(["p2"]);
    expect(plan.progress.upgraded).toBe(1);
  });

  it("a refusal keeps its pod in flight, so a bad version never spreads past maxUnavailable, and names it", () => {
    const pods = eight.map((p, i) =>
      i < 2 ? { ...p, annotations: { "weft.dev/engine": asked }, carrierImage: "hub/weft:0.3.0" } : p,
    );
    const failed: EngineReport = {
      ...OLD,
      engine: "0.2.0",
      phase: "Failed",
      target: NEW,
      error: "engine 0.3.0 /usr/local/bin/weft-engine is missing",
    };
    const plan = planUpgrade(input({ pods, reports: { ...allOld, "shop/p0": failed, "shop/p1": running(NEW) } }));
    expect(plan.patches.map((p) => p.name)).toEqual(["p2"]);
    const status = determineStatus({ generation: 1, previous: {}, now: new Date(0), upgrade: plan.progress });
    expect(status.conditions?.find((c) => c.type === "ProxiesUpgraded")).toMatchObject({
      status: "False",
      reason: "Failed",
      message:
        "1/8 upgraded to 0.3.0 /usr/local/bin/weft-engine; paused, 1 failed: shop/p0: engine 0.3.0 /usr/local/bin/weft-engine is missing",
    });
  });

  it("leaves pods pinned by proxyImage or a binaryPath in proxy.istio.io/config alone, and counts them apart", () => {
    const pods = [
      pod("a"),
      pod("b", { annotations: { "sidecar.istio.io/proxyImage": "x/mosn:1" } }),
      pod("c", { annotations: { "proxy.istio.io/config": "binaryPath: /usr/local/bin/mosn" } }),
    ];
    const plan = planUpgrade(input({ pods, reports: { "shop/a": running(NEW) }, maxUnavailable: "100%" }));
    expect(plan.patches.map((p) => p.name)).toEqual(["a"]); // its annotation and carrier caught up, at no cost
    expect(plan.progress).toMatchObject({ total: 1, upgraded: 1, pinned: 2 });
    const status = determineStatus({ generation: 1, previous: {}, now: new Date(0), upgrade: plan.progress });
    expect(status.conditions?.find((c) => c.type === "ProxiesUpgraded")).toMatchObject({
      status: "True",
      reason: "Completed",
    });
    expect(status.proxies?.upgraded).toBe("1/1");
  });

  it("writes nothing once every pod is annotated, carried and reporting the target", () => {
    const pods = eight.map((p) => ({
      ...p,
      annotations: { "weft.dev/engine": asked },
      carrierImage: "hub/weft:0.3.0",
    }));
    const reports = Object.fromEntries(eight.map((p) => [`shop/${p.name}`, running(NEW)]));
    expect(planUpgrade(input({ pods, reports }))).toEqual({
      patches: [],
      progress: expect.objectContaining({ upgraded: 8, total: 8 }),
    });
  });

  it("RollingRestart restarts one workload at a time, and none while one is rolling", () => {
    const pods = [pod("a-1", { workload: "a" }), pod("b-1", { workload: "b" })];
    const reports = { "shop/a-1": running(OLD), "shop/b-1": running(OLD) };
    const idle = [
      { namespace: "shop", name: "a", rolling: false },
      { namespace: "shop", name: "b", rolling: false },
    ];
    expect(planUpgrade(input({ policy: "RollingRestart", pods, reports, workloads: idle })).restart).toEqual({
      namespace: "shop",
      name: "a",
      restartedFor: "0.3.0 /usr/local/bin/weft-engine",
    });
    const rolling = [{ ...idle[0]!, rolling: true, restartedFor: "0.3.0 /usr/local/bin/weft-engine" }, idle[1]!];
    expect(planUpgrade(input({ policy: "RollingRestart", pods, reports, workloads: rolling })).restart).toBeUndefined();
    const done = [{ ...idle[0]!, restartedFor: "0.3.0 /usr/local/bin/weft-engine" }, idle[1]!];
    expect(
      planUpgrade(input({ policy: "RollingRestart", pods: [pods[1]!], reports, workloads: done })).restart?.name,
    ).toBe("b");
  });

  it("Never moves nothing and reports the outdated", () => {
    const plan = planUpgrade(input({ policy: "Never", pods: eight, reports: allOld }));
    expect(plan.patches).toEqual([]);
    const status = determineStatus({ generation: 1, previous: {}, now: new Date(0), upgrade: plan.progress });
    expect(status.conditions?.find((c) => c.type === "ProxiesUpgraded")).toMatchObject({
      status: "False",
      reason: "Outdated",
      message: "8 of 8 proxies run an outdated engine (restartPolicy Never)",
    });
  });
});
