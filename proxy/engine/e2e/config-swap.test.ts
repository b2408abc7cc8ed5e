import {
  backend,
  cluster,
  countBy,
  get,
  many,
  resources,
  startEngine,
  type Backend,
} from "../../../test/support/engine/helpers.js";
import type { Engine } from "../engine.js";
import { ConfigError } from "../config/index.js";
import { parsePrometheus } from "../../../test/support/engine/prometheus.js";

describe("config swap, load balancing and metrics", () => {
  const bs: Backend[] = [];
  let engine: Engine;
  let port: number;
  const good = (version: string, target: string) =>
    resources(
      [{ match: { prefix: "/" }, route: { cluster: target } }],
      [cluster("a", [bs[0]!.port]), cluster("b", [bs[1]!.port])],
      undefined,
      version,
    );

  beforeAll(async () => {
    for (const n of ["a", "b", "c"]) bs.push(await backend(n));
    ({ engine, port } = await startEngine(good("v1", "a")));
  });
  afterAll(async () => {
    await engine.stop();
    for (const b of bs) await b.close();
  });

  it("rejects a bad config under load, keeps serving the old one, then swaps to a good one: zero failed requests", async () => {
    let sent = 0;
    let swapped = false;
    const load = many(600, 8, async (i) => {
      sent++;
      if (i === 200) {
        const bad = resources(
          [{ match: { safe_regex: { regex: "([" } }, route: { cluster: "a" } }],
          [cluster("a", [bs[0]!.port])],
          undefined,
          "v2",
        );
        await expect(engine.apply(bad)).rejects.toThrow(ConfigError);
        await expect(engine.apply(bad)).rejects.toThrow(
          /RouteConfiguration "routes": virtual_hosts\[0\]\.routes\[0\]\.match\.safe_regex\.regex: invalid regex/,
        );
        expect(engine.config?.version).toBe("v1");
      }
      if (i === 400) {
        await engine.apply(good("v3", "b"));
        swapped = true;
      }
      return get(port, "/");
    });
    const replies = await load;
    expect(sent).toBe(600);
    expect(countBy(replies, (r) => String(r.status))).toEqual({ 200: 600 });
    expect(swapped).toBe(true);
    const names = countBy(replies, (r) => JSON.parse(r.body).name);
    expect(names.a).toBeGreaterThanOrEqual(390); // 8 workers: a few requests overtake the swap
    expect(names.b).toBeGreaterThan(150);
    expect(JSON.parse((await get(port, "/")).body).name).toBe("b");
    const dump = (await get(engine.ports.admin, "/config_dump")).body;
    expect(JSON.parse(dump).version).toBe("v3");
  }, 30_000); // thousands of requests: seconds on a loaded machine, past jest's 5 s default

  it("takes an RDS route to a cluster it doesn't have (503, cluster not found), then serves once the cluster arrives", async () => {
    const routes = [
      { match: { prefix: "/late" }, route: { cluster: "late" } },
      { match: { prefix: "/" }, route: { cluster: "a" } },
    ];
    await engine.apply(resources(routes, [cluster("a", [bs[0]!.port])], undefined, "late1"));
    const missing = await get(port, "/late");
    expect(missing.status).toBe(503);
    expect(missing.body).toBe("cluster not found");
    expect((await get(port, "/")).status).toBe(200);
    await engine.apply(
      resources(routes, [cluster("a", [bs[0]!.port]), cluster("late", [bs[2]!.port])], undefined, "late2"),
    );
    expect(JSON.parse((await get(port, "/late")).body).name).toBe("c");
    await engine.apply(good("v4", "b"));
  });

  it("balances: ROUND_ROBIN evenly, RING_HASH by header, LEAST_REQUEST and RANDOM over all hosts", async () => {
    const ports = bs.map((b) => b.port);
    await engine.apply({
      ...resources(
        [
          { match: { prefix: "/rr" }, route: { cluster: "rr" } },
          {
            match: { prefix: "/hash" },
            route: { cluster: "ring", hash_policy: [{ header: { header_name: "x-user" } }] },
          },
          {
            match: { prefix: "/maglev" },
            route: { cluster: "maglev", hash_policy: [{ cookie: { name: "session" } }] },
          },
          { match: { prefix: "/lr" }, route: { cluster: "lr" } },
          { match: { prefix: "/random" }, route: { cluster: "random" } },
        ],
        [
          cluster("rr", ports, { lb_policy: "ROUND_ROBIN" }),
          cluster("ring", ports, { lb_policy: "RING_HASH", ring_hash_lb_config: { minimum_ring_size: 1024 } }),
          cluster("maglev", ports, { lb_policy: "MAGLEV" }),
          cluster("lr", ports, { lb_policy: "LEAST_REQUEST" }),
          cluster("random", ports, { lb_policy: "RANDOM" }),
        ],
      ),
      version: "lb",
    });
    const name = (r: { body: string }) => JSON.parse(r.body).name as string;
    const rr = countBy(await many(300, 1, () => get(port, "/rr")), name);
    expect(rr).toEqual({ a: 100, b: 100, c: 100 });
    for (const user of ["alice", "bob", "carol", "dave"]) {
      const seen = countBy(await many(20, 4, () => get(port, "/hash", { "x-user": user })), name);
      expect(Object.keys(seen)).toHaveLength(1);
    }
    const users = countBy(await many(300, 8, (i) => get(port, "/hash", { "x-user": `user-${i}` })), name);
    expect(Object.keys(users).sort()).toEqual(["a", "b", "c"]);
    const sessions = countBy(await many(20, 4, () => get(port, "/maglev", { cookie: "session=s1" })), name);
    expect(Object.keys(sessions)).toHaveLength(1);
    for (const path of ["/lr", "/random"]) {
      const c = countBy(await many(600, 8, () => get(port, path)), name);
      for (const n of ["a", "b", "c"]) expect(Math.abs((c[n] ?? 0) - 200)).toBeLessThan(70);
    }
  }, 30_000); // thousands of requests: seconds on a loaded machine, past jest's 5 s default

  it("a cookie hash policy with a ttl gives a client without the cookie one (Envoy's), and the client sticks with it", async () => {
    const ports = bs.map((b) => b.port);
    await engine.apply({
      ...resources(
        [
          {
            match: { prefix: "/" },
            route: { cluster: "ring", hash_policy: [{ cookie: { name: "sticky", ttl: "60s", path: "/" } }] },
          },
        ],
        [cluster("ring", ports, { lb_policy: "RING_HASH", ring_hash_lb_config: { minimum_ring_size: 1024 } })],
      ),
      version: "cookie",
    });
    const name = (r: { body: string }) => JSON.parse(r.body).name as string;
    const first = new Set<string>();
    for (let i = 0; i < 12; i++) {
      // A new connection each: a new client, which gets its own cookie (and so not every client the same host).
      const r = await get(port, "/", {}, { agent: false });
      const set = String(r.headers["set-cookie"]);
      expect(set).toMatch(/^sticky="[0-9a-f]{16}"; Max-Age=60; Path=\/; HttpOnly$/);
      const cookie = set.split(";")[0]!;
      const host = name(r);
      first.add(host);
      const again = await many(5, 1, () => get(port, "/", { cookie }));
      expect(again.map(name)).toEqual(Array(5).fill(host));
      expect(again.every((a) => a.headers["set-cookie"] === undefined)).toBe(true);
    }
    expect(first.size).toBeGreaterThan(1);
  });

  it("exports Istio's metrics in Prometheus text, counting the traffic sent", async () => {
    await engine.apply(
      resources(
        [{ match: { prefix: "/" }, route: { cluster: "outbound|80||metrics.demo.svc.cluster.local" } }],
        [cluster("outbound|80||metrics.demo.svc.cluster.local", [bs[2]!.port])],
        undefined,
        "m",
      ),
    );
    await many(25, 5, () => get(port, "/"));
    const text = (await get(engine.ports.stats, "/stats/prometheus")).body;
    const lines = text
      .split("\n")
      .filter(
        (l) =>
          l.startsWith("istio_requests_total{") && l.includes('destination_service="metrics.demo.svc.cluster.local"'),
      );
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('reporter="source"');
    expect(lines[0]).toContain('response_code="200"');
    expect(lines[0]).toContain('destination_service_name="metrics"');
    expect(lines[0]).toContain('destination_service_namespace="demo"');
    expect(lines[0]).toMatch(/ 25$/);
    expect(text).toMatch(
      /istio_request_duration_milliseconds_bucket\{[^}]*destination_service="metrics\.demo\.svc\.cluster\.local"[^}]*le="\+Inf"\} 25/,
    );
    expect(text).toContain("istio_request_bytes_count");
    // The whole exposition parses with Prometheus's reference parser, and its samples count the traffic.
    const samples = await parsePrometheus(text);
    const ours = (name: string) =>
      samples.filter((x) => x.name === name && x.labels.destination_service === "metrics.demo.svc.cluster.local");
    expect(ours("istio_requests_total").map((x) => x.value)).toEqual([25]);
    expect(ours("istio_request_duration_milliseconds_count").map((x) => x.value)).toEqual([25]);
    expect(ours("istio_response_bytes_count").map((x) => x.value)).toEqual([25]);
    expect(text).toContain("istio_response_bytes_sum");
    expect((await get(engine.ports.ready, "/healthz/ready")).status).toBe(200);
    expect((await get(engine.ports.admin, "/ready")).body).toBe("LIVE\n");
  }, 30_000); // thousands of requests: seconds on a loaded machine, past jest's 5 s default
});
