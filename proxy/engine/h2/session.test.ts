// The HTTP/2 server codec against an independent client: node:http2 (nghttp2) speaks to an H2Session on loopback.
// What a client sees: bodies both ways, many streams on one connection, flow control with a tiny window, trailers,
// resets, and a graceful GOAWAY.
import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from "node:http2";
import { createServer, type AddressInfo, type Server } from "node:net";
import { H2Session, type SessionEvents } from "./session.js";
import { responseFields, type H2RequestHead, type Refusal } from "./fields.js";
import type { H2Stream } from "./stream.js";
import { readAll } from "../../../test/support/engine/body.js";

type Handler = (s: H2Stream, head: H2RequestHead | Refusal) => void;

let server: Server;
let port: number;
let handler: Handler;
const sessions: H2Session[] = [];
const closed: string[] = [];

beforeAll(async () => {
  server = createServer((socket) => {
    const events: SessionEvents = {
      request: (s, h) => handler(s, h),
      streamClosed: (s, code, by) => closed.push(`${s.id}:${code}:${by}`),
      closed: () => undefined,
    };
    sessions.push(
      new H2Session(
        socket,
        { maxConcurrentStreams: 100, maxBodyBytes: 1 << 20, keepaliveMs: 60_000, maxBytes: 8192, maxHeaders: 50 },
        events,
      ),
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  for (const s of sessions) s.destroy();
  await new Promise((r) => server.close(r));
});

function client(settings = {}): ClientHttp2Session {
  const c = connect(`http://127.0.0.1:${port}`, { settings });
  c.on("error", () => undefined);
  return c;
}

interface Answer {
  headers: IncomingHttpHeaders;
  body: Buffer;
  trailers?: IncomingHttpHeaders;
  rst?: number;
}

function call(c: ClientHttp2Session, headers: Record<string, string>, body?: Buffer): Promise<Answer> {
  return new Promise((resolve) => {
    const req = c.request({ ":path": "/", ...headers }, { endStream: body === undefined });
    const parts: Buffer[] = [];
    let h: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders | undefined;
    req.on("response", (x) => (h = x));
    req.on("trailers", (t) => (trailers = t));
    req.on("data", (d: Buffer) => parts.push(d));
    req.on("error", () => undefined);
    req.on("close", () => resolve({ headers: h, body: Buffer.concat(parts), trailers, rst: req.rstCode }));
    if (body !== undefined) req.end(body);
  });
}

/** Echoes the request: its method, path and body, and the x-* fields back as headers. */
const echo: Handler = (s, h) => {
  if ("malformed" in h) return s.reset();
  if ("status" in h) return s.respond(responseFields(h.status, [])!, true);
  const xs = h.headers.filter((_, i) => i % 2 === 0 && h.headers[i]!.startsWith("x-"));
  const fields = responseFields(
    200,
    xs.flatMap((n) => [n, h.headers[h.headers.indexOf(n) + 1]!]),
  )!;
  fields.push("x-method", h.method, "x-path", h.path);
  void readAll(s.body).then((body) => {
    s.respond(fields, false);
    s.write(body);
    s.end();
  });
};

describe("H2Session (server) with node:http2 as the client", () => {
  it("answers requests with bodies both ways, 50 streams at once on one connection", async () => {
    handler = echo;
    const c = client();
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        call(c, { ":method": "POST", ":path": `/p/${i}?q=1`, "x-n": String(i) }, Buffer.alloc(i * 100, i)),
      ),
    );
    answers.forEach((a, i) => {
      expect(a.headers[":status"]).toBe(200);
      expect(a.headers["x-n"]).toBe(String(i));
      expect(a.headers["x-path"]).toBe(`/p/${i}?q=1`);
      expect(a.body.equals(Buffer.alloc(i * 100, i))).toBe(true);
    });
    c.close();
  });

  it("sends a large response within the client's flow-control window (1,000 bytes per stream)", async () => {
    const big = Buffer.alloc(300_000, 7);
    handler = (s) => {
      s.respond(responseFields(200, [])!, false);
      for (let i = 0; i < big.length; i += 50_000) s.write(big.subarray(i, i + 50_000));
      s.end();
    };
    const c = client({ initialWindowSize: 1000 });
    const [a, b] = await Promise.all([call(c, {}), call(c, {})]);
    expect(a.body.equals(big)).toBe(true);
    expect(b.body.equals(big)).toBe(true);
    c.close();
  });

  it("ends a response with trailers, and resets a stream with the code given", async () => {
    handler = (s, h) => {
      if ("method" in h && h.path === "/reset") return s.reset(constants.NGHTTP2_CANCEL);
      s.respond(responseFields(200, ["content-type", "application/grpc"])!, false);
      s.write(Buffer.from("x"));
      s.end(["grpc-status", "0", "grpc-message", "ok"]);
    };
    const c = client();
    const a = await call(c, {});
    expect(a.trailers?.["grpc-status"]).toBe("0");
    expect(a.body.toString()).toBe("x");
    const r = await call(c, { ":path": "/reset" });
    expect(r.rst).toBe(constants.NGHTTP2_CANCEL);
    c.close();
  });

  it("answers 431 to a request over the header limits", async () => {
    handler = echo;
    const c = client();
    const a = await call(c, { "x-big": "v".repeat(9000) });
    expect(a.headers[":status"]).toBe(431);
    c.close();
  });

  it("drains with GOAWAY: the stream in flight completes, the connection then closes", async () => {
    let pending: H2Stream | undefined;
    handler = (s) => (pending = s);
    const c = client();
    const answer = call(c, {});
    while (!pending) await new Promise((r) => setImmediate(r));
    const session = sessions[sessions.length - 1]!;
    const gone = new Promise<number>((r) => c.once("goaway", (code: number) => r(code)));
    session.drain();
    expect(await gone).toBe(constants.NGHTTP2_NO_ERROR);
    pending.respond(responseFields(200, [])!, true);
    expect((await answer).headers[":status"]).toBe(200);
    await new Promise((r) => c.once("close", r));
  });

  it("holds at most twice the body limit of uploads per connection: the newest are refused, the others finish", async () => {
    // The body limit is 1 MiB here: 8 uploads of 768 KiB at once would hold 6 MiB; at 2 MiB the newest are refused.
    const got: number[] = [];
    handler = (s, h) => {
      if (!("method" in h)) return s.reset();
      void readAll(s.body).then((body) => {
        got.push(body.length);
        s.respond(responseFields(200, [])!, true);
      });
    };
    const c = client();
    const part = Buffer.alloc(768 * 1024, 1);
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, () => {
        const r = c.request({ ":method": "POST", ":path": "/" }, { endStream: false });
        r.on("error", () => undefined);
        r.end(part);
        return new Promise<string>((resolve) => {
          r.on("response", (h) => resolve(String(h[":status"])));
          r.on("close", () => resolve(`reset ${r.rstCode}`));
        });
      }),
    );
    const refused = outcomes.filter((o) => o === `reset ${constants.NGHTTP2_REFUSED_STREAM}`).length;
    expect(refused).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o === "200").length + refused).toBe(8);
    expect(got.every((n) => n === part.length)).toBe(true);
    expect(sessions[sessions.length - 1]!.bufferedBytes).toBe(0);
    c.close();
  });
});
