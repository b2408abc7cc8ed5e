// An HTTP/2 upstream's requests waiting for a stream are the cluster's pending requests, as Envoy's: with
// max_connections reached and the upstream's max_concurrent_streams taken, a request waits (upstream_rq_pending_total,
// upstream_rq_pending_active), and over max_pending_requests it is answered 503 UO with x-envoy-overloaded.
import { cluster, get, resources, startEngine, until, type Reply } from "../../../test/support/engine/helpers.js";
import { rawH2Server, type RawConnection, type RawServer } from "../../../test/support/engine/h2-server.js";
import { stat } from "../../../test/support/engine/h2-client.js";
import type { Engine } from "../engine.js";

const MAX_CONCURRENT_STREAMS = 3;

describe("an HTTP/2 upstream's full connection: requests waiting for a stream are pending", () => {
  let upstream: RawServer;
  let engine: Engine;
  let port: number;
  const held: [RawConnection, number][] = [];

  beforeAll(async () => {
    upstream = await rawH2Server((c, id) => held.push([c, id]), { settings: [[MAX_CONCURRENT_STREAMS, 1]] });
    const breakers = { circuit_breakers: { thresholds: [{ max_connections: 1, max_pending_requests: 1 }] } };
    ({ engine, port } = await startEngine(
      resources(
        [{ match: { prefix: "/" }, route: { cluster: "up" } }],
        [cluster("up", [upstream.port], { http2_protocol_options: {}, ...breakers })],
      ),
    ));
  });
  afterAll(async () => {
    await engine.stop();
    await upstream.close();
  });

  it("counts the one waiting, refuses the one over max_pending_requests (503 UO), then serves the waiting one", async () => {
    const answer = (): void => {
      const [c, id] = held.shift()!;
      c.headers(id, [":status", "200"], false);
      c.data(id, Buffer.from(`ok ${id}`), true);
    };
    const first = get(port, "/1", {}, { agent: false });
    await until(() => held.length === 1); // the connection's one stream is taken
    const second = get(port, "/2", {}, { agent: false });
    await until(() => stat(engine, "cluster.up.upstream_rq_pending_active") === 1);
    expect(stat(engine, "cluster.up.upstream_rq_pending_total")).toBe(1);
    const third: Reply = await get(port, "/3", {}, { agent: false });
    expect(third.status).toBe(503);
    expect(third.headers["x-envoy-overloaded"]).toBe("true");
    expect(stat(engine, "cluster.up.upstream_rq_pending_overflow")).toBe(1);
    answer();
    expect((await first).body).toBe("ok 1");
    await until(() => held.length === 1); // the waiting request got the stream freed
    expect(stat(engine, "cluster.up.upstream_rq_pending_active")).toBe(0);
    answer();
    expect((await second).body).toBe("ok 3");
    expect(upstream.connections.length).toBe(1);
  });
});
