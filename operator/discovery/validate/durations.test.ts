// Istio's duration rules (ValidateDuration), counted in exact nanoseconds.
import { durationNanos, durationProblem } from "./durations.js";

describe("durations as Istio's webhook takes them", () => {
  it("counts nanoseconds exactly, as Go's time.ParseDuration", () => {
    expect(durationNanos("1h30m")).toBe(5_400_000_000_000n);
    expect(durationNanos("1.5ms")).toBe(1_500_000n);
    expect(durationNanos("0.0000000001s")).toBe(0n);
    expect(durationNanos("1.000000001s")).toBe(1_000_000_001n);
    expect(durationNanos("1d")).toBeUndefined();
    expect(durationNanos("-1s")).toBeUndefined();
  });

  it("takes 1ms and more, to the millisecond (ValidateDuration)", () => {
    for (const ok of ["1ms", "0.001s", "1.5s", "5m", "1h", "2562047h"])
      expect(durationProblem(ok, "istio")).toBe(undefined);
    expect(durationProblem("1ns", "istio")).toBe('duration must be at least 1ms, got "1ns"');
    expect(durationProblem("0s", "istio")).toBe('duration must be at least 1ms, got "0s"');
    expect(durationProblem("1.5ms", "istio")).toBe('only durations to ms precision are supported, got "1.5ms"');
    expect(durationProblem("1.0000001s", "istio")).toBe(
      'only durations to ms precision are supported, got "1.0000001s"',
    );
  });

  it("refuses what a Go duration can't hold", () => {
    expect(durationProblem("2562048h", "any")).toBe(
      '"2562048h" is too long: a duration must be at most 2562047h47m16.854775807s',
    );
    expect(durationProblem("315576000001s", "istio")).toMatch(/is too long/);
  });

  it("has each field's exceptions: 0s turns a tcp idle timeout off, a cookie ttl may be 0s, CORS maxAge is whole seconds", () => {
    expect(durationProblem("0s", "orZero")).toBe(undefined);
    expect(durationProblem("0.5ms", "orZero")).toMatch(/at least 1ms/);
    expect(durationProblem("0s", "any")).toBe(undefined);
    expect(durationProblem("1.5s", "seconds")).toBe('duration is accurate only to seconds precision, got "1.5s"');
    expect(durationProblem("24h", "seconds")).toBe(undefined);
    expect(durationProblem(10, "istio")).toBe('"10" is not a duration (like "1.5s" or "300ms")');
  });
});
