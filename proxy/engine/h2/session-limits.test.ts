// The HTTP/2 server codec against a hostile client speaking raw frames on loopback: what one connection can make
// the process hold or compute must stay bounded, whatever the frames (CONTINUATION floods, DATA cut into slivers,
// header blocks of references to one large entry, a client that never reads its answers).
import { createServer, connect, type AddressInfo, type Server, type Socket } from "node:net";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { PREFACE, frame } from "../../../hack/bench/h2-call.js";
import { H2Session } from "./session.js";
import { HpackEncoder } from "./hpack.js";
import { responseFields, type H2RequestHead, type Refusal } from "./fields.js";
import type { H2Stream } from "./stream.js";

type Handler = (s: H2Stream, head: H2RequestHead | Refusal) => void;

let server: Server;
let port: number;
let handler: Handler = () => undefined;
const sessions: H2Session[] = [];

beforeAll(async () => {
  server = createServer((socket) => {
    const opts = { maxConcurrentStreams: 100, maxBodyBytes: 8 << 20, keepaliveMs: 60_000 };
    const events = {
      request: (s: H2Stream, h: H2RequestHead | Refusal) => handler(s, h),
      streamClosed() {},
      closed() {},
    };
    sessions.push(new H2Session(socket, { ...opts, maxBytes: 60 * 1024, maxHeaders: 100 }, events));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  for (const s of sessions) s.destroy();
  await new Promise((r) => server.close(r));
});

function raw(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port }, () => resolve(s));
    s.once("error", reject);
  });
}

/** What the server sends until it closes its side, or until `ms` have passed. */
function received(s: Socket, ms: number): Promise<Buffer> {
  const got: Buffer[] = [];
  s.on("data", (d: Buffer) => got.push(d));
  return new Promise((resolve) => {
    const done = (): void => resolve(Buffer.concat(got));
    s.once("end", done);
    s.once("close", done);
    setTimeout(done, ms);
  });
}

/** The frames in `b`, as [type, flags, stream, payload]. */
function frames(b: Buffer): [number, number, number, Buffer][] {
  const out: [number, number, number, Buffer][] = [];
  for (let p = 0; p + 9 <= b.length;) {
    const n = b.readUIntBE(p, 3);
    out.push([b[p + 3]!, b[p + 4]!, b.readUInt32BE(p + 5), b.subarray(p + 9, p + 9 + n)]);
    p += 9 + n;
  }
  return out;
}

const GOAWAY = 7;
const RST_STREAM = 3;
const HEADERS = 1;
const CONTINUATION = 9;

function session(): H2Session {
  return sessions[sessions.length - 1] as H2Session;
}

/** A GET's header block: :method GET, :scheme http, :path / from the static table. */
const GET = Buffer.from([0x82, 0x86, 0x84]);

let collect: () => void;
beforeAll(() => {
  setFlagsFromString("--expose-gc");
  collect = runInNewContext("gc") as () => void;
});

/** Two collections a moment apart: the first finds buffers dead, the second completes freeing their memory. */
async function gc(): Promise<void> {
  collect();
  await new Promise((r) => setTimeout(r, 50));
  collect();
}

