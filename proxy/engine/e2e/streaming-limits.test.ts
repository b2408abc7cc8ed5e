// A streamed request body meets the timeouts and the replay limit as in Envoy's router: the route timeout counts from
// the request's end; a retry waiting for its backoff when the body outgrows the limit is a 507; a shadow whose
// request is reset mid-body is abandoned; request_timeout and max_stream_duration answer 408 while it still arrives.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ClientHttp2Session, ClientHttp2Stream } from "node:http2";
import { cluster, get, h2response, resources, startEngine, until } from "../../../test/support/engine/helpers.js";
import { open, stat } from "../../../test/support/engine/h2-client.js";
import type { Engine } from "../engine.js";

/** A backend counting heads and what became of each request: answered with its length, or aborted. */
interface Watched {
  server: Server;
  port: number;
  heads: number;
  aborted: number;
  /** Answer 503 at the head, without reading the body. */
  early503: boolean;
  /** Answer 503 (after the body) to this many requests first. */
  fail: number;
}

async function watched(early503 = false): Promise<Watched> {
  const w: Watched = { server: createServer(), port: 0, heads: 0, aborted: 0, early503, fail: 0 };
  w.server.on("request", (req: IncomingMessage, res) => {
    w.heads++;
    req.on("aborted", () => w.aborted++);
    if (w.early503) {
      res.writeHead(503, { connection: "close" });
      return res.end();
    }
    let n = 0;
    req.on("data", (d: Buffer) => (n += d.length));
    req.on("end", () => {
      res.statusCode = w.fail-- > 0 ? 503 : 200;
      res.end(`got ${n}`);
    });
  });
  await new Promise<void>((ok) => w.server.listen(0, "127.0.0.1", ok));
  w.port = (w.server.address() as AddressInfo).port;
  return w;
}

const post = (s: ClientHttp2Session, path: string): ClientHttp2Stream =>
  s.request({ ":method": "POST", ":path": path }, { endStream: false });

