/**
 * Weighted routing is random per request (as Envoy's is), so a share measured over n requests is binomial. The
 * tolerance is five standard deviations: a correct split fails about once in 1.7 million runs, and a wrong one
 * (50/50 for 80/20, or everything to one side) still fails at the sample sizes the tests use.
 */
export function shareTolerance(n: number, p: number): number {
  return 5 * Math.sqrt((p * (1 - p)) / n);
}

/** How far `count` of `n` is from the expected share `p`, in units of the tolerance: ≤ 1 is a pass. */
export function shareDeviation(count: number, n: number, p: number): number {
  return Math.abs(count / n - p) / shareTolerance(n, p);
}
