// A shadow (mirrored) request, as Envoy's router sends one: fire and forget, held to its cluster's max_requests (over
// it, none is sent) and ended at the route's timeout. Unbounded as fire-and-forget is, each one an upstream never
// answered was kept for ever: on HTTP/2, a stream with its request and body per mirrored request.
import type { ClusterRuntime } from "./cluster.js";
import type { DownstreamRequest } from "./downstream.js";
import { RequestBody } from "./http/body.js";
import { MAX_TIMER_MS } from "./grpc-timeout.js";
import { DISCARD, type Exchange, type UpstreamLink, type UpstreamRequest } from "./link.js";
import { REQUESTS } from "./shared-counts.js";

/** Sends `req`'s shadow to `cluster` (none when it doesn't exist or has no host); `build` makes its head for a body. */
export function sendShadow(
  cluster: ClusterRuntime | undefined,
  random: () => number,
  req: DownstreamRequest,
  timeoutMs: number,
  build: (body: RequestBody) => UpstreamRequest,
): void {
  const host = cluster?.pick(undefined, random);
  if (!cluster || !host) return;
  if (cluster.usage.total(REQUESTS) >= cluster.config.breakers.maxRequests) {
    cluster.counters.upstream_rq_pending_overflow++; // as the primary's max_requests overflow counts
    return;
  }
  // The same bytes: a body still arriving goes to the shadow as it comes, through a copy fed by the source's tee.
  const src = req.body;
  let body = src;
  if (!src.ended || src.trailers) {
    body = new RequestBody(Infinity);
    if (!src.tee(body)) {
      cluster.counters.retry_or_shadow_abandoned++;
      return; // over the replay limit already: no shadow, as Envoy
    }
  }
  cluster.usage.add(REQUESTS, 1);
  const head = build(body);
  let conn: UpstreamLink | undefined;
  let timer: NodeJS.Timeout | undefined;
  let over = false;
  const done = () => {
    if (over) return;
    over = true;
    if (timer) clearTimeout(timer);
    cluster.usage.add(REQUESTS, -1);
  };
  const exchange: Exchange = { ...DISCARD, onEnd: done, onError: done };
  if (body !== src)
    body.onAbandon = () => {
      conn?.abort();
      done();
    };
  const r = cluster.acquire(
    host,
    (c) => {
      if (over) {
        if (c) cluster.release(host, c);
        return;
      }
      if (!c) return done();
      conn = c;
      c.send(head, exchange, req.head.method === "HEAD");
    },
    false,
    req.down.protocol === "h2",
  );
  if (r === "overflow") return done();
  if (timeoutMs > 0 && !over)
    timer = setTimeout(
      () => {
        r();
        conn?.abort();
        done();
      },
      Math.min(timeoutMs, MAX_TIMER_MS),
    ).unref();
}