describe("streamed request bodies: timeouts and the replay limit", () => {
  let b: Watched;
  let early: Watched;
  let shadow: Watched;
  let engine: Engine;
  let session: ClientHttp2Session;

  beforeAll(async () => {
    [b, early, shadow] = await Promise.all([watched(), watched(true), watched()]);
    const res = resources(
      [
        { match: { prefix: "/slow-upload" }, route: { cluster: "b", timeout: "0.3s" } },
        {
          match: { prefix: "/retry" },
          route: {
            cluster: "early",
            retry_policy: { retry_on: "5xx", num_retries: 1, retry_back_off: { base_interval: "10s" } },
          },
        },
        {
          match: { prefix: "/mirror" },
          route: { cluster: "b", timeout: "0s", request_mirror_policies: [{ cluster: "shadow" }] },
        },
        ...[
          ["/small-buffer", 10],
          ["/big-buffer", 4 * 1024 * 1024],
        ].map(([prefix, limit]) => ({
          match: { prefix },
          per_request_buffer_limit_bytes: limit,
          route: { cluster: "b", retry_policy: { retry_on: "5xx", num_retries: 1 } },
        })),
        {
          match: { prefix: "/duration" },
          route: { cluster: "b", max_stream_duration: { max_stream_duration: "0.3s" } },
        },
        { match: { prefix: "/" }, route: { cluster: "b" } },
      ],
      [cluster("b", [b.port]), cluster("early", [early.port]), cluster("shadow", [shadow.port])],
    );
    const hcm = (res.listeners as { filter_chains: { filters: { typed_config: Record<string, unknown> }[] }[] }[])[0]!
      .filter_chains[0]!.filters[0]!.typed_config;
    hcm.request_timeout = "1s";
    // The backoff drawn is half its ceiling (10 s): a retry is surely still waiting when the body overflows.
    ({ engine } = await startEngine(res, { random: () => 0.5 }));
    session = await open(engine.listenerPort("http"));
  });

  afterAll(async () => {
    session.destroy();
    await engine.stop();
    for (const w of [b, early, shadow]) await new Promise((ok) => w.server.close(ok));
  });

  beforeEach(() => {
    for (const w of [b, early, shadow]) w.heads = w.aborted = w.fail = 0;
  });

  it("counts the route timeout from the request's end, as Envoy: an upload slower than the timeout is answered", async () => {
    const req = post(session, "/slow-upload");
    const response = h2response(req);
    req.write(Buffer.alloc(100, "a"));
    await until(() => b.heads === 1);
    // Twice the route timeout passes while the client is still sending (what is awaited is time itself).
    await new Promise((r) => setTimeout(r, 600));
    req.end(Buffer.alloc(100, "b"));
    expect(await response).toEqual({ status: 200, body: "got 200" });
  });

  it("answers 507 when the body outgrows the replay limit while a retry waits for its backoff", async () => {
    const req = post(session, "/retry");
    const response = h2response(req);
    req.on("error", () => undefined);
    req.write(Buffer.alloc(64 * 1024, "a"));
    await until(() => stat(engine, "cluster.early.upstream_rq_retry") === 1);
    for (let i = 0; i < 70; i++) req.write(Buffer.alloc(16 * 1024, "b")); // past 1 MiB, within the window
    expect(await response).toEqual({ status: 507, body: "exceeded request buffer limit while retrying upstream" });
    expect(early.heads).toBe(1);
    expect(stat(engine, "cluster.early.retry_or_shadow_abandoned")).toBe(1);
  });

  it("abandons a shadow whose client goes away mid-body (no route timeout to end it)", async () => {
    const own = await open(engine.listenerPort("http"));
    const req = post(own, "/mirror");
    req.on("error", () => undefined);
    req.write("part of a body");
    await until(() => b.heads === 1 && shadow.heads === 1);
    own.destroy(); // the connection goes, the body never ended
    await until(() => b.aborted === 1 && shadow.aborted === 1);
    await until(() => stat(engine, "cluster.shadow.upstream_rq_active") === 0);
  });

  it("answers 408 at request_timeout an upload still arriving, its upstream request given up", async () => {
    const before = stat(engine, "http.http.downstream_rq_timeout");
    const req = post(session, "/up");
    const response = h2response(req);
    req.on("error", () => undefined);
    req.write("part of a body, then nothing");
    expect((await response).status).toBe(408);
    expect(stat(engine, "http.http.downstream_rq_timeout")).toBe(before + 1);
    await until(() => b.aborted === 1);
  });

  it("answers 408 at max_stream_duration while the request still arrives (504 once it is whole), flag DT", async () => {
    const req = post(session, "/duration");
    const response = h2response(req);
    req.on("error", () => undefined);
    req.write("part of a body, then nothing");
    expect((await response).status).toBe(408);
    expect(stat(engine, "http.http.downstream_rq_max_duration_reached")).toBe(1);
  });

  it("takes a route's per_request_buffer_limit_bytes as its retry and shadow buffer limit, as Envoy", async () => {
    const port = engine.listenerPort("http");
    const body = (n: number) => ({ method: "POST", body: "x".repeat(n), agent: false as const });
    b.fail = 1; // 20 bytes over a limit of 10: not retried, the 503 is the answer
    expect((await get(port, "/small-buffer", {}, body(20))).status).toBe(503);
    expect(b.heads).toBe(1);
    expect(stat(engine, "cluster.b.retry_or_shadow_abandoned")).toBe(1);
    b.fail = 1; // 1.5 MiB within 4 MiB (over the 1 MiB default): retried
    expect(await get(port, "/big-buffer", {}, body(1536 * 1024))).toMatchObject({ status: 200, body: "got 1572864" });
    expect(b.heads).toBe(3);
  });

  it("drops request trailers on the way to an HTTP/1.1 upstream, as Envoy's codec without enable_trailers", async () => {
    let trailers: IncomingMessage["trailers"] | undefined;
    b.server.once("request", (req: IncomingMessage) => req.once("end", () => (trailers = req.trailers)));
    const req = session.request({ ":method": "POST", ":path": "/up" }, { endStream: false, waitForTrailers: true });
    req.once("wantTrailers", () => req.sendTrailers({ host: "elsewhere", "x-checksum": "1" }));
    const response = h2response(req);
    req.end("body");
    expect(await response).toEqual({ status: 200, body: "got 4" });
    expect(trailers).toEqual({});
  });
});
