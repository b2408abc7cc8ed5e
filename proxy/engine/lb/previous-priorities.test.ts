// Envoy's previous_priorities over the priority levels: the sequences its documentation gives
// (envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig), attempt by attempt.
import type { LbPolicy } from "../config/types.js";
import { PreviousPriorities } from "./previous-priorities.js";
import { PriorityLb, type TieredHost } from "./priority.js";

interface H extends TieredHost {
  up: boolean;
}

/** `levels[p]`: priority p's hosts, each up or down. */
function balancer(levels: boolean[][], policy: LbPolicy = "ROUND_ROBIN", overprovisioning = 100): PriorityLb<H> {
  const hosts = levels.flatMap((ups, priority) =>
    ups.map((up, i) => ({
      key: `10.0.${priority}.${i}:80${up ? "" : " down"}`,
      weight: 1,
      active: 0,
      priority,
      locality: "",
      localityWeight: 0,
      up,
    })),
  );
  const lb = new PriorityLb(policy, hosts, {}, { overprovisioning, panicThreshold: 0, localityWeighted: false });
  lb.refresh((h) => h.up);
  return lb;
}

/** The priority each of `n` attempts of one request goes to, as Forward makes them (hosts up only). */
function attempts(lb: PriorityLb<H>, every: number, n: number): number[] {
  const retry = new PreviousPriorities(every);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const h = lb.choose({ random: Math.random, usable: (k) => !k.endsWith("down") }, () => undefined, undefined, retry);
    if (!h) throw new Error("no host");
    retry.attempted(h.priority);
    out.push(h.priority);
  }
  return out;
}

describe("previous_priorities (a retry leaves out the priorities tried)", () => {
  it("shares the load among the levels left by their health: {100, 50, 50} without P0 is {0, 50, 50}", () => {
    const lb = balancer([[true], [true, false], [true, false]]);
    expect(lb.state().map((s) => s.load)).toEqual([100, 0, 0]);
    expect(lb.loadsWithout(new Set([0]))).toEqual([0, 50, 50]);
    expect(lb.loadsWithout(new Set([0, 1]))).toEqual([0, 0, 100]);
    expect(lb.loadsWithout(new Set([0, 1, 2]))).toBeUndefined();
  });

  it("with healths {100, 0, 50} and update_frequency 1 goes P0, P2, then starts over: P0, P2", () => {
    const lb = balancer([[true], [false], [true, false]]);
    expect(attempts(lb, 1, 4)).toEqual([0, 2, 0, 2]);
  });

  it("with update_frequency 2 (Istio's) leaves out the levels of attempts 1-2 from attempt 3, of 1-4 from 5", () => {
    const lb = balancer([[true], [true], [true]], "ROUND_ROBIN", 140);
    // Attempts 3-4 leave out P0 (attempts 1 and 2), 5-6 P0 and P1; 7 finds none left, starts over at P0.
    expect(attempts(lb, 2, 9)).toEqual([0, 0, 1, 1, 2, 2, 0, 0, 1]);
    // Without it, every attempt goes to P0, which takes all of the load.
    expect(attempts(lb, 1000, 9)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it("is not consulted by RING_HASH or MAGLEV, whose levels are drawn by the cluster's loads (Envoy's thread-aware balancers)", () => {
    for (const policy of ["RING_HASH", "MAGLEV"] as const)
      expect(attempts(balancer([[true], [true]], policy), 1, 3)).toEqual([0, 0, 0]);
    expect(attempts(balancer([[true], [true]], "LEAST_REQUEST"), 1, 3)).toEqual([0, 1, 0]);
  });

  it("leaves the cluster's loads when no level has any health (all hosts down)", () => {
    const lb = balancer([[false], [false]]);
    const retry = new PreviousPriorities(1);
    retry.attempted(0);
    expect(retry.loadsFor(lb)).toBeUndefined();
  });
});
