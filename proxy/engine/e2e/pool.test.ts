// DestinationRule connection pools as Envoy applies them: the cluster's circuit breakers, HttpProtocolOptions,
// and Envoy's counters in /stats and Prometheus.
import type { AddressInfo } from "node:net";
import { engineHarness, cluster, countBy, get, many, resources, until } from "../../../test/support/engine/helpers.js";
import type { Engine } from "../engine.js";
import { ConfigError } from "../config/index.js";

const HPO = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
const options = (common: Record<string, unknown>) => ({
  typed_extension_protocol_options: {
    [HPO]: {
      "@type": `type.googleapis.com/${HPO}`,
      explicit_http_config: { http_protocol_options: {} },
      common_http_protocol_options: common,
    },
  },
});
const breakers = (t: Record<string, unknown>) => ({ circuit_breakers: { thresholds: [t] } });
const stat = (engine: Engine, name: string): number => {
  const m = new RegExp(`^${name.replace(/[.|]/g, "\\$&")}: (\\d+)$`, "m").exec(engine.statsText());
  return m ? Number(m[1]) : NaN;
};

describe("connection pools", () => {
  const { up, engineFor } = engineHarness();

  it("maxConnections 1 with two hosts: every request is served, by both hosts", async () => {
    const a = await up("a");
    const b = await up("b");
    const { engine, port } = await engineFor(
      [{ match: { prefix: "/" }, route: { cluster: "two" } }],
      [cluster("two", [a.port, b.port], { lb_policy: "ROUND_ROBIN", ...breakers({ max_connections: 1 }) })],
    );
    const replies = await many(40, 4, () => get(port, "/", {}, { agent: false }));
    expect(countBy(replies, (r) => String(r.status))).toEqual({ 200: 40 });
    expect(a.hits).toBeGreaterThan(0);
    expect(b.hits).toBeGreaterThan(0);
    // Envoy opens one connection to a host that has none even at the limit, and counts the overflow.
    expect(stat(engine, "cluster.two.upstream_cx_overflow")).toBeGreaterThan(0);
  });

  it("overflow: 503 with x-envoy-overloaded, and Envoy's counters move in /stats and Prometheus", async () => {
    const held: (() => void)[] = [];
    const b = await up("held", (_req, res) => held.push(() => res.end("done")));
    const { engine, port } = await engineFor(
      [{ match: { prefix: "/" }, route: { cluster: "cb" } }],
      [cluster("cb", [b.port], breakers({ max_connections: 1, max_pending_requests: 1 }))],
    );
    const first = get(port, "/1", {}, { agent: false });
    await until(() => held.length === 1);
    const second = get(port, "/2", {}, { agent: false });
    await until(() => stat(engine, "cluster.cb.upstream_rq_pending_active") === 1);
    const third = await get(port, "/3", {}, { agent: false });
    expect([third.status, third.headers["x-envoy-overloaded"]]).toEqual([503, "true"]);
    expect(third.headers["x-weft-overflow"]).toBeUndefined();
    expect(stat(engine, "cluster.cb.upstream_rq_pending_overflow")).toBe(1);
    expect(stat(engine, "cluster.cb.upstream_rq_pending_total")).toBe(1);
    expect(stat(engine, "cluster.cb.circuit_breakers.default.rq_pending_open")).toBe(1);
    const prom = await engine.prometheus();
    expect(prom).toContain('envoy_cluster_upstream_rq_pending_overflow{cluster_name="cb"} 1');
    expect(prom).toMatch(/# TYPE envoy_cluster_upstream_rq_pending_overflow counter/);
    held.splice(0).forEach((f) => f());
    expect((await first).status).toBe(200);
    await until(() => held.length === 1);
    held.splice(0).forEach((f) => f());
    expect((await second).status).toBe(200);
    expect(stat(engine, "cluster.cb.upstream_rq_pending_active")).toBe(0);
  });

  it("max_requests overflow counts as upstream_rq_pending_overflow, as Envoy does", async () => {
    const held: (() => void)[] = [];
    const b = await up("held2", (_req, res) => held.push(() => res.end("done")));
    const { engine, port } = await engineFor(
      [{ match: { prefix: "/" }, route: { cluster: "mr" } }],
      [cluster("mr", [b.port], breakers({ max_requests: 1 }))],
    );
    const first = get(port, "/", {}, { agent: false });
    await until(() => held.length === 1);
    const second = await get(port, "/", {}, { agent: false });
    expect([second.status, second.headers["x-envoy-overloaded"]]).toEqual([503, "true"]);
    expect(stat(engine, "cluster.mr.upstream_rq_pending_overflow")).toBe(1);
    held.splice(0).forEach((f) => f());
    expect((await first).status).toBe(200);
  });

  it("max_requests_per_connection from HttpProtocolOptions: a new upstream connection per request", async () => {
    const peers = new Set<number>();
    const b = await up("per", (req, res) => {
      peers.add((req.socket.address() as AddressInfo).port ^ (req.socket.remotePort ?? 0));
      res.end("ok");
    });
    const { engine, port } = await engineFor(
      [{ match: { prefix: "/" }, route: { cluster: "per" } }],
      [cluster("per", [b.port], options({ max_requests_per_connection: 1 }))],
    );
    const replies = await many(5, 1, () => get(port, "/"));
    expect(replies.every((r) => r.status === 200)).toBe(true);
    expect(peers.size).toBe(5);
    expect(stat(engine, "cluster.per.upstream_cx_total")).toBe(5);
    expect(stat(engine, "cluster.per.upstream_cx_max_requests")).toBe(5);
  });

  it("idle_timeout from HttpProtocolOptions closes an idle pooled connection", async () => {
    let closed = 0;
    const b = await up("idle", (req, res) => {
      req.socket.once("close", () => closed++);
      res.end("ok");
    });
    const { engine, port } = await engineFor(
      [{ match: { prefix: "/" }, route: { cluster: "idle" } }],
      [cluster("idle", [b.port], options({ idle_timeout: "0.1s" }))],
    );
    expect((await get(port, "/")).status).toBe(200);
    await until(() => closed === 1);
    expect(stat(engine, "cluster.idle.upstream_cx_idle_timeout")).toBe(1);
    expect(stat(engine, "cluster.idle.upstream_cx_active")).toBe(0);
  });

  it("an idle_timeout a config update takes away closes no connection idle since", async () => {
    let opened = 0;
    const b = await up("kept", (req, res) => {
      if (!req.socket.listenerCount("x-seen")) {
        req.socket.on("x-seen", () => undefined);
        opened++;
      }
      res.end("ok");
    });
    const routes = [{ match: { prefix: "/" }, route: { cluster: "kept" } }];
    const { engine, port } = await engineFor(routes, [cluster("kept", [b.port], options({ idle_timeout: "10s" }))]);
    expect((await get(port, "/")).status).toBe(200); // pooled, with the timeout's sweep running
    await engine.apply(resources(routes, [cluster("kept", [b.port], options({ idle_timeout: "0s" }))], undefined, "2"));
    expect((await get(port, "/")).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2500)); // a few of the sweep's runs (every second at most)
    expect((await get(port, "/")).status).toBe(200);
    expect((await get(port, "/")).status).toBe(200);
    expect(opened).toBe(1); // every request reused the first's connection
    expect(stat(engine, "cluster.kept.upstream_cx_idle_timeout")).toBe(0);
  });

  it("a GET whose pooled connection the upstream closed under it is tried again on a new connection, not an idle one", async () => {
    // The upstream drains as a hot-restarting proxy does: every connection it had gets closed, and a request that
    // races the close meets a dead connection. Its idle siblings are as dead: the retry must not take one of them.
    const old = new Set<unknown>();
    let draining = false;
    const b = await up("drains", (req, res) => {
      if (draining && old.has(req.socket)) return void req.socket.destroy();
      if (!draining) old.add(req.socket);
      res.end("ok");
    });
    const { engine, port } = await engineFor(
      [{ match: { prefix: "/" }, route: { cluster: "drains" } }],
      [cluster("drains", [b.port])],
    );
    const warm = await many(12, 4, () => get(port, "/"));
    expect(countBy(warm, (r) => String(r.status))).toEqual({ 200: 12 });
    expect(stat(engine, "cluster.drains.upstream_cx_pool_idle")).toBeGreaterThan(1); // pooled siblings to meet
    draining = true;
    const after = await many(4, 1, () => get(port, "/"));
    expect(countBy(after, (r) => String(r.status))).toEqual({ 200: 4 });
  });

  it("counts retries and the retry breaker's overflow", async () => {
    const b = await up("failing", (_req, res) => {
      res.writeHead(503);
      res.end("no");
    });
    const { engine, port } = await engineFor(
      [
        {
          match: { prefix: "/" },
          route: {
            cluster: "rt",
            retry_policy: { retry_on: "5xx", num_retries: 2, retry_back_off: { base_interval: "0.001s" } },
          },
        },
      ],
      [cluster("rt", [b.port], breakers({ max_retries: 0 }))],
    );
    expect((await get(port, "/")).status).toBe(503);
    expect(stat(engine, "cluster.rt.upstream_rq_retry_overflow")).toBe(1);
    expect(stat(engine, "cluster.rt.upstream_rq_retry")).toBe(0);
  });

  it("ORIGINAL_DST with use_http_header: the request's authority (ip:port) picks the host; anything else is 503 UH", async () => {
    const b = await up("direct");
    const passthrough = {
      name: "PassthroughCluster",
      type: "ORIGINAL_DST",
      lb_policy: "CLUSTER_PROVIDED",
      connect_timeout: "1s",
      original_dst_lb_config: { use_http_header: true, http_header_name: ":authority" },
    };
    const { port } = await engineFor(
      [{ match: { prefix: "/" }, route: { cluster: "PassthroughCluster" } }],
      [passthrough],
    );
    const ok = await get(port, "/x", { host: `127.0.0.1:${b.port}` });
    expect([ok.status, JSON.parse(ok.body).name]).toEqual([200, "direct"]);
    for (const host of ["example.com", "example.com:80", "127.0.0.1", "127.0.0.1:0"]) {
      const r = await get(port, "/x", { host });
      expect([host, r.status, r.body]).toEqual([host, 503, "no healthy upstream"]);
    }
  });

  it("NACKs what it doesn't implement, naming the field", async () => {
    const { engine } = await engineFor([], []);
    const bad = async (extra: Record<string, unknown>) => {
      const err = await engine.apply(resources([], [cluster("x", [1], extra)], undefined, "2")).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    };
    expect(await bad(options({ max_headers_count: 10 }))).toContain(
      `typed_extension_protocol_options.${HPO}.common_http_protocol_options.max_headers_count: not supported`,
    );
    expect(await bad({ typed_extension_protocol_options: { [HPO]: { auto_config: {} } } })).toContain(
      "auto_config: not supported",
    );
    expect(
      await bad({ typed_extension_protocol_options: { [HPO]: { use_downstream_protocol_config: {} } } }),
    ).toContain("use_downstream_protocol_config: needs http_protocol_options, http2_protocol_options or both");
    expect(await bad({ upstream_connection_options: { tcp_keepalive: { keepalive_probes: 3 } } })).toContain(
      "upstream_connection_options.tcp_keepalive.keepalive_probes",
    );
    expect(
      await bad({
        transport_socket: {
          name: "envoy.transport_sockets.alts",
          typed_config: { "@type": "type.googleapis.com/envoy.extensions.transport_sockets.alts.v3.Alts" },
        },
      }),
    ).toContain("transport_socket.typed_config.@type: unsupported transport socket");
    expect(engine.config?.version).toBe("1"); // the old config keeps serving
  });
});
