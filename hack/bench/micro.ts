// The per-call microbenchmark both codec benches use (bench:codec, bench:hpack): ns per call, the median of
// BENCH_ROUNDS rounds of BENCH_ITERATIONS calls after a warm-up, and the bytes each call allocates.
export const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 200_000);
export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

export function measure(fn: () => void): { ns: number; bytes: number } {
  for (let i = 0; i < ITERATIONS / 4; i++) fn(); // warm: optimised before it's timed
  const ns: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < ITERATIONS; i++) fn();
    ns.push(Number(process.hrtime.bigint() - t0) / ITERATIONS);
  }
  // Allocation: heap growth over a small batch. A scavenge inside one makes it read low, so the largest of several
  // batches is the figure (those without one agree).
  const batch = 100;
  let bytes = 0;
  for (let r = 0; r < 20; r++) {
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < batch; i++) fn();
    bytes = Math.max(bytes, (process.memoryUsage().heapUsed - before) / batch);
  }
  ns.sort((a, b) => a - b);
  return { ns: ns[ns.length >> 1] ?? NaN, bytes };
}
