// concurrency: N engine workers behind the agent, sharing its listening sockets. Forks the built engine (dist/).
import { existsSync } from "node:fs";
import { Agent as HttpAgent } from "node:http";
import { join } from "node:path";
import { Agent } from "./agent.js";
import { compile } from "../engine/config/index.js";
import { NO_LIMIT, refuseUnsharedLimits } from "./shared-limits.js";
import { backend, cluster, get, resources, ROUTER, type Backend } from "../../test/support/engine/helpers.js";

const BUILT = join(process.cwd(), "dist/proxy/engine/child.js");
const UNLIMITED = {
  circuit_breakers: {
    thresholds: [
      { max_connections: NO_LIMIT, max_pending_requests: NO_LIMIT, max_requests: NO_LIMIT, max_retries: NO_LIMIT },
    ],
  },
};
const ROUTES = [{ match: { prefix: "/" }, route: { cluster: "b" } }];

function agentFor(b: Backend, concurrency: number, extra: Record<string, unknown> = UNLIMITED): Agent {
  return new Agent({
    resources: resources(ROUTES, [cluster("b", [b.port], extra)]),
    binaryPath: BUILT,
    concurrency,
    adminPort: 0,
    statsPort: 0,
    readyPort: false,
    bindAddress: "127.0.0.1",
    drainMs: 1000,
  });
}

/** /stats as name → value. */
async function stats(agent: Agent): Promise<Map<string, number>> {
  const text = (await get(agent.ports.admin, "/stats")).body;
  return new Map(
    text
      .trim()
      .split("\n")
      .map((l) => [l.slice(0, l.lastIndexOf(": ")), Number(l.slice(l.lastIndexOf(": ") + 2))] as const),
  );
}

/** The sum of a Prometheus counter's series. */
function promSum(text: string, name: string): number {
  return text
    .split("\n")
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
}

