import type { ConfigModel } from "./model/config.js";

/** Config changes wait for a pause of `delayMs`, but never longer than this after the first of them. */
const MAX_DEBOUNCE_MS = 1000;
/** Endpoint pushes in a row (each within the widest gap of the last) that go out `delayMs` after their first change. */
const FAST_ENDPOINT_PUSHES = 5;
/** The widest gap between endpoint pushes while endpoint changes keep coming. */
const MAX_ENDPOINT_GAP_MS = 2000;

/**
 * Debounces model changes: the last model wins, pushed `delayMs` after the changes stop (at most 1 s late).
 *
 * Changes that touch only endpoints (`endpointsOnly`) are pushed `delayMs` after the first of them, however many
 * follow: such a push is a few ClusterLoadAssignments per proxy, and a scale-up's pod events would otherwise hold
 * every new endpoint back for the whole second. But an endpoint that never settles (a pod whose readiness flaps)
 * would then cost a push to every proxy ten times a second. So after five endpoint pushes in a row, each within
 * two seconds of the last, the gap between them doubles (200, 400, 800, 1600 ms) up to two seconds, and goes back
 * to `delayMs` once two seconds pass without an endpoint push. Each such push costs discovery about half a millisecond
 * of CPU per proxy (200 proxies: 90 ms), so a storm held to a push a second would cost 9% of a core at 200 proxies
 * by itself; at one every two seconds, half that. A push that takes endpoints back to what they were before the
 * previous one (`reverts`: ready, not ready, ready) is a flap, not a scale-up: the pushes after it are two seconds
 * apart at once, until the changes stop. istiod debounces endpoint changes like config changes, up to 10 s; a
 * scale-up here is seen within `delayMs`.
 *
 * One push at a time: a model that comes while one is under way waits for it (a generation never changes
 * mid-push).
 */
export class PushScheduler {
  private timer: NodeJS.Timeout | undefined;
  private first = 0;
  private pending: ConfigModel | undefined;
  private pendingEndpointsOnly = false;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** When the last endpoints-only push started, how many came in a row, whether one undid the one before it. */
  private lastEndpointPush = -Infinity;
  private endpointStreak = 0;
  private flapping = false;
  constructor(
    private readonly delayMs: number,
    private readonly apply: (model: ConfigModel) => Promise<void>,
    private readonly onError: (err: unknown) => void,
    /** Does `model` differ from the one pushed last only in endpoints? */
    private readonly endpointsOnly: (model: ConfigModel) => boolean = () => false,
    /** Does `model` (endpoints only) take those endpoints back to what they were before the last push? */
    private readonly reverts: (model: ConfigModel) => boolean = () => false,
  ) {}

  /** `changedAt`: when the source saw the change (its own debounce came after); the pause counts from there. */
  schedule(model: ConfigModel, changedAt?: number): void {
    const now = Date.now();
    const at = Math.min(changedAt ?? now, now);
    this.pending = model;
    if (this.timer) clearTimeout(this.timer);
    else this.first = at;
    this.pendingEndpointsOnly = this.endpointsOnly(model);
    const due = this.pendingEndpointsOnly
      ? Math.max(this.first + this.delayMs, this.lastEndpointPush + this.endpointGap())
      : Math.min(at + this.delayMs, this.first + MAX_DEBOUNCE_MS);
    this.timer = setTimeout(() => this.flush(), Math.max(0, due - now));
  }

  /** The least time between two endpoint pushes, given the streak so far. */
  private endpointGap(): number {
    if (this.flapping) return MAX_ENDPOINT_GAP_MS;
    const doublings = this.endpointStreak - FAST_ENDPOINT_PUSHES + 1;
    if (doublings <= 0) return 0;
    return Math.min(MAX_ENDPOINT_GAP_MS, this.delayMs * 2 ** Math.min(doublings, 10));
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running) return; // flushed again when it ends
    const model = this.pending;
    this.pending = undefined;
    if (!model) return;
    if (this.pendingEndpointsOnly) {
      const now = Date.now();
      const inRow = now - this.lastEndpointPush <= MAX_ENDPOINT_GAP_MS + this.delayMs;
      this.endpointStreak = inRow ? this.endpointStreak + 1 : 1;
      this.flapping = (inRow && this.flapping) || this.reverts(model);
      this.lastEndpointPush = now;
    }
    this.running = this.apply(model)
      .catch((err: unknown) => this.onError(err))
      .finally(() => {
        this.running = undefined;
        if (this.pending && !this.timer && !this.stopped) this.flush();
      });
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
