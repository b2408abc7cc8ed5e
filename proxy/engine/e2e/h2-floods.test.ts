// Cheap-frame floods through the engine's h2c listener, as Envoy's http2 flood protections: a client that sends PINGs
// without reading the acks (max_outbound_control_frames), PRIORITY frames (max_inbound_priority_frames_per_stream) or
// WINDOW_UPDATE frames for nothing (max_inbound_window_update_frames_per_data_frame_sent) is cut off and counted; a
// client that pings a few times, or reads a large response, is not.
import type { Socket } from "node:net";
import {
  backend,
  cluster,
  get,
  resources,
  startEngine,
  until,
  type Backend,
} from "../../../test/support/engine/helpers.js";
import type { Engine } from "../engine.js";
import { PREFACE, frame } from "../../../hack/bench/h2-call.js";
import { HpackEncoder } from "../h2/hpack.js";
import { open, raw, stat as statOf } from "../../../test/support/engine/h2-client.js";
import { rawH2Server, type RawServer } from "../../../test/support/engine/h2-server.js";

const HEADERS = 1;
const PRIORITY = 2;
const SETTINGS = 4;
const PING = 6;
const GOAWAY = 7;
const WINDOW_UPDATE = 8;
const ENHANCE_YOUR_CALM = 11;

/** The GOAWAY's error code among what the server sent until it closed its side. */
function goawayCode(s: Socket): Promise<number | undefined> {
  const got: Buffer[] = [];
  s.on("data", (d: Buffer) => got.push(d));
  return new Promise((resolve) =>
    s.once("end", () => {
      const b = Buffer.concat(got);
      for (let p = 0; p + 9 <= b.length; p += 9 + b.readUIntBE(p, 3))
        if (b[p + 3] === GOAWAY) return resolve(b.readUInt32BE(p + 13));
      resolve(undefined);
    }),
  );
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

describe("HTTP/2 floods", () => {
  let b: Backend;
  let engine: Engine;
  let port: number;
  const stat = (name: string): number => statOf(engine, name);

  beforeAll(async () => {
    b = await backend("b", (req, res) => res.end(req.url === "/big" ? Buffer.alloc(4 << 20, 0x61) : "ok"));
    ({ engine, port } = await startEngine(
      resources([{ match: { prefix: "/" }, route: { cluster: "b" } }], [cluster("b", [b.port])]),
    ));
  });
  afterAll(async () => {
    await engine.stop();
    await b.close();
  });

  it("closes a connection that floods PINGs without reading the acks, counts it, and holds little meanwhile", async () => {
    const before = stat("http2.outbound_control_flood");
    const c = await raw(port);
    c.pause(); // reads nothing
    c.on("error", () => undefined);
    let closed = false;
    c.once("close", () => (closed = true));
    const pings = Buffer.concat(Array.from({ length: 4096 }, () => frame(PING, 0, 0, Buffer.alloc(8))));
    c.write(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0)]));
    const mem = process.memoryUsage().arrayBuffers;
    let peak = 0;
    let sent = 0;
    const started = Date.now();
    // Until the server closes: 64 MiB of PINGs at most, or 4 s (its keepalive would close it at 10 s, uncounted).
    while (!closed && sent < 64 << 20 && Date.now() - started < 4000) {
      const more = c.write(pings);
      sent += pings.length;
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - mem);
      if (!more) await Promise.race([new Promise((r) => c.once("drain", r)), new Promise((r) => setTimeout(r, 50))]);
    }
    c.destroy();
    await until(() => stat("http2.outbound_control_flood") === before + 1);
    expect(peak).toBeLessThan(16 << 20); // the engine's queue stays small, whatever the client sends
    expect(stat("http2.outbound_flood")).toBe(0);
  }, 15_000);

  it("leaves a client alone that pings a few times and reads a large response (its WINDOW_UPDATEs)", async () => {
    const before = ["outbound_control_flood", "inbound_window_update_frames_flood"].map((k) => stat(`http2.${k}`));
    const s = await open(port);
    for (let i = 0; i < 5; i++) await new Promise((r, j) => s.ping((err) => (err ? j(err) : r(undefined))));
    const body = await new Promise<number>((resolve, reject) => {
      const r = s.request({ ":path": "/big" });
      let n = 0;
      r.on("data", (d: Buffer) => (n += d.length));
      r.on("end", () => resolve(n));
      r.on("error", reject);
    });
    expect(body).toBe(4 << 20);
    expect(s.destroyed).toBe(false);
    s.close();
    expect(["outbound_control_flood", "inbound_window_update_frames_flood"].map((k) => stat(`http2.${k}`))).toEqual(
      before,
    );
  });

  it("closes a connection after 100 PRIORITY frames per stream opened (ENHANCE_YOUR_CALM), and counts it", async () => {
    const before = stat("http2.inbound_priority_frames_flood");
    const prio = (id: number): Buffer => frame(PRIORITY, 0, id, Buffer.from([0, 0, 0, 0, 16]));
    // 100, a request (one stream: 100 more), 100 more: within the limit, and the request is answered.
    const ok = await raw(port);
    const got: Buffer[] = [];
    ok.on("data", (d: Buffer) => got.push(d));
    const get = new HpackEncoder().encode([":method", "GET", ":scheme", "http", ":path", "/", ":authority", "x"]);
    const hundred = (): Buffer[] => Array.from({ length: 100 }, (_, i) => prio(101 + 2 * i));
    ok.write(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0), ...hundred(), frame(HEADERS, 0x5, 1, get), ...hundred()]));
    await until(() => Buffer.concat(got).includes("ok"));
    expect(stat("http2.inbound_priority_frames_flood")).toBe(before);
    ok.destroy();
    const c = await raw(port);
    const code = goawayCode(c);
    c.write(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0), ...hundred(), prio(1)]));
    expect(await code).toBe(ENHANCE_YOUR_CALM);
    expect(stat("http2.inbound_priority_frames_flood")).toBe(before + 1);
  });

  it("closes a connection sending WINDOW_UPDATEs for nothing it was sent (ENHANCE_YOUR_CALM), and counts it", async () => {
    const before = stat("http2.inbound_window_update_frames_flood");
    const c = await raw(port);
    const code = goawayCode(c);
    const updates = Array.from({ length: 10 }, () => frame(WINDOW_UPDATE, 0, 0, u32(1)));
    c.write(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0), ...updates]));
    expect(await code).toBe(ENHANCE_YOUR_CALM);
    expect(stat("http2.inbound_window_update_frames_flood")).toBe(before + 1);
  });
});

