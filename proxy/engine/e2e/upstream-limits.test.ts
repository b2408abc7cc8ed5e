// A cluster's own limits on its upstream connections, as Istio's DestinationRule sets them: HTTP/2's
// max_concurrent_streams (connectionPool.http.maxConcurrentStreams) below what the upstream allows, and
// max_connection_duration (connectionPool.tcp.maxConnectionDuration) after which a connection is not used again; and
// the upstream protocol following the client's (connectionPool.http.useClientProtocol).
import { createServer as createHttpServer } from "node:http";
import { connect as h2connect } from "node:http2";
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from "node:net";
import {
  backend,
  cluster,
  get,
  h2response,
  resources,
  startEngine,
  until,
  type Backend,
} from "../../../test/support/engine/helpers.js";
import { RawConnection, rawH2Server, type RawServer } from "../../../test/support/engine/h2-server.js";
import { stat } from "../../../test/support/engine/h2-client.js";
import type { Engine } from "../engine.js";

describe("a cluster's limits on its upstream connections", () => {
  let h2: RawServer;
  let aged: RawServer;
  let h1: Backend;
  let engine: Engine;
  let port: number;
  const held: [RawConnection, number][] = [];
  const answer = ([c, id]: [RawConnection, number]): void => {
    c.headers(id, [":status", "200"], false);
    c.data(id, Buffer.from(`ok ${id}`), true);
  };

  beforeAll(async () => {
    h2 = await rawH2Server((c, id) => held.push([c, id])); // advertises no limit of its own
    aged = await rawH2Server((c, id) => answer([c, id]));
    h1 = await backend("h1", (req, res) => res.end(String(req.socket.remotePort)));
    const one = { circuit_breakers: { thresholds: [{ max_connections: 1 }] } };
    const duration = (d: string) => ({ common_http_protocol_options: { max_connection_duration: d } });
    ({ engine, port } = await startEngine(
      resources(
        [
          { match: { prefix: "/streams" }, route: { cluster: "streams" } },
          { match: { prefix: "/aged-h2" }, route: { cluster: "aged" } },
          { match: { prefix: "/" }, route: { cluster: "h1" } },
        ],
        [
          cluster("streams", [h2.port], { http2_protocol_options: { max_concurrent_streams: 1 }, ...one }),
          cluster("aged", [aged.port], { http2_protocol_options: {}, ...duration("0.2s") }),
          // Long enough that two requests in a row share the connection, even on a loaded machine.
          cluster("h1", [h1.port], duration("1s")),
        ],
      ),
    ));
  });
  afterAll(async () => {
    await engine.stop();
    await Promise.all([h2.close(), aged.close(), h1.close()]);
  });

  it("opens no more HTTP/2 streams on a connection than max_concurrent_streams, whatever the upstream allows", async () => {
    const first = get(port, "/streams/1", {}, { agent: false });
    await until(() => held.length === 1);
    const second = get(port, "/streams/2", {}, { agent: false });
    // With max_connections 1, the second waits for the one stream rather than open another.
    await until(() => stat(engine, "cluster.streams.upstream_rq_pending_active") === 1);
    expect(held.length).toBe(1);
    answer(held.shift()!);
    expect((await first).status).toBe(200);
    await until(() => held.length === 1);
    answer(held.shift()!);
    expect((await second).status).toBe(200);
    expect(h2.connections.length).toBe(1);
  });

  it("uses an HTTP/1.1 connection past max_connection_duration no more", async () => {
    const before = (await get(port, "/a")).body;
    expect((await get(port, "/b")).body).toBe(before); // pooled, while young
    await until(() => stat(engine, "cluster.h1.upstream_cx_max_duration_reached") === 1);
    expect((await get(port, "/c")).body).not.toBe(before);
  });

  it("drains an HTTP/2 connection past max_connection_duration: the next request gets a new one", async () => {
    expect((await get(port, "/aged-h2/1")).status).toBe(200);
    await until(() => stat(engine, "cluster.aged.upstream_cx_max_duration_reached") === 1);
    expect((await get(port, "/aged-h2/2")).status).toBe(200);
    expect(aged.connections.length).toBe(2);
  });
});

describe("use_downstream_protocol_config (Istio's useClientProtocol)", () => {
  let server: NetServer;
  let engine: Engine;
  let port: number;

  beforeAll(async () => {
    // One port that speaks both: HTTP/2 with prior knowledge (the test's frame-level server), else HTTP/1.1; each
    // answers with the version it got.
    const h1 = createHttpServer((req, res) => res.end(req.httpVersion));
    const h2 = (c: RawConnection, id: number) => {
      c.headers(id, [":status", "200"], false);
      c.data(id, Buffer.from("2.0"), true);
    };
    server = createNetServer((socket) =>
      socket.once("data", (first: Buffer) => {
        socket.pause();
        socket.unshift(first);
        if (first.toString("latin1").startsWith("PRI * HTTP/2.0")) new RawConnection(socket, h2, true, []);
        else h1.emit("connection", socket);
        socket.resume();
      }),
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const options = {
      "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
      use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} },
    };
    ({ engine, port } = await startEngine(
      resources(
        [{ match: { prefix: "/" }, route: { cluster: "both" } }],
        [
          cluster("both", [(server.address() as AddressInfo).port], {
            typed_extension_protocol_options: { "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": options },
          }),
        ],
      ),
    ));
  });
  afterAll(async () => {
    await engine.stop();
    await new Promise((r) => server.close(r));
  });

  it("sends each request upstream in its client's protocol", async () => {
    expect((await get(port, "/")).body).toBe("1.1");
    const session = h2connect(`http://127.0.0.1:${port}`);
    const r = await h2response(session.request({ ":path": "/" }));
    session.close();
    expect(r.body).toBe("2.0");
  });
});
