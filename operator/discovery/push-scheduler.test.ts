// The push debounce: one push at a time, so a generation never changes while proxies are being pushed to, and the
// latest model is pushed once the push under way ends (none is lost).
import { jest } from "@jest/globals";
import { emptyModel, type ConfigModel } from "./model/config.js";
import { PushScheduler } from "./server.js";

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

  /** Schedules a model every 50 ms for 2 s; returns when each push started, in fake milliseconds. */
  async function steadyChanges(endpointsOnly: boolean): Promise<number[]> {
    const at: number[] = [];
    const scheduler = new PushScheduler(
      100,
      async () => void at.push(Date.now()),
      (err) => {
        throw err;
      },
      () => endpointsOnly,
    );
    for (let t = 0; t < 2000; t += 50) {
      scheduler.schedule(model(t));
      await jest.advanceTimersByTimeAsync(50);
    }
    scheduler.stop();
    return at;
  }

  it("holds config changes until they pause for 100 ms, at most 1 s", async () => {
    expect(await steadyChanges(false)).toEqual([1000, 2000]);
  });

  it("pushes endpoint changes 100 ms after the first of them, however many follow", async () => {
    expect((await steadyChanges(true)).slice(0, 3)).toEqual([100, 200, 300]);
  });
});
