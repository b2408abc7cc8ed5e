import { PriorityLb, type TieredHost, type TierOptions } from "./priority.js";

interface H extends TieredHost {
  up: boolean;
}

const host = (i: number, priority: number, locality = "", localityWeight = 0): H => ({
  key: `10.0.${priority}.${i}:80`,
  weight: 1,
  active: 0,
  priority,
  locality,
  localityWeight,
  up: true,
});

const OPTS: TierOptions = { overprovisioning: 140, panicThreshold: 50, localityWeighted: false };

function balancer(hosts: H[], opts: Partial<TierOptions> = {}): PriorityLb<H> {
  const lb = new PriorityLb("ROUND_ROBIN", hosts, {}, { ...OPTS, ...opts });
  lb.refresh((h) => h.up);
  return lb;
}

/** n picks with hashes 0..n-1 (so each level gets exactly its load in every 100), counted by host key. */
function picks(lb: PriorityLb<H>, hosts: H[], n: number): { counts: Map<string, number>; panics: number } {
  const byKey = new Map(hosts.map((h) => [h.key, h]));
  const counts = new Map<string, number>();
  let panics = 0;
  for (let i = 0; i < n; i++) {
    const h = lb.pick(
      { hash: i, random: Math.random, usable: (k) => byKey.get(k)?.up === true, any: () => true },
      () => panics++,
    );
    if (h) counts.set(h.key, (counts.get(h.key) ?? 0) + 1);
  }
  return { counts, panics };
}

const levelLoads = (lb: PriorityLb<H>) => lb.state().map((s) => s.load);

describe("priority levels (Envoy's priority load with overprovisioning 1.4)", () => {
  it("sends everything to priority 0 while it is healthy, and spills to priority 1 as its healthy share drops", () => {
    const hosts = [host(0, 0), host(1, 0), host(2, 0), host(0, 1), host(1, 1)];
    expect(levelLoads(balancer(hosts))).toEqual([100, 0]);
    hosts[0]!.up = false; // 2 of 3: 140 * 2/3 = 93% available
    const lb = balancer(hosts);
    expect(levelLoads(lb)).toEqual([93, 7]);
    const { counts } = picks(lb, hosts, 1000);
    expect((counts.get("10.0.1.0:80") ?? 0) + (counts.get("10.0.1.1:80") ?? 0)).toBe(70);
    expect(counts.get("10.0.0.0:80")).toBeUndefined();
    hosts[1]!.up = false; // 1 of 3: 46%, not in panic while the levels together are fully available
    expect(levelLoads(balancer(hosts))).toEqual([46, 54]);
    expect(
      balancer(hosts)
        .state()
        .map((s) => s.panic),
    ).toEqual([false, false]);
  });

  it("rounds what is left to the first healthy level, and puts a level under the threshold in panic", () => {
    const hosts = [
      ...Array.from({ length: 10 }, (_, i) => ({ ...host(i, 0), up: i < 1 })),
      ...Array.from({ length: 10 }, (_, i) => ({ ...host(i, 1), up: i < 6 })),
    ];
    // P0 14% available, P1 84%: 98 in all; 14*100/98 = 14, 84*100/98 = 85, the 1 left to P0.
    const lb = balancer(hosts);
    expect(lb.state().map((s) => [s.load, s.panic])).toEqual([
      [15, true],
      [85, false],
    ]);
    const { counts, panics } = picks(lb, hosts, 100);
    expect(panics).toBe(15);
    // In panic, P0's picks go to all its hosts, healthy or not.
    expect([...counts.keys()].filter((k) => k.startsWith("10.0.0.")).length).toBe(10);
  });

  it("in total panic, shares the load by each level's number of hosts", () => {
    const hosts = [host(0, 0), host(1, 0), host(2, 0), host(0, 1)].map((h) => ({ ...h, up: false }));
    expect(levelLoads(balancer(hosts))).toEqual([75, 25]);
    expect(
      balancer(hosts)
        .state()
        .every((s) => s.panic),
    ).toBe(true);
  });
});

describe("healthy_panic_threshold", () => {
  it("balances over all hosts under the threshold (default 50%), counting each panic pick", () => {
    const hosts = [host(0, 0), host(1, 0), host(2, 0)];
    hosts[0]!.up = false;
    hosts[1]!.up = false; // 33% healthy
    const { counts, panics } = picks(balancer(hosts), hosts, 30);
    expect(panics).toBe(30);
    expect([...counts.values()]).toEqual([10, 10, 10]);
  });

  it("0 disables panic: only healthy hosts, and none when none is", () => {
    const hosts = [host(0, 0), host(1, 0), host(2, 0)];
    hosts[0]!.up = false;
    hosts[1]!.up = false;
    const lb = balancer(hosts, { panicThreshold: 0 });
    expect(lb.simple).toBe(true);
    expect(picks(lb, hosts, 30).counts).toEqual(new Map([["10.0.0.2:80", 30]]));
    hosts[2]!.up = false;
    expect(picks(balancer(hosts, { panicThreshold: 0 }), hosts, 30)).toEqual({ counts: new Map(), panics: 0 });
  });

  it("is not in panic at exactly the threshold", () => {
    const hosts = [host(0, 0), { ...host(1, 0), up: false }];
    expect(balancer(hosts).simple).toBe(true);
  });
});

describe("locality_weighted_lb_config", () => {
  it("shares a level by locality weight, scaled by each locality's healthy share", () => {
    const hosts = [host(0, 0, "r/a", 80), host(1, 0, "r/b", 20), host(2, 0, "r/b", 20), host(3, 0, "r/b", 20)];
    const byZone = (lb: PriorityLb<H>) => {
      const { counts } = picks(lb, hosts, 1000);
      return [counts.get("10.0.0.0:80") ?? 0, 1000 - (counts.get("10.0.0.0:80") ?? 0)];
    };
    expect(byZone(balancer(hosts, { localityWeighted: true }))).toEqual([800, 200]);
    // Without the config, the locality weights don't count: round robin over the four hosts.
    expect(byZone(balancer(hosts))).toEqual([250, 750]);
    hosts[1]!.up = false; // r/b: 20 * min(1, 1.4 * 2/3) = 18.67
    const [a, b] = byZone(balancer(hosts, { localityWeighted: true }));
    expect(Math.round((a! * 100) / (a! + b!))).toBe(Math.round((80 * 100) / 98.67));
    hosts[0]!.up = false; // r/a has no healthy host: all of it to r/b
    expect(byZone(balancer(hosts, { localityWeighted: true }))).toEqual([0, 1000]);
  });

  it("gives a locality without a weight nothing", () => {
    const hosts = [host(0, 0, "r/a", 1), host(1, 0, "r/b", 0)];
    expect(picks(balancer(hosts, { localityWeighted: true }), hosts, 10).counts).toEqual(
      new Map([["10.0.0.0:80", 10]]),
    );
  });
});
