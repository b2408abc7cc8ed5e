// Deadlines most requests never reach (the route timeout: Envoy's default is 15 s), kept without a Node timer each.
// A deadline is a time on the item itself, in one list that a sweep walks every SWEEP_MS while it isn't empty; one
// the next sweep might be late for gets a timer of its own then, for the exact time left, so it fires as precisely
// as a timer armed at the start would have. A setTimeout per request was a Timeout object and Node's list work on
// arming and clearing, 2–3% of the engine's CPU per keep-alive request, and the Timeouts of requests in flight were
// copied by every scavenge (a fifth of what survives one under h2load -c32 -m10).

/** What a deadline is kept on: fields the list owns, and what happens when it is reached. */
export interface Timed {
  deadlineAt: number;
  deadlinePrev: Timed | undefined;
  deadlineNext: Timed | undefined;
  /** The timer of a deadline within a sweep of its time (then it is out of the list). */
  deadlineTimer: NodeJS.Timeout | undefined;
  onDeadline(): void;
}

/** How often the list is walked, and so how far ahead a deadline gets its own timer. */
export const SWEEP_MS = 250;
/** Slack for a sweep that runs late (a busy event loop). */
const AHEAD_MS = 2 * SWEEP_MS;

let head: Timed | undefined;
let sweeper: NodeJS.Timeout | undefined;

function fire(t: Timed): void {
  t.deadlineTimer = undefined;
  t.onDeadline();
}

function armTimer(t: Timed, now: number): void {
  t.deadlineTimer = setTimeout(fire, Math.max(0, t.deadlineAt - now), t);
}

function unlink(t: Timed): void {
  if (t.deadlinePrev) t.deadlinePrev.deadlineNext = t.deadlineNext;
  else if (head === t) head = t.deadlineNext;
  if (t.deadlineNext) t.deadlineNext.deadlinePrev = t.deadlinePrev;
  t.deadlinePrev = t.deadlineNext = undefined;
}

function sweep(): void {
  const now = performance.now();
  for (let t = head; t;) {
    const next = t.deadlineNext;
    if (t.deadlineAt - now <= AHEAD_MS) {
      unlink(t);
      armTimer(t, now);
    }
    t = next;
  }
  if (!head && sweeper) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

/** `t` is due in `ms` (replacing any deadline it had): its onDeadline() runs then, unless cleared first. */
export function setDeadline(t: Timed, ms: number, now = performance.now()): void {
  clearDeadline(t);
  t.deadlineAt = now + ms;
  if (ms <= AHEAD_MS) return armTimer(t, now);
  t.deadlineNext = head;
  if (head) head.deadlinePrev = t;
  head = t;
  sweeper ??= setInterval(sweep, SWEEP_MS);
}

/** `t` has no deadline any more. */
export function clearDeadline(t: Timed): void {
  if (t.deadlineTimer) {
    clearTimeout(t.deadlineTimer);
    t.deadlineTimer = undefined;
  } else if (t.deadlinePrev || head === t) unlink(t);
}

/** Whether `t` has a deadline. */
export const hasDeadline = (t: Timed): boolean =>
  t.deadlineTimer !== undefined || t.deadlinePrev !== undefined || head === t;
