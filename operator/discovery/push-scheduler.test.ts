// The push debounce: one push at a time, so a generation never changes while proxies are being pushed to, and the
// latest model is pushed once the push under way ends (none is lost).
import { jest } from "@jest/globals";
import { emptyModel, type ConfigModel } from "./model/config.js";
import { PushScheduler } from "./push-scheduler.js";

const model = (n: number): ConfigModel => ({ ...emptyModel(), domainSuffix: `m${n}` });

describe("PushScheduler", () => {
  it("pushes a model that came during a push after that push, the latest one, once", async () => {
    const applied: string[] = [];
    const ends: (() => void)[] = [];
    const started: ((n: number) => void)[] = [];
    const nextStart = () => new Promise<number>((resolve) => started.push(resolve));
    const scheduler = new PushScheduler(
      0,
      (m) =>
        new Promise<void>((resolve) => {
          applied.push(m.domainSuffix);
          ends.push(resolve);
          started.shift()?.(applied.length);
        }),
      (err) => {
        throw err;
      },
    );
    let start = nextStart();
    scheduler.schedule(model(1));
    await start;
    scheduler.schedule(model(2));
    scheduler.schedule(model(3));
    scheduler.flush(); // as a timer firing during the push would
    expect(applied).toEqual(["m1"]);
    start = nextStart();
    ends.shift()?.();
    await start;
    expect(applied).toEqual(["m1", "m3"]);
    ends.shift()?.();
    scheduler.stop();
  });
});

describe("PushScheduler timing", () => {
  beforeEach(() => jest.useFakeTimers({ now: 0 }));
  afterEach(() => jest.useRealTimers());

  /** A 100 ms scheduler that records when each push started. */
  function recording(endpointsOnly = false, reverts = false): { at: number[]; scheduler: PushScheduler } {
    const at: number[] = [];
    const scheduler = new PushScheduler(
      100,
      async () => void at.push(Date.now()),
      (err) => {
        throw err;
      },
      () => endpointsOnly,
      () => reverts && at.length > 0,
    );
    return { at, scheduler };
  }

  /** Schedules a model every `everyMs` for `forMs`, then waits `thenMs`; returns when each push started, in fake
   * milliseconds. */
  async function steadyChanges(
    endpointsOnly: boolean,
    { everyMs = 50, forMs = 2000, thenMs = 0, scheduler: given }: Partial<Steady> = {},
  ): Promise<number[]> {
    const own = recording(endpointsOnly);
    const { at } = own;
    const scheduler = given ?? own.scheduler;
    const start = Date.now();
    for (let t = 0; t < forMs; t += everyMs) {
      scheduler.schedule(model(start + t));
      await jest.advanceTimersByTimeAsync(everyMs);
    }
    await jest.advanceTimersByTimeAsync(thenMs);
    if (!given) scheduler.stop();
    return at;
  }
  interface Steady {
    everyMs: number;
    forMs: number;
    thenMs: number;
    scheduler: PushScheduler;
  }

  it("holds config changes until they pause for 100 ms, at most 1 s", async () => {
    expect(await steadyChanges(false)).toEqual([1000, 2000]);
  });

  it("counts the pause from when the source saw the change, not from when its own debounce let it go", async () => {
    const { at, scheduler } = recording();
    await jest.advanceTimersByTimeAsync(20); // the source's debounce: seen at 0, handed over at 20
    scheduler.schedule(model(1), 0);
    await jest.advanceTimersByTimeAsync(200);
    scheduler.schedule(model(2), Date.now() + 50); // a clock ahead of ours counts as now
    await jest.advanceTimersByTimeAsync(200);
    expect(at).toEqual([100, 320]);
    scheduler.stop();
  });

  it("pushes endpoint changes 100 ms after the first of them, however many follow (a scale-up's first five pushes)", async () => {
    expect((await steadyChanges(true)).slice(0, 3)).toEqual([100, 200, 300]);
  });

  it("backs a storm of endpoint changes off to one push every two seconds, and is quick again after a quiet spell", async () => {
    const { at, scheduler } = recording(true);
    // One pod's readiness flapping 10 times a second for 30 s.
    await steadyChanges(true, { everyMs: 100, forMs: 30_000, thenMs: 4000, scheduler });
    // Five pushes 100 ms apart (a scale-up's pace), then 200, 400, 800, 1600 ms, then one every two seconds.
    expect(at.slice(0, 9)).toEqual([100, 200, 300, 400, 500, 700, 1100, 1900, 3500]);
    const gaps = at.slice(9).map((t, i) => t - (at[8 + i] ?? 0));
    expect(gaps.every((g) => g === 2000)).toBe(true);
    expect(at.length).toBeLessThanOrEqual(9 + 14);
    expect(at.at(-1)).toBeGreaterThanOrEqual(30_000); // the last change is pushed
    // After the quiet, a change goes out 100 ms later.
    const quietAt = Date.now();
    scheduler.schedule(model(-1));
    await jest.advanceTimersByTimeAsync(100);
    expect(at.at(-1)).toBe(quietAt + 100);
    scheduler.stop();
  });

  it("holds a flap to one push every two seconds from the push that undid the one before", async () => {
    const { at, scheduler } = recording(true, true);
    await steadyChanges(true, { everyMs: 100, forMs: 10_000, thenMs: 4000, scheduler });
    // The second push takes the endpoints back: no fast pushes after it.
    expect(at.slice(0, 3)).toEqual([100, 200, 2200]);
    expect(at.slice(2).every((t, i) => i === 0 || t - (at[1 + i] ?? 0) === 2000)).toBe(true);
    // Two quiet seconds later, endpoint changes go out at a scale-up's pace again.
    const quietAt = Date.now();
    scheduler.schedule(model(-1));
    await jest.advanceTimersByTimeAsync(100);
    expect(at.at(-1)).toBe(quietAt + 100);
    scheduler.stop();
  });
});
