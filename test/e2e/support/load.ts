// Steady load for e2e tests: HTTP/1.1 requests at a fixed rate (open loop, bounded in flight) through a real
// proxy on loopback, counting every answer that isn't the expected status.
import { Agent, request } from "node:http";

export interface LoadTarget {
  host: string;
  port: number;
  path: string;
  /** The Host header: the service the proxy routes by. */
  authority: string;
}

export interface LoadResult {
  sent: number;
  ok: number;
  /** Failed requests, with why: a status other than 200, or a transport error. */
  failures: string[];
  seconds: number;
  /** Requests per second actually completed. */
  rate: number;
}

export interface Load {
  /** Stops sending, waits for the requests in flight, and reports. */
  stop(): Promise<LoadResult>;
  /** Requests answered so far (to see the load is moving). */
  readonly ok: number;
}

export function startLoad(target: LoadTarget, perSecond = 150, maxInFlight = 32): Load {
  const agent = new Agent({ keepAlive: true, maxSockets: maxInFlight });
  const started = performance.now();
  const failures: string[] = [];
  let sent = 0;
  let ok = 0;
  let inFlight = 0;
  let stopped = false;
  let drained: (() => void) | undefined;
  const one = (): void => {
    sent++;
    inFlight++;
    const done = (failure?: string): void => {
      if (failure) failures.push(failure);
      else ok++;
      if (--inFlight === 0 && stopped) drained?.();
    };
    const req = request(
      { host: target.host, port: target.port, path: target.path, agent, headers: { host: target.authority } },
      (res) => {
        res.resume();
        res.on("end", () =>
          done(
            res.statusCode === 200
              ? undefined
              : `status ${res.statusCode} ${String(res.headers["x-envoy-response-flags"] ?? "")}`.trim(),
          ),
        );
        res.on("error", (err) => done(err.message));
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error("timed out")));
    req.on("error", (err) => done(err.message));
    req.end();
  };
  // Every 10 ms, the requests due by now: a steady rate however late the timer fires.
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - started) / 1000) * perSecond);
    while (sent < due && inFlight < maxInFlight) one();
  }, 10);
  return {
    get ok() {
      return ok;
    },
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
      agent.destroy();
      const seconds = (performance.now() - started) / 1000;
      return { sent, ok, failures, seconds, rate: ok / seconds };
    },
  };
}