describe("engine workers (concurrency)", () => {
  beforeAll(() => {
    if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run \`npm run build\` first`);
  });

  it("with concurrency 2, both workers take connections from the shared socket, and /stats adds them up", async () => {
    const b = await backend("b");
    const agent = agentFor(b, 2);
    await agent.start();
    const port = agent.listenerPort("http");
    try {
      const dump = JSON.parse((await get(agent.ports.admin, "/config_dump")).body) as { workers: { pid: number }[] };
      expect(dump.workers).toHaveLength(2);
      expect(new Set(dump.workers.map((w) => w.pid)).size).toBe(2);
      // New connections, 8 at a time, until each worker has accepted some (the kernel decides; bounded).
      let sent = 0;
      let s = await stats(agent);
      while (
        sent < 4000 &&
        !(
          (s.get("listener.http.worker_0.downstream_cx_total") ?? 0) > 0 &&
          (s.get("listener.http.worker_1.downstream_cx_total") ?? 0) > 0
        )
      ) {
        const replies = await Promise.all(
          Array.from({ length: 8 }, () => get(port, "/", {}, { agent: false }).then((r) => r.status)),
        );
        expect(replies).toEqual(Array(8).fill(200));
        sent += 8;
        s = await stats(agent);
      }
      const w0 = s.get("listener.http.worker_0.downstream_cx_total") ?? 0;
      const w1 = s.get("listener.http.worker_1.downstream_cx_total") ?? 0;
      expect(w0).toBeGreaterThan(0);
      expect(w1).toBeGreaterThan(0);
      // The proxy's counters are the workers' added up: every connection and request counted once.
      expect(s.get("listener.http.downstream_cx_total")).toBe(sent);
      expect(w0 + w1).toBe(sent);
      expect(s.get("cluster.b.upstream_rq_total")).toBe(sent);
      expect(s.get("cluster.b.membership_total")).toBe(1); // each worker knows the one host: not added up
      expect(s.get("server.concurrency")).toBe(2);
      const prom = (await get(agent.ports.stats, "/stats/prometheus")).body;
      expect(promSum(prom, "istio_requests_total")).toBe(sent);
      expect(promSum(prom, "envoy_cluster_upstream_rq_total")).toBe(sent);
    } finally {
      await agent.stop();
      await b.close();
    }
  }, 60_000);

  it("hot-restarts all workers under 300 rps without a failed request", async () => {
    const b = await backend("b");
    const agent = agentFor(b, 2);
    await agent.start();
    const port = agent.listenerPort("http");
    const before = (JSON.parse((await get(agent.ports.admin, "/config_dump")).body) as { workers: { pid: number }[] })
      .workers;
    const RATE = 300;
    const SECONDS = 8;
    let ok = 0;
    const failures: string[] = [];
    const keepAlive = new HttpAgent({ keepAlive: true, maxSockets: 16 });
    const inflight: Promise<void>[] = [];
    const started = Date.now();
    let restart: Promise<unknown> | undefined;
    let sent = 0;
    try {
      await new Promise<void>((resolve) => {
        const tick = setInterval(() => {
          const elapsed = Date.now() - started;
          const due = Math.min(RATE * SECONDS, Math.floor((elapsed * RATE) / 1000));
          while (sent < due) {
            const n = sent++;
            inflight.push(
              get(port, "/", {}, { agent: n % 2 ? keepAlive : false }).then(
                (r) => (r.status === 200 ? void ok++ : void failures.push(`status ${r.status}`)),
                (err: unknown) => void failures.push(String(err)),
              ),
            );
          }
          if (!restart && elapsed >= 3000) restart = agent.hotRestart();
          if (sent >= RATE * SECONDS) {
            clearInterval(tick);
            resolve();
          }
        }, 10);
      });
      expect(await restart).toMatchObject({ epoch: 1 });
      await Promise.all(inflight);
      expect(failures).toEqual([]);
      expect(ok).toBe(RATE * SECONDS);
      const after = (
        JSON.parse((await get(agent.ports.admin, "/config_dump")).body) as { epoch: number; workers: { pid: number }[] }
      ).workers;
      expect(after).toHaveLength(2);
      for (const w of after) expect(before.map((x) => x.pid)).not.toContain(w.pid);
    } finally {
      keepAlive.destroy();
      await agent.stop();
      await b.close();
    }
  }, 60_000);

  it("counts a circuit breaker once per proxy: as many requests overflow with 1 worker as with 2", async () => {
    const overflowed = async (workers: number): Promise<number> => {
      // Holds every request but the warm-up ones until released; keeps idle connections (a pooled connection that
      // the backend closed would let a worker open one more, as Envoy's pools do for a host they have none to).
      let held: (() => void)[] = [];
      const b = await backend("b", (req, res) => {
        if (req.headers["x-warm"]) return void res.end("warm");
        held.push(() => res.end("held"));
      });
      const breakers = { max_connections: 2, max_pending_requests: 2, max_requests: NO_LIMIT, max_retries: NO_LIMIT };
      const agent = agentFor(b, workers, { circuit_breakers: { thresholds: [breakers] } });
      await agent.start();
      const port = agent.listenerPort("http");
      try {
        // Warm-up: each worker gets a pooled upstream connection (2 in all with 2 workers, 1 with 1).
        for (let i = 0; i < 400; i++) {
          const s = await stats(agent);
          const served = [0, 1].filter((w) => (s.get(`listener.http.worker_${w}.downstream_cx_total`) ?? 0) > 0);
          if (i > 0 && (workers === 1 || served.length === 2)) break;
          expect((await get(port, "/", { "x-warm": "1" }, { agent: false })).status).toBe(200);
        }
        // 8 requests, one at a time, each on its own connection: 2 connections and 2 pending, then 503 UO.
        const replies: Promise<number>[] = [];
        let refused = 0;
        for (let i = 1; i <= 8; i++) {
          replies.push(
            get(port, "/", {}, { agent: false }).then((r) => {
              if (r.status === 503 && r.headers["x-envoy-overloaded"] === "true") refused++;
              return r.status;
            }),
          );
          const deadline = Date.now() + 10_000;
          for (;;) {
            const pending = (await stats(agent)).get("cluster.b.upstream_rq_pending_active") ?? 0;
            if (held.length + pending + refused === i) break;
            if (Date.now() > deadline) throw new Error(`request ${i} was not held, queued or refused`);
            await new Promise((r) => setTimeout(r, 20));
          }
        }
        const s = await stats(agent);
        expect(s.get("cluster.b.circuit_breakers.default.remaining_cx")).toBe(0);
        expect(s.get("cluster.b.circuit_breakers.default.rq_pending_open")).toBe(1);
        while (held.length) {
          const now = held;
          held = [];
          for (const release of now) release();
          await new Promise((r) => setTimeout(r, 50)); // pending requests reach the backend as connections free up
        }
        const statuses = await Promise.all(replies);
        expect(statuses.filter((x) => x === 200)).toHaveLength(4);
        expect((await stats(agent)).get("cluster.b.upstream_rq_pending_overflow")).toBe(refused);
        return refused;
      } finally {
        await agent.stop();
        await b.close();
      }
    };
    expect(await overflowed(1)).toBe(4);
    expect(await overflowed(2)).toBe(4);
  }, 90_000);

  it("forgets a crashed worker's share of a circuit breaker: its connections are gone", async () => {
    let held: (() => void)[] = [];
    const b = await backend("b", (_req, res) => void held.push(() => res.end("held")));
    const breakers = {
      max_connections: 100,
      max_pending_requests: NO_LIMIT,
      max_requests: NO_LIMIT,
      max_retries: NO_LIMIT,
    };
    const agent = agentFor(b, 2, { circuit_breakers: { thresholds: [breakers] } });
    await agent.start();
    const port = agent.listenerPort("http");
    const workers = async () =>
      (JSON.parse((await get(agent.ports.admin, "/config_dump")).body) as { workers: { pid: number }[] }).workers;
    try {
      // Requests held open on both workers, until each worker holds some.
      const replies: Promise<unknown>[] = [];
      let s = await stats(agent);
      while (
        replies.length < 200 &&
        !(
          (s.get("listener.http.worker_0.downstream_cx_active") ?? 0) > 0 &&
          (s.get("listener.http.worker_1.downstream_cx_active") ?? 0) > 0
        )
      ) {
        replies.push(get(port, "/", {}, { agent: false }).catch(() => undefined));
        const want = replies.length;
        while (held.length < want) await new Promise((r) => setTimeout(r, 10));
        s = await stats(agent);
      }
      expect(s.get("cluster.b.circuit_breakers.default.remaining_cx")).toBe(100 - replies.length);
      const [victim] = await workers();
      process.kill(victim!.pid, "SIGKILL");
      // Its replacement serves; the survivor's held connections are all that count now.
      let now = await workers();
      while (now.length < 2 || now.some((w) => w.pid === victim!.pid)) {
        await new Promise((r) => setTimeout(r, 50));
        now = await workers();
      }
      s = await stats(agent);
      const active = s.get("cluster.b.upstream_cx_active") ?? -1;
      expect(active).toBeLessThan(replies.length);
      expect(s.get("cluster.b.circuit_breakers.default.remaining_cx")).toBe(100 - active);
    } finally {
      for (const release of held) release();
      held = [];
      await agent.stop();
      await b.close();
    }
  }, 60_000);

  it("takes a local rate limit's tokens from one bucket for the proxy, whichever worker serves", async () => {
    const b = await backend("b");
    const rateLimited = (maxTokens: number) => [
      {
        name: "envoy.filters.http.local_ratelimit",
        typed_config: {
          "@type": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
          stat_prefix: "rl",
          token_bucket: { max_tokens: maxTokens, tokens_per_fill: maxTokens, fill_interval: "3600s" },
          filter_enabled: { default_value: { numerator: 100 } },
          filter_enforced: { default_value: { numerator: 100 } },
        },
      },
      ROUTER,
    ];
    const agent = agentFor(b, 2);
    await agent.start();
    const port = agent.listenerPort("http");
    try {
      await agent.apply(resources(ROUTES, [cluster("b", [b.port], UNLIMITED)], rateLimited(5), "2"));
      const statuses: number[] = [];
      let s = await stats(agent);
      while (
        statuses.length < 20 ||
        !(
          (s.get("listener.http.worker_0.downstream_cx_total") ?? 0) > 0 &&
          (s.get("listener.http.worker_1.downstream_cx_total") ?? 0) > 0
        )
      ) {
        if (statuses.length >= 400) break;
        statuses.push((await get(port, "/", {}, { agent: false })).status);
        s = await stats(agent);
      }
      expect(s.get("listener.http.worker_0.downstream_cx_total")).toBeGreaterThan(0);
      expect(s.get("listener.http.worker_1.downstream_cx_total")).toBeGreaterThan(0);
      expect(statuses.filter((x) => x === 200)).toHaveLength(5); // with a bucket per worker: 10
      expect(statuses.filter((x) => x === 429)).toHaveLength(statuses.length - 5);
      // A hot restart keeps the bucket (the tokens are the proxy's, not the workers').
      await agent.hotRestart();
      expect((await get(port, "/", {}, { agent: false })).status).toBe(429);
      // Another bucket (a new config's) starts full.
      await agent.apply(resources(ROUTES, [cluster("b", [b.port], UNLIMITED)], rateLimited(3), "3"));
      const next = await Promise.all(
        [1, 2, 3, 4].map(() => get(port, "/", {}, { agent: false }).then((r) => r.status)),
      );
      expect(next.filter((x) => x === 200)).toHaveLength(3);
    } finally {
      await agent.stop();
      await b.close();
    }
  }, 60_000);

  it("refuses limits the workers can't share without the shared-memory addon, naming them", () => {
    const limited = { circuit_breakers: { thresholds: [{ max_connections: 1 }] } };
    const cfg = compile(resources(ROUTES, [cluster("b", [1], limited)]));
    expect(() => refuseUnsharedLimits(cfg, 2)).toThrow(
      'Cluster "b": circuit_breakers.thresholds.max_connections: 1 is one limit per proxy, which the 2 engine workers (concurrency 2) can\'t share',
    );
    expect(() => refuseUnsharedLimits(cfg, 2, true)).not.toThrow();
    expect(() => refuseUnsharedLimits(cfg, 1)).not.toThrow();
    expect(() => refuseUnsharedLimits(compile(resources(ROUTES, [cluster("b", [1], UNLIMITED)])), 2)).not.toThrow();
  });
});
