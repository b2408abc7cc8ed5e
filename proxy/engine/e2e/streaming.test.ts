// Request bodies stream through the engine: gRPC client-streaming and bidirectional calls (@grpc/grpc-js both sides),
// an h2 upload to an HTTP/1.1 backend (chunked without a declared length, as is with one), retries and mirrors
// replaying what was kept.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { connect as h2connect, type ClientHttp2Session } from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { cluster, h2response, resources, startEngine, until } from "../../../test/support/engine/helpers.js";
import type { Engine } from "../engine.js";

const identity = (b: Buffer) => b;
const method = (
  path: string,
  requestStream: boolean,
  responseStream: boolean,
): grpc.MethodDefinition<Buffer, Buffer> => ({
  path,
  requestStream,
  responseStream,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
});
const CONCAT = method("/test.Stream/Concat", true, false);
const ECHO = method("/test.Stream/Echo", true, true);

/** A backend that records each request's head and body, and answers 503 to the first `fail` requests. */
interface Recorder {
  server: Server;
  port: number;
  seen: { headers: IncomingMessage["headers"]; body: string; url: string }[];
  heads: number;
  fail: number;
}

async function recorder(): Promise<Recorder> {
  const r: Recorder = { server: createServer(), port: 0, seen: [], heads: 0, fail: 0 };
  r.server.on("request", (req: IncomingMessage, res) => {
    r.heads++;
    const parts: Buffer[] = [];
    req.on("data", (d: Buffer) => parts.push(d));
    req.on("end", () => {
      r.seen.push({ headers: req.headers, body: Buffer.concat(parts).toString(), url: req.url ?? "" });
      res.writeHead(r.fail-- > 0 ? 503 : 200, { "content-type": "text/plain" });
      res.end(`got ${Buffer.concat(parts).length}`);
    });
  });
  await new Promise<void>((ok) => r.server.listen(0, "127.0.0.1", ok));
  r.port = (r.server.address() as AddressInfo).port;
  return r;
}

/** A POST whose HEADERS go first and whose body follows once `ready()` (the backend saw the request) says so. */
function upload(
  session: ClientHttp2Session,
  path: string,
  parts: Buffer[],
  ready: () => Promise<void>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const req = session.request({ ":path": path, ":method": "POST", ...headers }, { endStream: false });
  const response = h2response(req);
  req.write(parts[0]);
  ready().then(
    () => {
      for (const p of parts.slice(1)) req.write(p);
      req.end();
    },
    (err: Error) => req.destroy(err),
  );
  return response;
}

