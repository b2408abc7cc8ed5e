import { expectedTimeoutMs } from "./router-headers.js";

describe("x-envoy-expected-rq-timeout-ms (Envoy's FilterUtility::setTimeoutHeaders)", () => {
  it.each([
    [15_000, 0, 0, 15_000, "the route's timeout"],
    [3000, 250, 0, 250, "a shorter per-try timeout"],
    [3000, 5000, 0, 3000, "a per-try timeout no shorter than the route's is the route's"],
    [0, 250, 0, 250, "a per-try timeout alone"],
    [0, 0, 0, 0, "none: not sent"],
    [3000, 0, 400.7, 2599, "a retry: the time left, in whole ms"],
    [3000, 250, 2900, 100, "a retry: the per-try timeout, cut to the time left"],
    [3000, 0, 3000, 1, "a retry past the route's timeout: 1 ms, never 0 (no timeout)"],
    [0, 250, 99_999, 250, "a per-try timeout with no route timeout isn't cut"],
  ])("route %p, per try %p, %p ms elapsed → %p (%s)", (route, perTry, elapsed, expected) => {
    expect(expectedTimeoutMs(route, perTry, elapsed)).toBe(expected);
  });
});