describe("H2Session: a hostile client's frames", () => {
  it("ends a header block that grows by empty CONTINUATION frames with ENHANCE_YOUR_CALM", async () => {
    const c = await raw();
    const got = received(c, 2000);
    c.write(Buffer.concat([PREFACE, frame(4, 0, 0), frame(HEADERS, 0, 1, GET)])); // no END_HEADERS
    // One byte each (empty ones end the connection sooner, as a flood of empty frames: see below).
    c.write(Buffer.concat(Array.from({ length: 20_000 }, () => frame(CONTINUATION, 0, 1, Buffer.from([0x82])))));
    const goaway = frames(await got).find(([type]) => type === GOAWAY);
    expect(goaway?.[3].readUInt32BE(4)).toBe(11); // ENHANCE_YOUR_CALM
    c.destroy();
  });

  it("closes a connection on two empty DATA frames in a row (Envoy's max_consecutive_inbound_frames_with_empty_payload, 1)", async () => {
    let served = 0;
    handler = (s, h) => {
      served++;
      s.respond(responseFields("status" in h ? h.status : 200, [])!, true);
    };
    // One empty frame passes (its run is broken by the next non-empty one), and the request is served.
    const ok = await raw();
    const fine = received(ok, 1000);
    ok.write(Buffer.concat([PREFACE, frame(4, 0, 0), frame(HEADERS, 0x4, 1, GET), frame(0, 0, 1)]));
    ok.write(Buffer.concat([frame(0, 0, 1, Buffer.from("x")), frame(0, 0, 1), frame(0, 0x1, 1, Buffer.from("y"))]));
    expect(frames(await fine).some(([type]) => type === GOAWAY)).toBe(false);
    expect(served).toBe(1);
    ok.destroy();
    const c = await raw();
    const got = received(c, 2000);
    c.write(Buffer.concat([PREFACE, frame(4, 0, 0), frame(HEADERS, 0x4, 1, GET)]));
    c.write(Buffer.concat(Array.from({ length: 1000 }, () => frame(0, 0, 1))));
    const goaway = frames(await got).find(([type]) => type === GOAWAY);
    expect(goaway?.[3].readUInt32BE(4)).toBe(1); // PROTOCOL_ERROR
    expect(served).toBe(1);
    c.destroy();
  });

  it("holds a body's bytes, not the socket reads they arrived in (1-byte DATA frames among 60 KB of others)", async () => {
    let got: H2Stream | undefined;
    handler = (s) => (got = s); // the request is held, unanswered, as the engine holds one in flight
    const c = await raw();
    c.on("data", () => undefined);
    c.write(Buffer.concat([PREFACE, frame(4, 0, 0), frame(HEADERS, 0x4, 1, GET)]));
    const filler = Buffer.concat(Array.from({ length: 4 }, () => frame(0xfa, 0, 0, Buffer.alloc(15_000)))); // ignored
    await gc();
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 1000; i++) {
      const end = i === 999 ? 0x1 : 0;
      if (!c.write(Buffer.concat([frame(0, end, 1, Buffer.from("x")), filler])))
        await new Promise((r) => c.once("drain", r));
    }
    while (!got?.body?.ended) await new Promise((r) => setTimeout(r, 5));
    await gc();
    const held = process.memoryUsage().arrayBuffers - before;
    expect(got.received).toBe(1000);
    expect(held).toBeLessThan(2 << 20); // 60 MB went through, 1,000 bytes of it body
    expect(got.body.whole().toString()).toBe("x".repeat(1000));
    c.destroy();
  });

  it("spends little on a header block of references to one large entry: 431, not 500 MB of checks", async () => {
    const answers: number[] = [];
    handler = (s, h) => {
      answers.push("status" in h ? h.status : 200);
      s.respond(responseFields("status" in h ? h.status : 200, [])!, true);
    };
    // A literal with incremental indexing (a new name, a 4,000-byte value), then 130,000 one-byte references to it.
    const literal = Buffer.concat([Buffer.from([0x40, 3]), Buffer.from("x-a"), Buffer.from([0x7f, 0xa1, 0x1e])]);
    const block = Buffer.concat([GET, literal, Buffer.alloc(4000, 0x76), Buffer.alloc(130_000, 0xbe)]);
    const c = await raw();
    const got = received(c, 3000);
    const out = [PREFACE, frame(4, 0, 0)];
    for (let at = 0; at < block.length; at += 16384) {
      const last = at + 16384 >= block.length ? 0x4 : 0;
      out.push(frame(at ? CONTINUATION : HEADERS, last | (at ? 0 : 0x1), 1, block.subarray(at, at + 16384)));
    }
    const cpu = process.cpuUsage();
    c.write(Buffer.concat(out));
    while (!answers.length) await new Promise((r) => setTimeout(r, 5));
    const spent = process.cpuUsage(cpu);
    expect(answers).toEqual([431]);
    expect((spent.user + spent.system) / 1000).toBeLessThan(150); // ms; every field checked took ~600
    c.destroy();
    await got;
  });

  it("spends little on trailers of references to one large entry, and resets the stream", async () => {
    handler = () => undefined;
    const literal = Buffer.concat([Buffer.from([0x40, 3]), Buffer.from("x-a"), Buffer.from([0x7f, 0xa1, 0x1e])]);
    const block = Buffer.concat([literal, Buffer.alloc(4000, 0x76), Buffer.alloc(130_000, 0xbe)]);
    const c = await raw();
    const got: Buffer[] = [];
    c.on("data", (d: Buffer) => got.push(d));
    const out = [PREFACE, frame(4, 0, 0), frame(HEADERS, 0x4, 1, GET)]; // a request whose body is to come
    for (let at = 0; at < block.length; at += 16384) {
      const last = at + 16384 >= block.length ? 0x4 : 0;
      out.push(frame(at ? CONTINUATION : HEADERS, last | (at ? 0 : 0x1), 1, block.subarray(at, at + 16384)));
    }
    const cpu = process.cpuUsage();
    c.write(Buffer.concat(out));
    const reset = (): boolean => frames(Buffer.concat(got)).some(([type, , id]) => type === RST_STREAM && id === 1);
    const started = Date.now();
    while (!reset() && Date.now() - started < 3000) await new Promise((r) => setTimeout(r, 5));
    const spent = process.cpuUsage(cpu);
    expect(reset()).toBe(true);
    expect((spent.user + spent.system) / 1000).toBeLessThan(150);
    c.destroy();
  });

  it("stops reading while the client doesn't read its answers, and answers every request once it does", async () => {
    const body = Buffer.alloc(1000, 0x61);
    let handled = 0;
    handler = (s) => {
      handled++;
      s.respond(responseFields(200, ["content-type", "text/plain"])!, false);
      s.write(body);
      s.end();
    };
    const c = await raw();
    c.pause(); // reads nothing for now
    const enc = new HpackEncoder();
    const window = Buffer.alloc(4);
    window.writeUInt32BE(2 ** 31 - 1 - 65535);
    c.write(Buffer.concat([PREFACE, frame(4, 0, 0), frame(8, 0, 0, window)]));
    const total = 40_000;
    for (let id = 1; id < 2 * total; id += 2 * 500) {
      const batch = [];
      for (let i = id; i < id + 2 * 500; i += 2)
        batch.push(frame(HEADERS, 0x5, i, enc.encode([":method", "GET", ":scheme", "http", ":path", "/"])));
      c.write(Buffer.concat(batch));
      await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setTimeout(r, 300));
    const queued = session().socket.writableLength;
    expect(handled).toBeLessThan(total);
    expect(queued).toBeLessThan(1 << 20); // every answer queued would be 40 MB
    c.on("data", () => undefined);
    c.resume();
    const started = Date.now();
    while (handled < total && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 10));
    expect(handled).toBe(total);
    c.destroy();
  }, 30_000);

  it("ignores DATA still in flight on a stream it reset long ago (256 streams since), not a connection error", async () => {
    handler = (s) => s.respond(responseFields(200, [])!, true);
    const c = await raw();
    const got: Buffer[] = [];
    c.on("data", (d: Buffer) => got.push(d));
    const self = Buffer.from([0, 0, 0, 1, 16]); // PRIORITY depending on itself: the server resets stream 1
    const enc = new HpackEncoder();
    const get = (): Buffer => enc.encode([":method", "GET", ":scheme", "http", ":path", "/"]);
    const out = [PREFACE, frame(4, 0, 0), frame(HEADERS, 0x4, 1, get()), frame(2, 0, 1, self)];
    for (let id = 3; id < 3 + 2 * 300; id += 2) out.push(frame(HEADERS, 0x5, id, get())); // 300 answered
    c.write(Buffer.concat(out));
    const answered = (): number =>
      frames(Buffer.concat(got)).filter(([type, flags]) => type === HEADERS && flags & 1).length;
    while (answered() < 300) await new Promise((r) => setTimeout(r, 5));
    // The client's upload on stream 1 was in flight when the reset reached it; then it asks once more.
    c.write(Buffer.concat([frame(0, 0, 1, Buffer.alloc(100)), frame(HEADERS, 0x5, 603, get())]));
    while (answered() < 301 && !frames(Buffer.concat(got)).some(([type]) => type === GOAWAY))
      await new Promise((r) => setTimeout(r, 5));
    expect(frames(Buffer.concat(got)).filter(([type]) => type === GOAWAY)).toEqual([]);
    expect(answered()).toBe(301);
    c.destroy();
  });

  it("reads no more frames once the connection is destroyed (rapid reset's close, mid-read)", async () => {
    let handled = 0;
    handler = () => {
      if (++handled === 10) session().destroy(); // as H2Listener does on too many premature resets
    };
    const c = await raw();
    const closed = received(c, 2000);
    const enc = new HpackEncoder();
    const out = [PREFACE, frame(4, 0, 0)];
    for (let id = 1; id < 200; id += 2)
      out.push(frame(HEADERS, 0x5, id, enc.encode([":method", "GET", ":scheme", "http", ":path", "/"])));
    c.write(Buffer.concat(out)); // 100 requests in one read
    await closed;
    expect(handled).toBe(10);
  });
});