describe("request bodies stream through the engine", () => {
  let grpcServer: grpc.Server;
  let backend: Recorder;
  let shadow: Recorder;
  let engine: Engine;
  let port: number;
  let session: ClientHttp2Session;
  /** The messages the client-streaming handler has received so far. */
  const concatSeen: string[] = [];

  beforeAll(async () => {
    grpcServer = new grpc.Server();
    grpcServer.addService({ concat: CONCAT, echo: ECHO } as grpc.ServiceDefinition, {
      concat: (c: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        concatSeen.length = 0;
        c.on("data", (m: Buffer) => concatSeen.push(m.toString()));
        c.on("end", () => cb(null, Buffer.from(concatSeen.join("+"))));
      },
      echo: (c: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        c.on("data", (m: Buffer) => c.write(Buffer.from(`echo ${m.toString()}`)));
        c.on("end", () => c.end());
      },
    });
    const grpcPort = await new Promise<number>((resolve, reject) =>
      grpcServer.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    backend = await recorder();
    shadow = await recorder();
    const retry = { retry_on: "5xx", num_retries: 2, retry_back_off: { base_interval: "0.001s" } };
    ({ engine, port } = await startEngine(
      resources(
        [
          { match: { prefix: "/test.Stream/" }, route: { cluster: "grpc", timeout: "10s" } },
          { match: { prefix: "/retry" }, route: { cluster: "backend", retry_policy: retry } },
          {
            match: { prefix: "/mirror" },
            route: { cluster: "backend", request_mirror_policies: [{ cluster: "shadow" }] },
          },
          { match: { prefix: "/" }, route: { cluster: "backend" } },
        ],
        [
          cluster("grpc", [grpcPort], { http2_protocol_options: {} }),
          cluster("backend", [backend.port]),
          cluster("shadow", [shadow.port]),
        ],
      ),
    ));
    session = h2connect(`http://127.0.0.1:${port}`);
  });

  afterAll(async () => {
    session.close();
    await engine.stop();
    grpcServer.forceShutdown();
    for (const r of [backend, shadow]) await new Promise((ok) => r.server.close(ok));
  });

  beforeEach(() => {
    for (const r of [backend, shadow]) {
      r.seen.length = 0;
      r.heads = 0;
      r.fail = 0;
    }
  });

  it("carries a gRPC client-streaming call: each message reaches the server as sent, one answer after the end", async () => {
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    let call: grpc.ClientWritableStream<Buffer> | undefined;
    const reply = new Promise<string>((resolve, reject) => {
      call = client.makeClientStreamRequest(CONCAT.path, identity, identity, (err, r) =>
        err ? reject(err) : resolve(r?.toString() ?? ""),
      );
    });
    try {
      for (const [i, m] of ["a", "bb", "ccc"].entries()) {
        call?.write(Buffer.from(m));
        await until(() => concatSeen.length === i + 1); // the server has it before the client's end
      }
      call?.end();
      expect(await reply).toBe("a+bb+ccc");
    } finally {
      call?.cancel();
      client.close();
    }
  });

  it("carries a bidirectional gRPC call whose client waits for each reply before sending the next", async () => {
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const call = client.makeBidiStreamRequest(ECHO.path, identity, identity);
    const replies: string[] = [];
    let next: ((m: string) => void) | undefined;
    call.on("data", (m: Buffer) => {
      replies.push(m.toString());
      next?.(m.toString());
    });
    const reply = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error("no reply within 3 s: the request body isn't streamed")), 3000);
        next = (m) => {
          clearTimeout(t);
          resolve(m);
        };
      });
    try {
      for (const m of ["one", "two", "three"]) {
        const answered = reply();
        call.write(Buffer.from(m));
        expect(await answered).toBe(`echo ${m}`);
      }
      const status = new Promise<number>((resolve) => call.on("status", (s: grpc.StatusObject) => resolve(s.code)));
      call.end();
      expect(await status).toBe(grpc.status.OK);
      expect(replies).toEqual(["echo one", "echo two", "echo three"]);
    } finally {
      call.cancel();
      client.close();
    }
  });

  it("streams an h2 upload without a length to an HTTP/1.1 backend chunked, with every byte", async () => {
    const parts = [Buffer.alloc(1000, "a"), Buffer.alloc(70_000, "b"), Buffer.alloc(5, "c")];
    const r = await upload(session, "/up", parts, () => until(() => backend.heads === 1));
    expect(r).toEqual({ status: 200, body: "got 71005" });
    expect(backend.seen[0]?.headers["transfer-encoding"]).toBe("chunked");
    expect(backend.seen[0]?.headers["content-length"]).toBeUndefined();
    expect(backend.seen[0]?.body).toBe(Buffer.concat(parts).toString());
  });

  it("streams an h2 upload with a declared length to an HTTP/1.1 backend as it is", async () => {
    const parts = [Buffer.alloc(10, "a"), Buffer.alloc(20, "b")];
    const r = await upload(session, "/up", parts, () => until(() => backend.heads === 1), { "content-length": "30" });
    expect(r).toEqual({ status: 200, body: "got 30" });
    expect(backend.seen[0]?.headers["content-length"]).toBe("30");
    expect(backend.seen[0]?.headers["transfer-encoding"]).toBeUndefined();
    expect(backend.seen[0]?.body).toBe("a".repeat(10) + "b".repeat(20));
  });

  it("retries a streamed body (5xx retry_on): the retry carries the whole body", async () => {
    backend.fail = 1;
    const parts = [Buffer.from("first "), Buffer.from("second")];
    const r = await upload(session, "/retry", parts, () => until(() => backend.heads === 1));
    expect(r).toEqual({ status: 200, body: "got 12" });
    expect(backend.seen.map((s) => s.body)).toEqual(["first second", "first second"]);
  });

  it("doesn't retry a body over the replay limit (1 MiB): the first answer is returned, as Envoy", async () => {
    backend.fail = 1;
    const parts = [Buffer.alloc(16_384, "x"), ...Array.from({ length: 80 }, () => Buffer.alloc(16_384, "y"))];
    const r = await upload(session, "/retry", parts, () => until(() => backend.heads === 1));
    expect(r.status).toBe(503);
    expect(backend.seen.length).toBe(1);
    expect(backend.seen[0]?.body.length).toBe(81 * 16_384);
  });

  it("mirrors a streamed body whole", async () => {
    const parts = [Buffer.from("to "), Buffer.from("both")];
    const r = await upload(session, "/mirror", parts, () => until(() => backend.heads === 1 && shadow.heads === 1));
    expect(r).toEqual({ status: 200, body: "got 7" });
    await until(() => shadow.seen.length === 1);
    expect(shadow.seen[0]?.body).toBe("to both");
  });
});
