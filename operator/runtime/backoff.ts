// Exponential backoff, shared by the work queue and the informers' restart loop.
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

/** Delay before attempt n+1 after n consecutive failures (n >= 1): base * 2^(n-1), capped. */
export function backoffDelay(failures: number, { baseMs, maxMs }: BackoffOptions): number {
  if (failures <= 0) return 0;
  return Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 40));
}
