// The HTTP/2 server codec against a hostile client speaking raw frames on loopback: what one connection can make
// the process hold or compute must stay bounded, whatever the frames (CONTINUATION floods, DATA cut into slivers,
// header blocks of references to one large entry, a client that never reads its answers).
import { createServer, connect, type AddressInfo, type Server, type Socket } from "node:net";
import { PREFACE, frame } from "../../../hack/bench/h2-call.js";
import { H2Session } from "./session.js";
import type { H2RequestHead, Refusal } from "./fields.js";
import type { H2Stream } from "./stream.js";

type Handler = (s: H2Stream, head: H2RequestHead | Refusal) => void;

let server: Server;
let port: number;
const handler: Handler = () => undefined;
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
const HEADERS = 1;
const CONTINUATION = 9;

/** A GET's header block: :method GET, :scheme http, :path / from the static table. */
const GET = Buffer.from([0x82, 0x86, 0x84]);

describe("H2Session: a hostile client's frames", () => {
  it("ends a header block that grows by empty CONTINUATION frames with ENHANCE_YOUR_CALM", async () => {
    const c = await raw();
    const got = received(c, 2000);
    c.write(Buffer.concat([PREFACE, frame(4, 0, 0), frame(HEADERS, 0, 1, GET)])); // no END_HEADERS
    c.write(Buffer.concat(Array.from({ length: 20_000 }, () => frame(CONTINUATION, 0, 1))));
    const goaway = frames(await got).find(([type]) => type === GOAWAY);
    expect(goaway?.[3].readUInt32BE(4)).toBe(11); // ENHANCE_YOUR_CALM
    c.destroy();
  });
});
