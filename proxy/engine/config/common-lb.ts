// Cluster.common_lb_config: the panic threshold and locality weighting (lb/priority.ts applies them). Any other field
// (zone-aware routing, update_merge_window, consistent_hashing_lb_config, ...) is refused naming it.
import { join, type Obj, type Reader, onlyKnown } from "./read.js";

/** Envoy's default healthy_panic_threshold: a level with under half of its hosts healthy balances over all of them. */
const DEFAULT_PANIC_PERCENT = 50;

export interface CommonLb {
  panicThreshold: number;
  localityWeighted: boolean;
}

export function commonLb(r: Reader, o: Obj): CommonLb {
  const p = "common_lb_config";
  const c = r.optObj(o, p, "");
  if (!c) return { panicThreshold: DEFAULT_PANIC_PERCENT, localityWeighted: false };
  onlyKnown(r, c, p, ["healthy_panic_threshold", "locality_weighted_lb_config"], "common_lb_config");
  const t = r.optObj(c, "healthy_panic_threshold", p);
  // A Percent; Envoy rounds it to a whole percent (PROTOBUF_PERCENT_TO_ROUNDED_INTEGER_OR_DEFAULT).
  const value = t ? (r.num(t, "value", join(p, "healthy_panic_threshold")) ?? 0) : DEFAULT_PANIC_PERCENT;
  if (!(value >= 0 && value <= 100)) r.fail(join(p, "healthy_panic_threshold.value"), "must be from 0 to 100");
  const lw = r.optObj(c, "locality_weighted_lb_config", p);
  if (lw) onlyKnown(r, lw, join(p, "locality_weighted_lb_config"), [], "locality_weighted_lb_config");
  return { panicThreshold: Math.round(value), localityWeighted: lw !== undefined };
}
