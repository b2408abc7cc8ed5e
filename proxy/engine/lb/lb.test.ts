import { createBalancer, type LbHost, type PickContext } from "./index.js";
import { xxhash32 } from "./hash.js";
import type { LbPolicy } from "../config/types.js";

const hosts = (n: number, weight = (_i: number) => 1): LbHost[] =>
  Array.from({ length: n }, (_, i) => ({ key: `10.0.0.${i}:80`, weight: weight(i), active: 0 }));

// A seeded generator, so the distribution tests are repeatable.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 0x100000000;
  };
}

const ctx = (extra: Partial<PickContext> = {}): PickContext => ({ random: rng(7), usable: () => true, ...extra });

function counts(policy: LbPolicy, hs: LbHost[], n: number, mk: (i: number) => PickContext): Map<string, number> {
  const lb = createBalancer(policy, hs);
  const out = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const h = lb.pick(mk(i));
    if (h) out.set(h.key, (out.get(h.key) ?? 0) + 1);
  }
  return out;
}

describe("xxhash32", () => {
  it("matches the reference vectors", () => {
    expect(xxhash32("")).toBe(0x02cc5d05);
    expect(xxhash32("a")).toBe(0x550d7456);
    expect(xxhash32("abc")).toBe(0x32d153ff);
    expect(xxhash32("Nobody inspects the spammish repetition")).toBe(0xe2293b2f);
  });
});

describe("load balancers", () => {
  it("ROUND_ROBIN cycles through the hosts, skipping unusable ones", () => {
    const lb = createBalancer("ROUND_ROBIN", hosts(3));
    const c = ctx({ usable: (k) => k !== "10.0.0.1:80" });
    expect([1, 2, 3, 4].map(() => lb.pick(c)?.key)).toEqual([
      "10.0.0.0:80",
      "10.0.0.2:80",
      "10.0.0.0:80",
      "10.0.0.2:80",
    ]);
  });

  it("ROUND_ROBIN honours weights", () => {
    const c = counts(
      "ROUND_ROBIN",
      hosts(2, (i) => (i === 0 ? 3 : 1)),
      400,
      () => ctx(),
    );
    expect([...c.values()]).toEqual([300, 100]);
  });

  it("RANDOM spreads evenly", () => {
    const random = rng(1);
    const c = counts("RANDOM", hosts(4), 8000, () => ctx({ random }));
    for (const v of c.values()) expect(Math.abs(v - 2000)).toBeLessThan(200);
  });

  it("LEAST_REQUEST prefers the host with fewer requests in flight", () => {
    const hs = hosts(2);
    hs[0]!.active = 10;
    const random = rng(3);
    const c = counts("LEAST_REQUEST", hs, 1000, () => ctx({ random }));
    // Both choices land on the busy host only 1 time in 4.
    expect(c.get("10.0.0.1:80")).toBeGreaterThan(700);
  });

  it("LEAST_REQUEST honours weights while hosts are idle, and weighs requests in flight against them (Envoy's EDF)", () => {
    const c = counts(
      "LEAST_REQUEST",
      hosts(2, (i) => (i === 0 ? 3 : 1)),
      400,
      () => ctx(),
    );
    expect([...c.values()]).toEqual([300, 100]);
    const busy = hosts(2, (i) => (i === 0 ? 3 : 1));
    busy[0]!.active = 5; // 3 / 6 against 1 / 1: the light one wins two picks in three
    expect(counts("LEAST_REQUEST", busy, 300, () => ctx()).get("10.0.0.1:80")).toBe(200);
  });

  it.each(["RING_HASH", "MAGLEV"] as const)("%s: the same key goes to the same host, spread evenly", (policy) => {
    const hs = hosts(5);
    const lb = createBalancer(policy, hs);
    const pick = (key: string) => lb.pick(ctx({ hash: xxhash32(key) }))?.key;
    expect(pick("user-1")).toBe(pick("user-1"));
    const c = counts(policy, hs, 10000, (i) => ctx({ hash: xxhash32(`user-${i}`) }));
    for (const v of c.values()) expect(Math.abs(v - 2000)).toBeLessThan(500);
  });

  it.each(["RING_HASH", "MAGLEV"] as const)("%s: removing one host of 10 moves about 1/10 of the keys", (policy) => {
    const all = hosts(10);
    const before = createBalancer(policy, all);
    const after = createBalancer(
      policy,
      all.filter((_, i) => i !== 4),
    );
    let moved = 0;
    const n = 10000;
    for (let i = 0; i < n; i++) {
      const hash = xxhash32(`key-${i}`);
      if (before.pick(ctx({ hash }))?.key !== after.pick(ctx({ hash }))?.key) moved++;
    }
    expect(moved / n).toBeGreaterThan(0.07);
    expect(moved / n).toBeLessThan(0.2); // the ring grows a little per host when one leaves, as Envoy's does
  });
});
