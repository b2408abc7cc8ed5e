// gRPC-Web through the engine's grpc_web filter to a real gRPC server (@grpc/grpc-js): the calls a browser's
// grpc-web library makes (binary and base64 text, unary and server streaming), over HTTP/1.1 and HTTP/2, and the
// answers that aren't gRPC (a local reply, a body that isn't base64) turned into a grpc-status the library reads.
import { connect as h2connect } from "node:http2";
import * as grpc from "@grpc/grpc-js";
import * as grpcWeb from "grpc-web";
import XHR from "xhr2";
import { cluster, resources, ROUTER, startEngine } from "../../../test/support/engine/helpers.js";
import type { Engine } from "../engine.js";

const GRPC_WEB = {
  name: "envoy.filters.http.grpc_web",
  typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.grpc_web.v3.GrpcWeb" },
};
const identity = (b: Buffer) => b;
const method = (path: string, responseStream: boolean): grpc.MethodDefinition<Buffer, Buffer> => ({
  path,
  requestStream: false,
  responseStream,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
});

/** A gRPC message frame (or, flag 0x80, gRPC-Web's trailers frame). */
function frame(msg: string, flag = 0): Buffer {
  const body = Buffer.from(msg);
  const f = Buffer.alloc(5 + body.length);
  f[0] = flag;
  f.writeUInt32BE(body.length, 1);
  body.copy(f, 5);
  return f;
}

/** The frames of a gRPC-Web response body: messages as text, the trailers frame as "trailers:<its text>". */
function frames(body: Buffer): string[] {
  const out: string[] = [];
  for (let at = 0; at < body.length;) {
    const len = body.readUInt32BE(at + 1);
    const text = body.toString("latin1", at + 5, at + 5 + len);
    out.push(body[at] === 0x80 ? `trailers:${text}` : text);
    at += 5 + len;
  }
  return out;
}

/** A message for grpc-web's client: its text, (de)serialised as its UTF-8 bytes. */
class Msg {
  text = "";
}
const msg = (text: string) => Object.assign(new Msg(), { text });

/** The browser library's client (grpc-web, Google's), on xhr2's XMLHttpRequest as its own tests run it. */
function webClient(format: "text" | "binary") {
  (globalThis as { XMLHttpRequest?: unknown }).XMLHttpRequest = XHR;
  const client = new grpcWeb.GrpcWebClientBase({ format });
  const descriptor = (name: string, type: string) =>
    new grpcWeb.MethodDescriptor<Msg, Msg>(
      name,
      type,
      Msg,
      Msg,
      (m: Msg) => new Uint8Array(Buffer.from(m.text)),
      (b: Uint8Array) => msg(Buffer.from(b).toString()),
    );
  return {
    say: async (base: string, text: string) =>
      (
        await client.unaryCall(
          `${base}/test.Echo/Say`,
          msg(text),
          {},
          descriptor("/test.Echo/Say", grpcWeb.MethodType.UNARY),
        )
      ).text,
    count: (base: string, n: number) =>
      new Promise<{ messages: string[]; code: number }>((resolve, reject) => {
        const messages: string[] = [];
        const stream = client.serverStreaming(
          `${base}/test.Echo/Count`,
          msg(String(n)),
          {},
          descriptor("/test.Echo/Count", grpcWeb.MethodType.SERVER_STREAMING),
        );
        stream.on("data", (m) => messages.push(m.text));
        stream.on("status", (st) => resolve({ messages, code: st.code }));
        stream.on("error", reject);
      }),
  };
}

/** Decodes a text-mode body as grpc-web's client does: each group of four, so padding may end any frame. */
function decodeText(text: string): Buffer {
  return Buffer.concat((text.match(/.{4}/g) ?? []).map((g) => Buffer.from(g, "base64")));
}

