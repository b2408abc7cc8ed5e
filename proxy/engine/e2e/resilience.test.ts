import type { backend } from "../../../test/support/engine/helpers.js";
import {
  engineHarness,
  cluster,
  countBy,
  get,
  many,
  resources,
  ROUTER,
  until,
} from "../../../test/support/engine/helpers.js";
import { shareDeviation } from "../../../test/support/share.js";

const T = "type.googleapis.com/envoy.extensions.filters.http";
const FAULT = { name: "envoy.filters.http.fault", typed_config: { "@type": `${T}.fault.v3.HTTPFault` } };
const RATELIMIT = {
  name: "envoy.filters.http.local_ratelimit",
  typed_config: { "@type": `${T}.local_ratelimit.v3.LocalRateLimit`, stat_prefix: "rl" },
};

const fault = (f: Record<string, unknown>) => ({
  "envoy.filters.http.fault": { "@type": `${T}.fault.v3.HTTPFault`, ...f },
});

describe("resilience through the engine", () => {
  const { up, engineFor, start } = engineHarness();

  it("retries a backend that fails 30% of requests: every request succeeds", async () => {
    // FLAKY mode: hits 0, 1, 2 of every 10 fail; sequential requests see at most 3 failures in a row.
    const flaky = await up("flaky", (_req, res, _body, b) => {
      res.writeHead((b.hits - 1) % 10 < 3 ? 503 : 200);
      res.end("x");
    });
    const { port } = await engineFor(
      [
        {
          match: { prefix: "/" },
          route: {
            cluster: "flaky",
            retry_policy: { retry_on: "5xx", num_retries: 3, retry_back_off: { base_interval: "0.001s" } },
          },
        },
      ],
      [cluster("flaky", [flaky.port], { circuit_breakers: { thresholds: [{ max_retries: 100 }] } })],
    );
    const replies = await many(200, 1, () => get(port, "/"));
    expect(countBy(replies, (r) => String(r.status))).toEqual({ 200: 200 });
    expect(flaky.hits).toBeGreaterThan(250);
  });

  it("tells the upstream which attempt it is (x-envoy-attempt-count) when the virtual host asks for it", async () => {
    const seen: string[] = [];
    const flaky = await up("counted", (req, res, _body, b) => {
      seen.push(String(req.headers["x-envoy-attempt-count"]));
      res.writeHead(b.hits % 3 === 0 ? 200 : 503);
      res.end("x");
    });
    const routes = [
      {
        match: { prefix: "/" },
        route: {
          cluster: "c",
          retry_policy: { retry_on: "5xx", num_retries: 3, retry_back_off: { base_interval: "0.001s" } },
        },
      },
    ];
    const res = resources(routes, [cluster("c", [flaky.port])]);
    const [table] = res.routes as { virtual_hosts: Record<string, unknown>[] }[];
    Object.assign(table?.virtual_hosts[0] ?? {}, { include_request_attempt_count: true });
    const e = await start(res);
    expect((await get(e.port, "/", { "x-envoy-attempt-count": "7" })).status).toBe(200);
    expect(seen).toEqual(["1", "2", "3"]);
  });

  it("without retries the same backend fails", async () => {
    const flaky = await up("flaky2", (_req, res, _body, b) => {
      res.writeHead((b.hits - 1) % 10 < 3 ? 503 : 200);
      res.end("x");
    });
    const { port } = await engineFor(
      [{ match: { prefix: "/" }, route: { cluster: "f" } }],
      [cluster("f", [flaky.port])],
    );
    const replies = await many(100, 1, () => get(port, "/"));
    expect(countBy(replies, (r) => String(r.status))).toEqual({ 200: 70, 503: 30 });
  });

  it("retries on connect failure to another host, and times out with 504", async () => {
    const good = await up("good");
    const slow = await up("slow", () => undefined); // never answers
    const { port } = await engineFor(
      [
        { match: { prefix: "/slow" }, route: { cluster: "slow", timeout: "0.2s" } },
        {
          match: { prefix: "/" },
          route: {
            cluster: "mixed",
            retry_policy: {
              retry_on: "connect-failure",
              num_retries: 2,
              retry_host_predicate: [{ name: "envoy.retry_host_predicates.previous_hosts" }],
            },
          },
        },
      ],
      [cluster("mixed", [1, good.port]), cluster("slow", [slow.port])], // port 1: connection refused
    );
    const replies = await many(20, 1, () => get(port, "/"));
    expect(replies.every((r) => r.status === 200)).toBe(true);
    const t = await get(port, "/slow");
    expect([t.status, t.body]).toEqual([504, "upstream request timeout"]);
  });

  it("retries a try that outlives per_try_timeout, and counts it (upstream_rq_per_try_timeout)", async () => {
    const b = await up("hangs-once", (_req, res, _body, be) => {
      if (be.hits > 1) res.end("second try");
    });
    const { engine, port } = await engineFor(
      [
        {
          match: { prefix: "/" },
          route: {
            cluster: "h",
            retry_policy: { retry_on: "5xx", num_retries: 1, per_try_timeout: "0.1s" },
          },
        },
      ],
      [cluster("h", [b.port])],
    );
    const r = await get(port, "/");
    expect([r.status, r.body]).toEqual([200, "second try"]);
    expect(engine.clusterRuntime("h")?.counters.upstream_rq_per_try_timeout).toBe(1);
  });

  it("times a try from its connection, as Envoy: waiting in the pool for one is not the try's time", async () => {
    // One connection (max_connections 1): /hold keeps it for longer than a try of "/" may take, and "/" waits for it.
    let release: () => void = () => undefined;
    let holding: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (holding = resolve));
    const b = await up("one-conn", (req, res) => {
      if (req.url !== "/hold") return res.end("quick");
      release = () => res.end("held");
      holding();
    });
    const { engine, port } = await engineFor(
      [
        { match: { prefix: "/hold" }, route: { cluster: "one", timeout: "0s" } },
        {
          match: { prefix: "/" },
          route: { cluster: "one", retry_policy: { retry_on: "5xx", num_retries: 0, per_try_timeout: "0.1s" } },
        },
      ],
      [cluster("one", [b.port], { circuit_breakers: { thresholds: [{ max_connections: 1 }] } })],
    );
    const first = get(port, "/hold", {}, { agent: false });
    await held;
    const queued = get(port, "/", {}, { agent: false });
    const rt = engine.clusterRuntime("one")!;
    await until(() => rt.pending === 1);
    // Longer in the queue than the try may take: the try hasn't started, so nothing times out.
    await new Promise((r) => setTimeout(r, 300));
    expect(rt.counters.upstream_rq_per_try_timeout).toBe(0);
    release();
    expect((await first).body).toBe("held");
    expect([(await queued).status, (await queued).body]).toEqual([200, "quick"]);
  });

  it("limits a stream by max_stream_duration (504, DT) and a gRPC request by its grpc-timeout (max_grpc_timeout)", async () => {
    const slow = await up("never", () => undefined); // never answers
    const ok = await up("ok");
    const { engine, port } = await engineFor(
      [
        {
          match: { prefix: "/limited" },
          route: { cluster: "never", max_stream_duration: { max_stream_duration: "0.2s" } },
        },
        // Istio's sidecar shape without a VirtualService timeout: no route timeout, the client's deadline uncapped.
        { match: { prefix: "/grpc" }, route: { cluster: "never", timeout: "0s", max_grpc_timeout: "0s" } },
        { match: { prefix: "/ok" }, route: { cluster: "ok", timeout: "0s", max_grpc_timeout: "0s" } },
      ],
      [cluster("never", [slow.port]), cluster("ok", [ok.port])],
    );
    const t0 = Date.now();
    const limited = await get(port, "/limited");
    expect([limited.status, limited.body]).toEqual([504, "downstream duration timeout"]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(195);
    const grpc = { "content-type": "application/grpc", "grpc-timeout": "150m" };
    const t1 = Date.now();
    const deadline = await get(port, "/grpc", grpc, { method: "POST", body: "" });
    expect([deadline.status, deadline.body]).toEqual([504, "upstream request timeout"]);
    expect(Date.now() - t1).toBeGreaterThanOrEqual(145);
    // A deadline longer than a timer holds (99999999 hours) is clamped, not turned into an immediate timeout.
    const long = await get(port, "/ok", { ...grpc, "grpc-timeout": "99999999H" }, { method: "POST", body: "" });
    expect(long.status).toBe(200);
    const stats = engine.statsText();
    expect(stats).toMatch(/^http\.\S+\.downstream_rq_max_duration_reached: 1$/m);
  });

  it("retries a gRPC UNAVAILABLE with Istio's default retry_on", async () => {
    // Every other call: a trailers-only response with grpc-status 14, as a server going away answers.
    const flaky = await up("grpc-flaky", (_req, res, _body, b) => {
      res.writeHead(200, { "content-type": "application/grpc", "grpc-status": b.hits % 2 === 1 ? "14" : "0" });
      res.end();
    });
    const retry_on = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes";
    const { port } = await engineFor(
      [{ match: { prefix: "/" }, route: { cluster: "f", retry_policy: { retry_on, num_retries: 2 } } }],
      [cluster("f", [flaky.port])],
    );
    const replies = await many(10, 1, () =>
      get(port, "/svc/Call", { "content-type": "application/grpc" }, { method: "POST", body: "" }),
    );
    expect(replies.map((r) => r.headers["grpc-status"])).toEqual(Array(10).fill("0"));
    expect(flaky.hits).toBe(20);
  });

  it("answers 503 when the upstream resets, and retries on reset where the policy allows", async () => {
    const resetting = await up("resetting", (req, res, _body, b) => {
      if (b.hits % 2 === 1)
        req.socket.destroy(); // every other request: reset before any response
      else res.end("ok");
    });
    const { port } = await engineFor(
      [
        {
          match: { prefix: "/retry" },
          route: {
            cluster: "r",
            retry_policy: { retry_on: "reset", num_retries: 1, retry_back_off: { base_interval: "0.001s" } },
          },
        },
        { match: { prefix: "/" }, route: { cluster: "r" } },
      ],
      [cluster("r", [resetting.port])],
    );
    // POST: not idempotent, so a reset is never retried unless the policy says so.
    const plain = await many(10, 1, () => get(port, "/", {}, { agent: false, method: "POST", body: "x" }));
    expect(countBy(plain, (r) => String(r.status))).toEqual({ 200: 5, 503: 5 });
    expect(plain.find((r) => r.status === 503)?.body).toContain("reset reason: connection termination");
    const retried = await many(10, 1, () => get(port, "/retry", {}, { agent: false, method: "POST", body: "x" }));
    expect(countBy(retried, (r) => String(r.status))).toEqual({ 200: 10 });
  });

  it("injects faults: abort by percentage, gRPC aborts, and delays", async () => {
    const b = await up("b");
    const { port } = await engineFor(
      [
        {
          match: { prefix: "/abort-all" },
          route: { cluster: "b" },
          typed_per_filter_config: fault({ abort: { http_status: 503, percentage: { numerator: 100 } } }),
        },
        {
          match: { prefix: "/abort-half" },
          route: { cluster: "b" },
          typed_per_filter_config: fault({ abort: { http_status: 500, percentage: { numerator: 50 } } }),
        },
        {
          match: { prefix: "/grpc" },
          route: { cluster: "b" },
          typed_per_filter_config: fault({ abort: { grpc_status: 14, percentage: { numerator: 100 } } }),
        },
        {
          match: { prefix: "/delay" },
          route: { cluster: "b" },
          typed_per_filter_config: fault({ delay: { fixed_delay: "0.2s", percentage: { numerator: 100 } } }),
        },
      ],
      [cluster("b", [b.port])],
      [FAULT, ROUTER],
    );
    const all = await get(port, "/abort-all");
    expect([all.status, all.body]).toEqual([503, "fault filter abort"]);
    const half = countBy(await many(400, 8, () => get(port, "/abort-half")), (r) => String(r.status));
    expect(shareDeviation(half[500] ?? 0, 400, 0.5)).toBeLessThanOrEqual(1);
    const g = await get(port, "/grpc");
    expect([g.status, g.headers["grpc-status"]]).toEqual([200, "14"]);
    const hitsBefore = b.hits;
    const start = Date.now();
    const d = await get(port, "/delay");
    expect(d.status).toBe(200);
    expect(Date.now() - start).toBeGreaterThanOrEqual(195);
    expect(b.hits).toBe(hitsBefore + 1);
  });

  it("applies a weighted cluster's typed_per_filter_config and header edits to the requests drawn for it", async () => {
    const b = await up("b");
    const c = await up("c");
    const { port } = await engineFor(
      [
        {
          match: { prefix: "/" },
          route: {
            weighted_clusters: {
              clusters: [
                {
                  name: "b",
                  weight: 1,
                  typed_per_filter_config: fault({ abort: { http_status: 503, percentage: { numerator: 100 } } }),
                  response_headers_to_add: [{ header: { key: "x-split", value: "b" } }],
                },
                { name: "c", weight: 1, response_headers_to_add: [{ header: { key: "x-split", value: "c" } }] },
              ],
            },
          },
        },
      ],
      [cluster("b", [b.port]), cluster("c", [c.port])],
      [FAULT, ROUTER],
    );
    const replies = await many(200, 8, () => get(port, "/"));
    const seen = countBy(replies, (r) => `${r.status} ${r.headers["x-split"]} ${r.headers["x-backend"] ?? r.body}`);
    // b's share is aborted by its own fault config, with b's header edits; c's is served by c.
    expect(Object.keys(seen).sort()).toEqual(["200 c c", "503 b fault filter abort"]);
    expect(shareDeviation(seen["503 b fault filter abort"] ?? 0, 200, 0.5)).toBeLessThanOrEqual(1);
    expect(b.hits).toBe(0);
  });

  it("rate limits locally with 429 and x-ratelimit headers", async () => {
    const b = await up("b");
    const limit = {
      "envoy.filters.http.local_ratelimit": {
        "@type": `${T}.local_ratelimit.v3.LocalRateLimit`,
        stat_prefix: "rl",
        token_bucket: { max_tokens: 5, tokens_per_fill: 5, fill_interval: "60s" },
        filter_enabled: { default_value: { numerator: 100, denominator: "HUNDRED" } },
        filter_enforced: { default_value: { numerator: 100, denominator: "HUNDRED" } },
        enable_x_ratelimit_headers: "DRAFT_VERSION_03",
      },
    };
    const { port } = await engineFor(
      [
        { match: { prefix: "/limited" }, route: { cluster: "b" }, typed_per_filter_config: limit },
        { match: { prefix: "/" }, route: { cluster: "b" } },
      ],
      [cluster("b", [b.port])],
      [RATELIMIT, ROUTER],
    );
    const replies = await many(10, 1, () => get(port, "/limited"));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 429, 429, 429, 429, 429]);
    expect(replies[5]?.body).toBe("local_rate_limited");
    expect(replies[5]?.headers).toMatchObject({ "x-ratelimit-limit": "5", "x-ratelimit-remaining": "0" });
    expect(replies[0]?.headers["x-ratelimit-remaining"]).toBe("4");
    expect((await many(10, 1, () => get(port, "/free"))).every((r) => r.status === 200)).toBe(true);
  });

  it("opens the circuit breaker: overflow gets 503 with x-envoy-overloaded", async () => {
    const held: (() => void)[] = [];
    let arrived: () => void = () => undefined;
    const first = new Promise<void>((resolve) => (arrived = resolve));
    const b = await up("held", (_req, res) => {
      held.push(() => res.end("done"));
      arrived();
    });
    const { engine, port } = await engineFor(
      [{ match: { prefix: "/" }, route: { cluster: "held" } }],
      [
        cluster("held", [b.port], {
          circuit_breakers: { thresholds: [{ max_connections: 1, max_pending_requests: 1 }] },
        }),
      ],
    );
    const inFlight = get(port, "/1", {}, { agent: false });
    await first;
    const pending = get(port, "/2", {}, { agent: false });
    const rt = engine.clusterRuntime("held")!;
    await until(() => rt.pending === 1);
    const third = await get(port, "/3", {}, { agent: false });
    expect(third.status).toBe(503);
    expect(third.headers["x-envoy-overloaded"]).toBe("true");
    held.splice(0).forEach((f) => f());
    expect((await inFlight).status).toBe(200);
    await until(() => held.length > 0);
    held.splice(0).forEach((f) => f());
    expect((await pending).status).toBe(200);
  });

  it("takes a host out of the balancer while its active health check fails, and back when it passes", async () => {
    let sick = true;
    const handler: Parameters<typeof backend>[1] = (req, res, _body, b) => {
      if (req.url === "/healthz") res.writeHead(sick && b.name === "flaky-health" ? 503 : 200);
      res.end(b.name);
    };
    const steady = await up("steady", handler);
    const flaky = await up("flaky-health", handler);
    const { engine, port } = await engineFor(
      [{ match: { prefix: "/" }, route: { cluster: "hc" } }],
      [
        cluster("hc", [steady.port, flaky.port], {
          health_checks: [
            {
              timeout: "1s",
              interval: "0.05s",
              unhealthy_threshold: 2,
              healthy_threshold: 1,
              http_health_check: { path: "/healthz" },
            },
          ],
        }),
      ],
    );
    const rt = engine.clusterRuntime("hc")!;
    const usable = () =>
      (rt.pick(undefined, Math.random, new Set(["127.0.0.1:" + steady.port]))?.key ?? "").endsWith(`:${flaky.port}`);
    await until(() => !usable());
    const whileSick = countBy(await many(20, 1, () => get(port, "/")), (r) => r.body);
    expect(whileSick).toEqual({ steady: 20 });
    sick = false;
    await until(usable);
    const healed = countBy(await many(20, 1, () => get(port, "/")), (r) => r.body);
    expect(healed).toEqual({ steady: 10, "flaky-health": 10 });
  });

  it("ejects an outlier after consecutive 5xx", async () => {
    const good = await up("good");
    const bad = await up("bad", (_req, res) => {
      res.writeHead(500);
      res.end("bad");
    });
    const { engine, port } = await engineFor(
      [{ match: { prefix: "/" }, route: { cluster: "pair" } }],
      [
        cluster("pair", [good.port, bad.port], {
          outlier_detection: {
            consecutive_5xx: 3,
            interval: "1s",
            base_ejection_time: "30s",
            max_ejection_percent: 50,
          },
        }),
      ],
    );
    const replies = await many(40, 1, () => get(port, "/"));
    expect(bad.hits).toBe(3);
    expect(countBy(replies, (r) => String(r.status))).toEqual({ 200: 37, 500: 3 });
    expect(engine.statsText()).toContain("cluster.pair.outlier_detection.ejections_active: 1");
  });

  it("ejects a host that refuses connections: a connect failure counts as a 503, as Envoy counts it", async () => {
    const good = await up("good-of-two");
    const { engine, port } = await engineFor(
      [{ match: { prefix: "/" }, route: { cluster: "half-dead" } }],
      // port 1: connection refused, as a host whose process is gone
      [cluster("half-dead", [1, good.port], { outlier_detection: { consecutive_5xx: 2, max_ejection_percent: 50 } })],
    );
    const replies = await many(40, 1, () => get(port, "/"));
    expect(countBy(replies, (r) => String(r.status))).toEqual({ 200: 38, 503: 2 });
    expect(engine.statsText()).toContain("cluster.half-dead.outlier_detection.ejections_active: 1");
  });

  it("split_external_local_origin_errors: connect failures eject by their own count, the upstream's 503s by theirs", async () => {
    const busy = await up("busy", (_req, res) => {
      res.writeHead(503);
      res.end("busy");
    });
    const { engine, port } = await engineFor(
      [{ match: { prefix: "/" }, route: { cluster: "split" } }],
      [
        cluster("split", [1, busy.port], {
          outlier_detection: {
            consecutive_5xx: 1000,
            split_external_local_origin_errors: true,
            consecutive_local_origin_failure: 2,
            max_ejection_percent: 50,
          },
        }),
      ],
    );
    const replies = await many(40, 1, () => get(port, "/"));
    // The refusing host is ejected after its 2 connect failures; the busy one, answering 503 all along, never is.
    expect(countBy(replies, (r) => r.body.replace(/\n$/, ""))).toEqual({
      busy: 38,
      "upstream connect error or disconnect/reset before headers. reset reason: connection failure": 2,
    });
    expect(engine.statsText()).toContain("cluster.split.outlier_detection.ejections_active: 1");
  });
});