describe("an HTTP/2 upstream that floods the proxy with PINGs", () => {
  let upstream: RawServer;
  let engine: Engine;
  let port: number;

  beforeAll(async () => {
    upstream = await rawH2Server((c, id, fields) => {
      if (fields.get(":path") !== "/flood") {
        c.headers(id, [":status", "200"], false);
        return c.data(id, Buffer.from("ok"), true);
      }
      c.socket.pause(); // reads no ack
      const pings = Buffer.concat(Array.from({ length: 4096 }, () => frame(PING, 0, 0, Buffer.alloc(8))));
      const flood = (): void => {
        for (let i = 0; i < 1024 && !c.socket.destroyed; i++) if (!c.socket.write(pings)) break;
        if (!c.socket.destroyed) setTimeout(flood, 5);
      };
      flood();
    });
    ({ engine, port } = await startEngine(
      resources(
        [{ match: { prefix: "/" }, route: { cluster: "up" } }],
        [cluster("up", [upstream.port], { http2_protocol_options: {} })],
      ),
    ));
  });
  afterAll(async () => {
    await engine.stop();
    await upstream.close();
  });

  it("closes that connection, counts cluster.<name>.http2.outbound_control_flood, and serves on", async () => {
    const stat = (name: string): string | undefined =>
      engine
        .statsText()
        .split("\n")
        .find((l) => l.startsWith(name));
    const r = await get(port, "/flood", {}, { agent: false });
    expect(r.status).toBe(503);
    expect(stat("cluster.up.http2.outbound_control_flood:")).toBe("cluster.up.http2.outbound_control_flood: 1");
    expect((await get(port, "/hello", {}, { agent: false })).body).toBe("ok");
  }, 15_000);
});
