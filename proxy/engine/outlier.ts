// Outlier detection's rules, as Envoy's: consecutive 5xx, consecutive gateway failures (502-504), and local-origin
// failures counted apart under split_external_local_origin_errors; ejection time growing with each ejection.
import type { OutlierDetection } from "./config/types.js";
import type { Host } from "./cluster-host.js";

/**
 * Counts a response status from the host, or a failure this proxy saw itself (`local`: a connect failure or reset as
 * 503, a timeout as 504), into its streaks. True when a streak reached its threshold and the draw enforces it. Envoy
 * counts a local failure as that status unless split_external_local_origin_errors, when it counts apart, and any
 * response resets it.
 */
export function breaksStreak(
  od: OutlierDetection,
  host: Host,
  status: number,
  random: () => number,
  local: boolean,
): boolean {
  if (od.splitLocalOrigin) {
    if (local) {
      host.consecutiveLocal++;
      const n = od.consecutiveLocalOrigin;
      return n > 0 && host.consecutiveLocal >= n && random() * 100 < od.enforcingLocalOrigin;
    }
    host.consecutiveLocal = 0;
  }
  if (status < 500) {
    host.consecutive5xx = 0;
    host.consecutiveGateway = 0;
    return false;
  }
  host.consecutive5xx++;
  if (status >= 502 && status <= 504) host.consecutiveGateway++;
  else host.consecutiveGateway = 0;
  const by5xx = od.consecutive5xx > 0 && host.consecutive5xx >= od.consecutive5xx && random() * 100 < od.enforcing5xx;
  const byGateway =
    od.consecutiveGatewayFailure > 0 &&
    host.consecutiveGateway >= od.consecutiveGatewayFailure &&
    random() * 100 < od.enforcingGatewayFailure;
  return by5xx || byGateway;
}

/** A host's streaks start again (it was ejected, or its ejection ended). */
export function resetStreaks(host: Host): void {
  host.consecutive5xx = 0;
  host.consecutiveGateway = 0;
  host.consecutiveLocal = 0;
}

/**
 * Ejects the host unless it is ejected already or max_ejection_percent forbids it (at least one host of the
 * cluster may always be ejected). `ejected` of `hosts` are out now. True when it was ejected.
 */
export function eject(od: OutlierDetection, host: Host, ejected: number, hosts: number, now: number): boolean {
  resetStreaks(host);
  if (host.ejectedUntil > now) return false;
  if (ejected > 0 && ((ejected + 1) * 100) / hosts > od.maxEjectionPercent) return false;
  host.ejections++;
  host.ejectedUntil = now + Math.min(od.baseEjectionMs * host.ejections, Math.max(od.maxEjectionMs, od.baseEjectionMs));
  return true;
}