describe("gRPC-Web through the grpc_web filter", () => {
  let grpcServer: grpc.Server;
  let engine: Engine;
  let port: number;
  let url: string;

  beforeAll(async () => {
    grpcServer = new grpc.Server();
    const say = method("/test.Echo/Say", false);
    const count = method("/test.Echo/Count", true);
    grpcServer.addService({ say, count } as grpc.ServiceDefinition, {
      say: (c: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        if (c.request.toString() === "fail") return cb({ code: grpc.status.NOT_FOUND, details: "no such thing" });
        const md = new grpc.Metadata();
        md.set("x-trailer", "t1");
        cb(null, Buffer.from(`echo:${c.request.toString()}`), md);
      },
      count: (c: grpc.ServerWritableStream<Buffer, Buffer>) => {
        for (let i = 1; i <= Number(c.request.toString()); i++) c.write(Buffer.from(`n${i}`));
        c.end();
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
          { match: { prefix: "/test.Echo/" }, route: { cluster: "grpc", timeout: "5s" } },
          { match: { prefix: "/gone.Service/" }, route: { cluster: "none" } },
        ],
        [cluster("grpc", [grpcPort], { http2_protocol_options: {} })],
        [GRPC_WEB, ROUTER],
      ),
    ));
    url = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await engine.stop();
    grpcServer.forceShutdown();
  });

  const post = (path: string, body: Buffer | string, type: string, accept = type) =>
    fetch(`${url}${path}`, {
      method: "POST",
      headers: { "content-type": type, accept, "x-grpc-web": "1" },
      body,
    });

  it.each(["text", "binary"] as const)("serves Google's grpc-web client library (%s mode)", async (format) => {
    const client = webClient(format);
    expect(await client.say(url, "browser")).toBe("echo:browser");
    expect(await client.count(url, 3)).toEqual({ messages: ["n1", "n2", "n3"], code: 0 });
    await expect(client.say(url, "fail")).rejects.toMatchObject({ code: 5, message: "no such thing" });
  });

  it("answers a binary unary call with its message and the trailers as the last frame", async () => {
    const r = await post("/test.Echo/Say", frame("hi"), "application/grpc-web+proto");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/grpc-web+proto");
    const [msg, trailers] = frames(Buffer.from(await r.arrayBuffer()));
    expect(msg).toBe("echo:hi");
    expect(trailers).toMatch(/^trailers:/);
    expect(trailers).toContain("grpc-status:0\r\n");
    expect(trailers).toContain("x-trailer:t1\r\n");
  });

  it("decodes a base64 request and base64-encodes each frame of a server stream", async () => {
    const body = frame("3").toString("base64");
    const r = await post("/test.Echo/Count", body, "application/grpc-web-text");
    expect(r.headers.get("content-type")).toBe("application/grpc-web-text+proto");
    const text = await r.text();
    expect(frames(decodeText(text))).toEqual(["n1", "n2", "n3", expect.stringContaining("grpc-status:0")]);
    // Each frame encoded on its own: a 7-byte frame ends in padding.
    expect(text.startsWith(frame("n1").toString("base64"))).toBe(true);
  });

  it("passes a trailers-only error in the headers, where grpc-web reads it", async () => {
    const r = await post("/test.Echo/Say", frame("fail"), "application/grpc-web+proto");
    // grpc-js percent-encodes its message (spaces too); grpc-web decodes it.
    expect([r.status, r.headers.get("grpc-status"), decodeURIComponent(r.headers.get("grpc-message") ?? "")]).toEqual([
      200,
      "5",
      "no such thing",
    ]);
    expect(r.headers.get("content-type")).toBe("application/grpc-web+proto");
  });

  it("turns a reply that isn't gRPC into grpc-status and grpc-message, with no body", async () => {
    const r = await post("/gone.Service/Any", frame("x"), "application/grpc-web+proto");
    expect([r.status, r.headers.get("grpc-status"), r.headers.get("grpc-message")]).toEqual([
      503,
      "14",
      "cluster not found",
    ]);
    expect(await r.text()).toBe("");
  });

  it("refuses a text body that isn't base64, as gRPC's INTERNAL", async () => {
    const r = await post("/test.Echo/Say", "AAAA AAAA", "application/grpc-web-text");
    expect([r.status, r.headers.get("grpc-status"), r.headers.get("grpc-message")]).toEqual([
      400,
      "13",
      "Bad gRPC-web request, invalid base64 data.",
    ]);
  });

  it("serves a gRPC-Web call over HTTP/2 and leaves plain gRPC calls alone", async () => {
    const session = h2connect(url);
    const r = await new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
      const req = session.request({
        ":method": "POST",
        ":path": "/test.Echo/Say",
        "content-type": "application/grpc-web-text",
        accept: "application/grpc-web-text",
      });
      const chunks: Buffer[] = [];
      let headers: Record<string, unknown> = {};
      req.on("response", (h) => (headers = h));
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => resolve({ headers, body: Buffer.concat(chunks) }));
      req.on("error", reject);
      req.end(frame("h2").toString("base64"));
    });
    session.close();
    expect(r.headers["content-type"]).toBe("application/grpc-web-text+proto");
    expect(frames(decodeText(r.body.toString("latin1")))).toEqual([
      "echo:h2",
      expect.stringContaining("grpc-status:0"),
    ]);

    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const reply = await new Promise<string | undefined>((resolve) =>
      client.makeUnaryRequest("/test.Echo/Say", identity, identity, Buffer.from("plain"), (_e, v) =>
        resolve(v?.toString()),
      ),
    );
    client.close();
    expect(reply).toBe("echo:plain");
  });
});
