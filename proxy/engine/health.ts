// Active HTTP health checking: every interval, GET the path on each host. A host leaves the load balancer after
// unhealthy_threshold failures in a row (at once on a 503) and comes back after healthy_threshold successes.
import { request } from "node:http";
import type { HealthCheck } from "./config/types.js";

export interface CheckedHost {
  endpoint: { address: string; port: number };
  hcFailed: boolean;
  hcFails: number;
  hcPasses: number;
  /** Since when the host takes traffic (slow start ramps up from there). */
  since: number;
}

function probe(h: CheckedHost, hc: HealthCheck, done: (status: number) => void): void {
  const req = request(
    {
      host: h.endpoint.address,
      port: h.endpoint.port,
      path: hc.path,
      headers: hc.host ? { host: hc.host } : {},
      agent: false,
      timeout: hc.timeoutMs,
    },
    (res) => {
      res.resume();
      res.on("end", () => done(res.statusCode ?? 0));
    },
  );
  req.on("timeout", () => req.destroy());
  req.on("error", () => done(0));
  req.end();
}

export function applyResult(h: CheckedHost, hc: HealthCheck, status: number): void {
  if (status === 200) {
    h.hcFails = 0;
    if (h.hcFailed && ++h.hcPasses >= hc.healthyThreshold) {
      h.hcFailed = false;
      h.hcPasses = 0;
      h.since = performance.now(); // back in: it ramps up again under slow start, as Envoy's
    }
    return;
  }
  h.hcPasses = 0;
  if (status === 503 || ++h.hcFails >= hc.unhealthyThreshold) h.hcFailed = true;
}

/** Checks the hosts `hosts()` returns now and every interval; `changed` when a host goes out or comes back. */
export function startHealthChecks(
  hc: HealthCheck,
  hosts: () => Iterable<CheckedHost>,
  changed: () => void = () => undefined,
): () => void {
  let stopped = false;
  const round = () => {
    if (stopped) return;
    for (const h of hosts())
      probe(h, hc, (status) => {
        if (stopped) return;
        const was = h.hcFailed;
        applyResult(h, hc, status);
        if (h.hcFailed !== was) changed();
      });
  };
  round();
  const timer = setInterval(round, hc.intervalMs);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
