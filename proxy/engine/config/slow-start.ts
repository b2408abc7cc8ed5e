// A cluster's slow start (round_robin_lb_config / least_request_lb_config .slow_start_config; Istio's warmup): a host
// new to the cluster gets a share of requests that grows over the window instead of its full share at once, so a
// service that warms up (JIT, caches, pools) isn't flooded the moment it joins.
import type { SlowStart } from "./types.js";
import { join, type Obj, type Reader, onlyKnown } from "./read.js";

/** Envoy's defaults: aggression 1.0 (linear), min_weight_percent 10. */
const DEFAULT_AGGRESSION = 1;
const DEFAULT_MIN_PERCENT = 10;

/** The slow_start_config inside an LB config object at `path`, if any. */
export function slowStart(r: Reader, lb: Obj | undefined, path: string): SlowStart | undefined {
  const p = join(path, "slow_start_config");
  const o = lb && r.optObj(lb, "slow_start_config", path);
  if (!o) return undefined;
  onlyKnown(r, o, p, ["slow_start_window", "aggression", "min_weight_percent"], "SlowStartConfig");
  const windowMs = r.duration(o, "slow_start_window", p);
  if (windowMs === undefined || windowMs <= 0) return r.fail(join(p, "slow_start_window"), "is required (above 0)");
  const ag = r.optObj(o, "aggression", p);
  if (ag) onlyKnown(r, ag, join(p, "aggression"), ["default_value", "runtime_key"], "RuntimeDouble");
  const aggression = ag
    ? (r.num(ag, "default_value", join(p, "aggression")) ?? DEFAULT_AGGRESSION)
    : DEFAULT_AGGRESSION;
  if (!(aggression > 0)) r.fail(join(p, "aggression.default_value"), "must be above 0");
  const mw = r.optObj(o, "min_weight_percent", p);
  const minPercent = mw ? (r.num(mw, "value", join(p, "min_weight_percent")) ?? 0) : DEFAULT_MIN_PERCENT;
  if (!(minPercent >= 0 && minPercent <= 100)) r.fail(join(p, "min_weight_percent.value"), "must be from 0 to 100");
  return { windowMs, aggression, minFactor: minPercent / 100 };
}

/**
 * The share of its weight a host gets `ageMs` after it joined, as Envoy computes it: (age / window) ^ (1 / aggression),
 * at least min_weight_percent; 1 once the window is over.
 */
export function slowStartFactor(s: SlowStart, ageMs: number): number {
  if (ageMs >= s.windowMs) return 1;
  const t = Math.max(1, ageMs) / s.windowMs;
  return Math.max(s.aggression === 1 ? t : t ** (1 / s.aggression), s.minFactor);
}
