// HTTP/2 through the engine: h2c (prior knowledge) to an HTTP/1.1 backend, and gRPC (@grpc/grpc-js) to an HTTP/2
// backend, with trailers and gRPC-style local errors.
import { connect as h2connect, type ClientHttp2Session } from "node:http2";
import * as grpc from "@grpc/grpc-js";
import {
  backend,
  cluster,
  get,
  h2response,
  resources,
  ROUTER,
  startEngine,
  type Backend,
} from "../../../test/support/engine/helpers.js";
import type { Engine } from "../engine.js";

const T = "type.googleapis.com/envoy.extensions.filters.http";
const FAULT = { name: "envoy.filters.http.fault", typed_config: { "@type": `${T}.fault.v3.HTTPFault` } };
const identity = (b: Buffer) => b;
const SAY: grpc.MethodDefinition<Buffer, Buffer> = {
  path: "/test.Echo/Say",
  requestStream: false,
  responseStream: false,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
};

function h2get(session: ClientHttp2Session, path: string, body?: string): Promise<{ status: number; body: string }> {
  const req = session.request({ ":path": path, ":method": body ? "POST" : "GET" }, { endStream: !body });
  const response = h2response(req);
  if (body) req.end(body);
  return response;
}

function call(
  client: grpc.Client,
  text: string,
  metadata = new grpc.Metadata(),
): Promise<{ reply?: string; code: number; trailer?: string }> {
  return new Promise((resolve) => {
    let reply: string | undefined;
    const c = client.makeUnaryRequest(
      SAY.path,
      identity,
      identity,
      Buffer.from(text),
      metadata,
      (_err, r) => (reply = r?.toString()),
    );
    // The status (with the trailers) is the call's last event.
    c.on("status", (s: grpc.StatusObject) =>
      setImmediate(() => resolve({ reply, code: s.code, trailer: s.metadata.get("x-trailer")[0]?.toString() })),
    );
  });
}

