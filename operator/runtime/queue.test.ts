import { WorkQueue } from "./queue.js";
import { backoffDelay } from "./backoff.js";

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe("WorkQueue", () => {
  it("processes a key added many times while waiting only once", async () => {
    const q = new WorkQueue();
    for (let i = 0; i < 5; i++) q.add("a");
    q.add("b");
    const seen: string[] = [];
    const running = q.run(async (key) => {
      seen.push(key);
      if (seen.length === 2) q.shutDown();
    });
    await running;
    expect(seen).toEqual(["a", "b"]);
  });

  it("never runs one key on two workers, and reruns a key added while it ran", async () => {
    const q = new WorkQueue();
    const gate = deferred();
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    q.add("k");
    const running = q.run(async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      runs++;
      if (runs === 1) {
        q.add("k"); // an event arrives while the key is being processed
        await gate.promise;
      } else {
        q.shutDown();
      }
      active--;
    }, 4);
    await new Promise((r) => setImmediate(r));
    gate.resolve();
    await running;
    expect(runs).toBe(2);
    expect(maxActive).toBe(1);
  });

  it("retries a failing key with growing delays, then forgets the failures on success", async () => {
    const delays: number[] = [];
    const q2 = new WorkQueue({ baseMs: 5, maxMs: 1000 }, { onError: (_k, _e, d) => delays.push(d) });
    let attempts = 0;
    q2.add("x");
    await q2.run(async () => {
      attempts++;
      if (attempts < 4) throw new Error("conflict");
      q2.shutDown();
    });
    expect(delays).toEqual([5, 10, 20]);
    expect(attempts).toBe(4);
  });

  it("keeps the earliest of two delayed adds", async () => {
    const q = new WorkQueue();
    const started = Date.now();
    q.addAfter("k", 60_000);
    q.addAfter("k", 10);
    await q.run(async () => q.shutDown());
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});

describe("backoffDelay", () => {
  it("doubles from the base and stops at the cap", () => {
    const opts = { baseMs: 100, maxMs: 1000 };
    expect([1, 2, 3, 4, 5, 50].map((n) => backoffDelay(n, opts))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
});
