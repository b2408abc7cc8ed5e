import { EndpointDamper } from "./endpoint-damper.js";
import type { ConfigModel } from "./model/config.js";

/** Config changes wait for a pause of `delayMs`, but never longer than this after the first of them. */
const MAX_DEBOUNCE_MS = 1000;

/**
 * Debounces model changes: the last model wins, pushed `delayMs` after the changes stop (at most 1 s late).
 *
 * Changes that touch only endpoints are pushed `delayMs` after the first of them, however many follow, but damped per
 * service (endpoint-damper.ts): a service whose endpoints keep changing is held, as it was pushed last, while the
 * others' changes go out.
 *
 * One push at a time: a model that comes while one is under way waits for it (a generation never changes
 * mid-push).
 */
export class PushScheduler {
  private timer: NodeJS.Timeout | undefined;
  /** When the first change not yet pushed was seen, and the latest. */
  private first: number | undefined;
  private last = 0;
  private pending: ConfigModel | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly damper: EndpointDamper;
  constructor(
    private readonly delayMs: number,
    private readonly apply: (model: ConfigModel) => Promise<void>,
    private readonly onError: (err: unknown) => void,
    /** The model pushed last (or being pushed). */
    private readonly pushed: () => ConfigModel,
  ) {
    this.damper = new EndpointDamper(delayMs);
  }

  /** `changedAt`: when the source saw the change (its own debounce came after); the pause counts from there. */
  schedule(model: ConfigModel, changedAt?: number): void {
    const now = Date.now();
    const at = Math.min(changedAt ?? now, now);
    this.pending = model;
    this.first ??= at;
    this.last = at;
    this.arm(now);
  }

  private arm(now: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const model = this.pending;
    if (!model || this.stopped) return;
    const first = this.first ?? now;
    const changes = this.damper.changes(this.pushed(), model);
    const due = changes
      ? this.damper.due(changes, this.last, first + this.delayMs, now)
      : Math.min(this.last + this.delayMs, first + MAX_DEBOUNCE_MS);
    this.timer = setTimeout(() => this.flush(), Math.max(0, due - now));
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running) return; // flushed again when it ends
    const model = this.pending;
    if (!model) return;
    const now = Date.now();
    const pushed = this.pushed();
    const changes = this.damper.changes(pushed, model);
    let push = model;
    this.pending = undefined;
    if (changes) {
      const release = this.damper.release(pushed, model, changes, now);
      if (release.heldUntil !== undefined) this.pending = model; // the held services' turn comes
      if (!release.model) {
        this.first = undefined;
        return this.arm(now);
      }
      push = release.model;
    } else this.damper.pushedWhole();
    this.first = undefined;
    this.running = this.apply(push)
      .catch((err: unknown) => this.onError(err))
      .finally(() => {
        this.running = undefined;
        if (this.pending && !this.timer) this.arm(Date.now());
      });
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