describe("HTTP/2 and gRPC through the engine", () => {
  let http1: Backend;
  let never: Backend;
  let grpcServer: grpc.Server;
  let engine: Engine;
  let port: number;

  beforeAll(async () => {
    http1 = await backend("h1");
    never = await backend("never", () => undefined); // never answers
    grpcServer = new grpc.Server();
    grpcServer.addService({ say: SAY } as grpc.ServiceDefinition, {
      say: (callArg: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        // An error before any message: grpc-js answers it trailers-only (one HEADERS frame, END_STREAM).
        if (callArg.request.toString() === "fail") return cb({ code: grpc.status.NOT_FOUND, details: "no such thing" });
        const md = new grpc.Metadata();
        md.set("x-trailer", "t1");
        cb(null, Buffer.from(`echo:${callArg.request.toString()}`), md);
      },
    });
    const grpcPort = await new Promise<number>((resolve, reject) =>
      grpcServer.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    ({ engine, port } = await startEngine(
      resources(
        [
          {
            match: { prefix: "/test.Echo/", headers: [{ name: "x-fault", present_match: true }] },
            route: { cluster: "grpc" },
            typed_per_filter_config: {
              "envoy.filters.http.fault": {
                "@type": `${T}.fault.v3.HTTPFault`,
                abort: { grpc_status: 8, percentage: { numerator: 100 } },
              },
            },
          },
          { match: { prefix: "/test.Echo/" }, route: { cluster: "grpc", timeout: "5s" } },
          { match: { prefix: "/missing.Service/" }, direct_response: { status: 404 } },
          { match: { prefix: "/direct" }, direct_response: { status: 503, body: { inline_string: "back soon" } } },
          { match: { prefix: "/nothing" }, direct_response: { status: 204, body: { inline_string: "ignored" } } },
          // The shape proxyless gRPC reads: the request's grpc-timeout limits the stream, uncapped.
          {
            match: { prefix: "/slow.Service/" },
            route: {
              cluster: "never",
              timeout: "0s",
              max_stream_duration: { max_stream_duration: "0s", grpc_timeout_header_max: "0s" },
            },
          },
          { match: { prefix: "/" }, route: { cluster: "h1" } },
        ],
        [
          cluster("h1", [http1.port]),
          cluster("never", [never.port]),
          cluster("grpc", [grpcPort], { http2_protocol_options: {} }),
        ],
        [FAULT, ROUTER],
      ),
    ));
  });
  afterAll(async () => {
    await engine.stop();
    await http1.close();
    await never.close();
    grpcServer.forceShutdown();
  });

  it("serves h2c (prior knowledge) in front of an HTTP/1.1 backend, bodies both ways", async () => {
    const session = h2connect(`http://127.0.0.1:${port}`);
    const r = await h2get(session, "/hello?x=1");
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ name: "h1", url: "/hello?x=1" });
    const p = await h2get(session, "/post", "payload");
    expect(JSON.parse(p.body).body).toBe("payload");
    const many = await Promise.all(Array.from({ length: 50 }, (_, i) => h2get(session, `/m${i}`)));
    expect(many.every((m, i) => JSON.parse(m.body).url === `/m${i}`)).toBe(true);
    session.close();
  });

  it("answers HEAD, and a 204, with no content: a local reply's body isn't sent (nghttp2 resets such a stream)", async () => {
    const session = h2connect(`http://127.0.0.1:${port}`);
    const ask = (method: string, path: string): Promise<{ status: number; body: string; rst: number | undefined }> =>
      new Promise((resolve) => {
        const req = session.request({ ":path": path, ":method": method });
        let status = 0;
        let body = "";
        req.on("response", (h) => (status = Number(h[":status"])));
        req.on("data", (d: Buffer) => (body += d.toString()));
        req.on("error", () => undefined);
        req.on("close", () => resolve({ status, body, rst: req.rstCode }));
      });
    expect(await ask("HEAD", "/direct")).toEqual({ status: 503, body: "", rst: 0 });
    expect(await ask("GET", "/direct")).toEqual({ status: 503, body: "back soon", rst: 0 });
    expect(await ask("GET", "/nothing")).toEqual({ status: 204, body: "", rst: 0 });
    const upstream = await ask("HEAD", "/hello");
    expect([upstream.status, upstream.rst]).toEqual([200, 0]);
    session.close();
  });

  it("proxies gRPC unary calls to an HTTP/2 backend, trailers included", async () => {
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => call(client, `hi${i}`)));
    expect(results.map((r) => r.reply)).toEqual(Array.from({ length: 20 }, (_, i) => `echo:hi${i}`));
    expect(results.map((r) => [r.code, r.trailer])).toEqual(results.map(() => [0, "t1"]));
    client.close();
  });

  it("passes a backend's trailers-only gRPC error on with its status", async () => {
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const status = await new Promise<grpc.StatusObject>((resolve) => {
      const c = client.makeUnaryRequest(SAY.path, identity, identity, Buffer.from("fail"), () => undefined);
      c.on("status", resolve);
    });
    expect([status.code, status.details]).toEqual([grpc.status.NOT_FOUND, "no such thing"]);
    client.close();
  });

  it("ends a gRPC call at its grpc-timeout with DEADLINE_EXCEEDED when the route reads it", async () => {
    const session = h2connect(`http://127.0.0.1:${port}`);
    const started = Date.now();
    const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const req = session.request({
        ":path": "/slow.Service/Call",
        ":method": "POST",
        "content-type": "application/grpc",
        "grpc-timeout": "150m",
      });
      req.on("response", resolve).on("error", reject);
      req.end(Buffer.alloc(5));
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(145);
    expect([headers[":status"], headers["grpc-status"], headers["grpc-message"]]).toEqual([
      200,
      "4",
      "downstream%20duration%20timeout",
    ]);
    session.close();
  });

  it("answers gRPC clients with grpc-status on local errors and fault aborts", async () => {
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const md = new grpc.Metadata();
    md.set("x-fault", "1");
    expect((await call(client, "x", md)).code).toBe(grpc.status.RESOURCE_EXHAUSTED); // grpc_status 8
    const missing = await new Promise<number>((resolve) =>
      client.makeUnaryRequest("/missing.Service/Call", identity, identity, Buffer.from("x"), (err) =>
        resolve(err?.code ?? 0),
      ),
    );
    expect(missing).toBe(grpc.status.UNIMPLEMENTED);
    client.close();
  });

  it("labels gRPC traffic request_protocol=grpc with its grpc_response_status", async () => {
    const text = (await get(engine.ports.stats, "/stats/prometheus")).body;
    const grpcLines = text
      .split("\n")
      .filter((l) => l.startsWith("istio_requests_total{") && l.includes('request_protocol="grpc"'));
    expect(grpcLines.some((l) => l.includes('grpc_response_status="0"') && l.includes('response_code="200"'))).toBe(
      true,
    );
    // A fault abort never goes upstream, yet it counts against the route's cluster (chosen as the route matched).
    expect(grpcLines.some((l) => l.includes('response_flags="FI"') && l.includes('destination_service="grpc"'))).toBe(
      true,
    );
    expect(grpcLines.some((l) => l.includes('grpc_response_status="8"') && l.includes('response_flags="FI"'))).toBe(
      true,
    );
    expect(grpcLines.some((l) => l.includes('grpc_response_status="12"'))).toBe(true);
  });
});
