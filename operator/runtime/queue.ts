// A keyed work queue with client-go's semantics: a key waits in the queue at most once
// (dedupe), a key is never processed by two workers at once (a key added while it is
// being processed runs again after), and failures back off exponentially per key.
import { backoffDelay, type BackoffOptions } from "./backoff.js";

export type Handler = (key: string) => Promise<{ requeueAfterMs?: number } | void>;

export interface QueueHooks {
  onDepth?(depth: number): void;
  onError?(key: string, err: unknown, retryInMs: number): void;
}

export class WorkQueue {
  private readonly order: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<string, number>();
  private readonly waiters: (() => void)[] = [];
  private shuttingDown = false;

  constructor(
    private readonly backoff: BackoffOptions = { baseMs: 50, maxMs: 60_000 },
    private readonly hooks: QueueHooks = {},
  ) {}

  get depth(): number {
    return this.order.length;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.order.push(key);
    this.hooks.onDepth?.(this.order.length);
    this.waiters.shift()?.();
  }

  /** Adds key after delayMs; an earlier pending add of the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) return this.add(key);
    const at = Date.now() + delayMs;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Requeues key with exponential backoff and returns the delay used. */
  addRateLimited(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const delay = backoffDelay(n, this.backoff);
    this.addAfter(key, delay);
    return delay;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  private async next(): Promise<string | undefined> {
    while (this.order.length === 0) {
      if (this.shuttingDown) return undefined;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    const key = this.order.shift() as string;
    this.hooks.onDepth?.(this.order.length);
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }

  private done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.order.push(key);
      this.hooks.onDepth?.(this.order.length);
      this.waiters.shift()?.();
    }
  }

  /** Runs `workers` loops until shutDown(); resolves when they have all finished. */
  async run(handler: Handler, workers = 1): Promise<void> {
    const loop = async () => {
      for (let key = await this.next(); key !== undefined; key = await this.next()) {
        try {
          const result = await handler(key);
          this.forget(key);
          if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
        } catch (err) {
          const delay = this.addRateLimited(key);
          this.hooks.onError?.(key, err, delay);
        } finally {
          this.done(key);
        }
      }
    };
    await Promise.all(Array.from({ length: workers }, loop));
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const wake of this.waiters.splice(0)) wake();
  }
}
