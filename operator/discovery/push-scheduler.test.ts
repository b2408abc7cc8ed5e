// The push debounce: one push at a time, so a generation never changes while proxies are being pushed to, and the
// latest model is pushed once the push under way ends (none is lost).
import { jest } from "@jest/globals";
import { emptyModel, type ConfigModel, type Service } from "./model/config.js";
import { PushScheduler } from "./push-scheduler.js";

const model = (n: number): ConfigModel => ({ ...emptyModel(), domainSuffix: `m${n}` });

describe("PushScheduler", () => {
  it("pushes a model that came during a push after that push, the latest one, once", async () => {
    const applied: string[] = [];
    let current = emptyModel();
    const ends: (() => void)[] = [];
    const started: ((n: number) => void)[] = [];
    const nextStart = () => new Promise<number>((resolve) => started.push(resolve));
    const scheduler = new PushScheduler(
      0,
      (m) =>
        new Promise<void>((resolve) => {
          current = m;
          applied.push(m.domainSuffix);
          ends.push(resolve);
          started.shift()?.(applied.length);
        }),
      (err) => {
        throw err;
      },
      () => current,
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

  /** A service with `ready` endpoints. */
  const service = (name: string, ready: number): Service => ({
    hostname: `${name}.default.svc.cluster.local`,
    namespace: "default",
    ports: [{ name: "http", number: 80, protocol: "HTTP" }],
    endpoints: Array.from({ length: ready }, (_, i) => ({
      address: `10.${name.length}.0.${i}`,
      ports: {},
      labels: {},
    })),
    addresses: [],
    resolution: "STATIC",
  });
  /** `model` with the named service's endpoints changed (a new object; the others as they were). */
  const withReady = (model: ConfigModel, name: string, ready: number): ConfigModel => ({
    ...model,
    services: model.services.map((s) => (s.hostname.startsWith(`${name}.`) ? service(name, ready) : s)),
  });
  const readyOf = (model: ConfigModel, name: string): number =>
    model.services.find((s) => s.hostname.startsWith(`${name}.`))?.endpoints.length ?? -1;

  /** A 100 ms scheduler that records when each push started and what it pushed; reviews and ratings are pushed. */
  function recording(): { at: number[]; models: ConfigModel[]; scheduler: PushScheduler; latest: () => ConfigModel } {
    const at: number[] = [];
    const models: ConfigModel[] = [];
    let current: ConfigModel = { ...emptyModel(), services: [service("reviews", 3), service("ratings", 1)] };
    const scheduler = new PushScheduler(
      100,
      async (m) => {
        current = m;
        at.push(Date.now());
        models.push(m);
      },
      (err) => {
        throw err;
      },
      () => current,
    );
    return { at, models, scheduler, latest: () => current };
  }

  /** Every `everyMs` for `forMs`, schedules `next(model, step)` from the model scheduled before, then waits `thenMs`. */
  async function steadily(
    { scheduler, latest }: ReturnType<typeof recording>,
    next: (model: ConfigModel, step: number) => ConfigModel,
    { everyMs = 50, forMs = 2000, thenMs = 0 } = {},
  ): Promise<ConfigModel> {
    let model = latest();
    const start = Date.now();
    for (let t = 0, step = 0; t < forMs; t += everyMs, step++) {
      model = next(model, step);
      scheduler.schedule(model, start + t);
      await jest.advanceTimersByTimeAsync(everyMs);
    }
    await jest.advanceTimersByTimeAsync(thenMs);
    return model;
  }
  const configChange = (model: ConfigModel, step: number): ConfigModel => ({ ...model, domainSuffix: `m${step}` });
  /** reviews scales up by one pod each time. */
  const scaleUp = (model: ConfigModel, step: number): ConfigModel => withReady(model, "reviews", 4 + step);
  /** ratings' one pod: ready, not ready, ready... */
  const flap = (model: ConfigModel, step: number): ConfigModel => withReady(model, "ratings", step % 2 ? 1 : 0);

  it("holds config changes until they pause for 100 ms, at most 1 s", async () => {
    const r = recording();
    await steadily(r, configChange);
    expect(r.at).toEqual([1000, 2000]);
    r.scheduler.stop();
  });

  it("counts the pause from when the source saw the change, not from when its own debounce let it go", async () => {
    const { at, scheduler, latest } = recording();
    await jest.advanceTimersByTimeAsync(20); // the source's debounce: seen at 0, handed over at 20
    scheduler.schedule(configChange(latest(), 1), 0);
    await jest.advanceTimersByTimeAsync(200);
    scheduler.schedule(configChange(latest(), 2), Date.now() + 50); // a clock ahead of ours counts as now
    await jest.advanceTimersByTimeAsync(200);
    expect(at).toEqual([100, 320]);
    scheduler.stop();
  });

  it("pushes endpoint changes 100 ms after the first of them, however many follow (a scale-up's first five pushes)", async () => {
    const r = recording();
    await steadily(r, scaleUp);
    expect(r.at.slice(0, 3)).toEqual([100, 200, 300]);
    r.scheduler.stop();
  });

  it("backs a service whose endpoints never settle off to one push every two seconds, and is quick again after a quiet spell", async () => {
    const r = recording();
    const last = await steadily(r, scaleUp, { everyMs: 100, forMs: 30_000, thenMs: 5000 });
    const { at } = r;
    // Five pushes 100 ms apart (a scale-up's pace), then 200, 400, 800, 1600 ms, then one every two seconds.
    expect(at.slice(0, 9)).toEqual([100, 200, 300, 400, 500, 700, 1100, 1900, 3500]);
    const gaps = at.slice(9).map((t, i) => t - (at[8 + i] ?? 0));
    expect(gaps.every((g) => g === 2000)).toBe(true);
    expect(at.length).toBeLessThanOrEqual(9 + 14);
    expect(r.latest()).toBe(last); // the last change is pushed
    // After the quiet, a change goes out 100 ms later.
    const quietAt = Date.now();
    r.scheduler.schedule(scaleUp(last, 1000));
    await jest.advanceTimersByTimeAsync(100);
    expect(at.at(-1)).toBe(quietAt + 100);
    r.scheduler.stop();
  });

  it("holds a flap from the push that undid the one before, for two seconds, then four, eight and ten", async () => {
    const r = recording();
    const last = await steadily(r, flap, { everyMs: 100, forMs: 30_000, thenMs: 12_000 });
    const { at } = r;
    // The second push takes the endpoints back: no fast pushes after it. A change that comes back to what was
    // pushed costs nothing, so each push is the first change after the gap (here the next, 100 ms later).
    expect(at.slice(0, 2)).toEqual([100, 200]);
    const gaps = at.slice(2).map((t, i) => t - (at[1 + i] ?? 0));
    expect(gaps).toEqual([2100, 4100, 8100, 10_100, 10_100].slice(0, gaps.length));
    expect(gaps.length).toBeGreaterThanOrEqual(4);
    expect(readyOf(r.latest(), "ratings")).toBe(readyOf(last, "ratings")); // the last change is pushed
    // Two quiet seconds after the last hold, endpoint changes go out at a scale-up's pace again.
    const quietAt = Date.now();
    r.scheduler.schedule(flap(last, 1 - readyOf(last, "ratings"))); // the other way
    await jest.advanceTimersByTimeAsync(100);
    expect(at.at(-1)).toBe(quietAt + 100);
    r.scheduler.stop();
  });

  it("holds only the flapping service: another's scale-up goes out 100 ms after it, with the flap as pushed last", async () => {
    const r = recording();
    let model = await steadily(r, flap, { everyMs: 100, forMs: 5000 });
    const pushes = r.at.length;
    const ratingsPushed = readyOf(r.latest(), "ratings");
    model = flap(withReady(model, "reviews", 13), 1 - readyOf(model, "ratings")); // both change
    const changedAt = Date.now();
    r.scheduler.schedule(model);
    await jest.advanceTimersByTimeAsync(100);
    expect(r.at.slice(pushes)).toEqual([changedAt + 100]);
    expect(readyOf(r.latest(), "reviews")).toBe(13);
    expect(readyOf(r.latest(), "ratings")).toBe(ratingsPushed);
    // The flap's own change follows when its gap ends.
    await jest.advanceTimersByTimeAsync(2000);
    expect(r.latest()).toBe(model);
    r.scheduler.stop();
  });

  it("pushes a config change at once, with the held endpoints", async () => {
    const r = recording();
    const model = await steadily(r, flap, { everyMs: 100, forMs: 3000 });
    const changed = configChange(flap(model, 1 - readyOf(r.latest(), "ratings")), 1); // ratings held, as it was
    expect(readyOf(changed, "ratings")).not.toBe(readyOf(r.latest(), "ratings"));
    r.scheduler.schedule(changed);
    await jest.advanceTimersByTimeAsync(100);
    expect(r.latest()).toBe(changed);
    r.scheduler.stop();
  });
});
