// Route timeouts kept in the sweep's list: each fires at its time, as precisely as its own timer would have, and a
// cleared one never does.
import { clearDeadline, hasDeadline, setDeadline, SWEEP_MS, type Timed } from "./deadlines.js";

function timed(): Timed & { firedAt: Promise<number> } {
  let done: (at: number) => void = () => undefined;
  const firedAt = new Promise<number>((r) => (done = r));
  return {
    deadlineAt: 0,
    deadlinePrev: undefined,
    deadlineNext: undefined,
    deadlineTimer: undefined,
    onDeadline: () => done(performance.now()),
    firedAt,
  };
}

describe("deadlines", () => {
  it("fires a far deadline (kept in the list, past several sweeps) at its time, not at a sweep's", async () => {
    const ms = 4 * SWEEP_MS + 37; // not a multiple of the sweep: firing on a sweep would show
    const t = timed();
    const start = performance.now();
    setDeadline(t, ms, start);
    expect(hasDeadline(t)).toBe(true);
    const late = (await t.firedAt) - start - ms;
    expect(late).toBeGreaterThanOrEqual(-1); // Node's timers may round the last millisecond down
    expect(late).toBeLessThan(SWEEP_MS / 2);
    expect(hasDeadline(t)).toBe(false);
  });

  it("fires near deadlines at once on their own timers, in their order, and never a cleared one", async () => {
    const [a, b, cleared, farCleared] = [timed(), timed(), timed(), timed()];
    const start = performance.now();
    setDeadline(b, 40, start);
    setDeadline(a, 20, start);
    setDeadline(cleared, 30, start);
    setDeadline(farCleared, 3 * SWEEP_MS, start);
    clearDeadline(cleared);
    clearDeadline(farCleared);
    expect([hasDeadline(cleared), hasDeadline(farCleared)]).toEqual([false, false]);
    const [ta, tb] = await Promise.all([a.firedAt, b.firedAt]);
    expect(ta).toBeLessThan(tb);
    const fired = await Promise.race([
      Promise.race([cleared.firedAt, farCleared.firedAt]).then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 4 * SWEEP_MS)),
    ]);
    expect(fired).toBe(false);
  });

  it("a deadline set again replaces the one before, wherever that one was kept", async () => {
    const t = timed();
    const start = performance.now();
    setDeadline(t, 5 * SWEEP_MS, start); // in the list
    setDeadline(t, 30, start); // now on a timer of its own: the list no longer holds it
    expect((await t.firedAt) - start).toBeLessThan(SWEEP_MS);
  });
});
