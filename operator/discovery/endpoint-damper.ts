// Endpoint pushes damped per service: a service whose endpoints keep changing is pushed less often, and only it.
import { endpointChanges } from "./ads/generator.js";
import type { ConfigModel, Service } from "./model/config.js";

/** Pushes of one service's endpoints in a row (each within the widest gap of the last) that go out at once. */
const FAST_PUSHES = 5;
/** The widest gap between two pushes of one service's endpoints while they keep changing. */
export const MAX_ENDPOINT_GAP_MS = 2000;
/** The widest gap while they flap: istiod's longest debounce. */
export const MAX_FLAP_GAP_MS = 10_000;

/** One service's changed endpoints, from the model pushed last to the next. */
export interface EndpointChange {
  index: number;
  key: string;
  /** The endpoints as JSON: pushed last, and next. */
  was: string;
  endpoints: string;
}

/** What to push now, out of a model whose changes from the one pushed last are endpoints alone. */
export interface Release {
  /** The model to push: the next one, with every held service as it was pushed last; undefined: nothing to push. */
  model: ConfigModel | undefined;
  /** The changes it carries. */
  released: EndpointChange[];
  /** When the first held service may go; undefined: none is held. */
  heldUntil: number | undefined;
}

interface Damping {
  lastPush: number;
  /** Pushes in a row (inRow). */
  streak: number;
  /** Pushes that took the endpoints back to what they were before the push before them (ready, not ready, ready). */
  flaps: number;
  /** The endpoints this service had before its last push (JSON): a push back to them is a flap. */
  before: string;
}

/**
 * A scale-up's endpoints go out `delayMs` after its first change, however many follow: each push carries only the
 * ClusterLoadAssignments that changed. But an endpoint that never settles would then cost a push to every proxy at
 * every change. So, per service:
 * - After five pushes of its endpoints in a row, the gap before its next push doubles (200, 400, 800, 1600 ms) up to
 *   two seconds: a long scale-up is seen every two seconds.
 * - A push that takes its endpoints back to what they were before the one before it (ready, not ready, ready) is a
 *   flap. The gap after the first is two seconds, and doubles at each one after it, up to 10 s (istiod's longest
 *   debounce): a pod whose readiness flaps is wrong half the time whatever is pushed, and each push costs every proxy
 *   a write and an ACK. Route flap damping in BGP (RFC 2439) is the same idea.
 * - Two quiet seconds after its gap, a service is new again.
 * While a service is held, what is pushed keeps the endpoints it was pushed with last, and every other service's
 * changes go out at a scale-up's pace; a change that comes back to what was pushed costs nothing. (istiod debounces
 * endpoint changes like config changes, up to 10 s, for every service at once.)
 */
export class EndpointDamper {
  private readonly services = new Map<string, Damping>();
  /** When each service's change not yet pushed was first seen. */
  private readonly since = new Map<string, number>();
  constructor(private readonly delayMs: number) {}

  /** The services whose endpoints differ (by content) from `pushed` to `next`; undefined when more than endpoints
   * changed (a config change: pushed whole). */
  changes(pushed: ConfigModel, next: ConfigModel): EndpointChange[] | undefined {
    if (!endpointChanges(pushed, next)) return undefined;
    const out: EndpointChange[] = [];
    for (let index = 0; index < next.services.length; index++) {
      const x = pushed.services[index] as Service;
      const y = next.services[index] as Service;
      if (x === y) continue;
      const was = JSON.stringify(x.endpoints);
      const endpoints = JSON.stringify(y.endpoints);
      if (was !== endpoints) out.push({ index, key: `${y.namespace}/${y.hostname}`, was, endpoints });
    }
    return out;
  }

  /**
   * When the first of `changes` may be pushed: `delayMs` after its service's change was first seen (`seenAt`, if
   * not before), and not before its gap ends. None: `earliest`.
   */
  due(changes: EndpointChange[], seenAt: number, earliest: number, now: number): number {
    if (this.since.size > changes.length) {
      const keys = new Set(changes.map((c) => c.key));
      for (const key of this.since.keys()) if (!keys.has(key)) this.since.delete(key); // changed back
    }
    if (!changes.length) return earliest;
    let due = Infinity;
    for (const c of changes) {
      let since = this.since.get(c.key);
      if (since === undefined) this.since.set(c.key, (since = seenAt));
      due = Math.min(due, Math.max(since + this.delayMs, this.readyAt(c.key, now)));
    }
    return due;
  }

  /** Splits `next` into what may be pushed at `now` and what is held, and records the push of the former. */
  release(pushed: ConfigModel, next: ConfigModel, changes: EndpointChange[], now: number): Release {
    for (const [key, d] of this.services) if (!this.inRow(d, now)) this.services.delete(key);
    const released: EndpointChange[] = [];
    const held = new Set<number>();
    let heldUntil: number | undefined;
    for (const c of changes) {
      const at = this.readyAt(c.key, now);
      if (at <= now) released.push(c);
      else {
        held.add(c.index);
        heldUntil = Math.min(heldUntil ?? Infinity, at);
      }
    }
    // Nothing but new objects with the endpoints pushed last: nothing to push (the next push takes the objects).
    if (!released.length && next.workloads === pushed.workloads) return { model: undefined, released, heldUntil };
    const services = held.size ? next.services.map((s, i) => (held.has(i) ? (pushed.services[i] as Service) : s)) : [];
    for (const c of released) this.record(c, now);
    return { model: held.size ? { ...next, services } : next, released, heldUntil };
  }

  /** A whole model was pushed (a config change): every change so far went with it. */
  pushedWhole(): void {
    this.since.clear();
  }

  /** When the service's endpoints may be pushed next. */
  private readyAt(key: string, now: number): number {
    const d = this.services.get(key);
    if (!d || !this.inRow(d, now)) return -Infinity;
    return d.lastPush + this.gap(d);
  }

  /** Whether a push at `now` continues the service's streak: it comes before two quiet seconds after its gap. (A
   * flap's change that comes back to what was pushed costs no push, so its next push can be a flap's period or
   * two later than the gap: it is still the same flap.) */
  private inRow(d: Damping, now: number): boolean {
    return now - d.lastPush <= this.gap(d) + MAX_ENDPOINT_GAP_MS + this.delayMs;
  }

  /** The least time between two pushes of a service's endpoints, given its streak so far. */
  private gap(d: Damping): number {
    if (d.flaps) return Math.min(MAX_FLAP_GAP_MS, MAX_ENDPOINT_GAP_MS * 2 ** Math.min(d.flaps - 1, 10));
    const doublings = d.streak - FAST_PUSHES + 1;
    if (doublings <= 0) return 0;
    return Math.min(MAX_ENDPOINT_GAP_MS, this.delayMs * 2 ** Math.min(doublings, 10));
  }

  private record(c: EndpointChange, now: number): void {
    this.since.delete(c.key);
    const d = this.services.get(c.key);
    if (!d) {
      this.services.set(c.key, { lastPush: now, streak: 1, flaps: 0, before: c.was });
      return;
    }
    if (c.endpoints === d.before) d.flaps++;
    d.streak++;
    d.lastPush = now;
    d.before = c.was;
  }
}
