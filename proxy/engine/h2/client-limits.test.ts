// What a hostile upstream HTTP/2 server can make of the proxy's client (client.ts), spoken frame by frame
// (test/support/engine/h2-server.ts): what it sends must never reach the proxy's clients in a form they misread, and
// whatever it does, the proxy goes on serving with its memory bounded.
import { connect as h2connect } from "node:http2";
import { connect as tcpConnect } from "node:net";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { cluster, get, resources, startEngine, until } from "../../../test/support/engine/helpers.js";
import { frame } from "../../../hack/bench/h2-call.js";
import { rawH2Server, type RawConnection, type RawServer } from "../../../test/support/engine/h2-server.js";
import type { Engine } from "../engine.js";
import type { Exchange } from "../link.js";
import { H2Client } from "./client.js";
import { ClientCall } from "./call.js";
import { RequestBody } from "../http/body.js";

const H2 = { http2_protocol_options: {} };
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** DATA frames of one byte each sent by `trickle`. */
let trickled = 0;

/** Streams whose response bodies are sent a byte per DATA frame, by connection. */
const trickling = new Map<RawConnection, Set<number>>();

/** A response body sent a byte per DATA frame, as fast as the proxy's windows allow. */
function trickle(c: RawConnection, id: number): void {
  c.headers(id, [":status", "200"], false);
  let ids = trickling.get(c);
  if (!ids) trickling.set(c, (ids = new Set()));
  ids.add(id);
  const one = Buffer.from([0, 0, 1, 0, 0, 0, 0, 0, 0, 0x62]);
  const pump = () => {
    for (const sid of ids) {
      one.writeUInt32BE(sid, 5);
      for (let n = c.room(sid); n > 0;) {
        const k = Math.min(n, 8192);
        const frames = Buffer.allocUnsafe(k * one.length);
        for (let i = 0; i < k; i++) one.copy(frames, i * one.length);
        c.write(frames);
        n -= k;
        trickled += k;
        c.connWindow -= k;
        c.windows.set(sid, c.windows.get(sid)! - k);
      }
    }
  };
  c.onWindow = pump;
  pump();
}

/** How the upstream answers, by the request's path. */
const answers: Record<string, (c: RawConnection, id: number) => void> = {
  hello: (c, id) => {
    c.headers(id, [":status", "200"], false);
    c.data(id, Buffer.from("ok"), true);
  },
  "twice-length": (c, id) => {
    c.headers(id, [":status", "200", "content-length", "2", "content-length", "2"], false);
    c.data(id, Buffer.from("ok"), true);
  },
  "framing-trailers": (c, id) => {
    c.headers(id, [":status", "200"], false);
    c.data(id, Buffer.from("hello"), false);
    c.headers(id, ["transfer-encoding", "chunked", "content-length", "99", "x-t", "1"], true);
  },
  trickle,
  "empty-frames": (c, id) => {
    c.headers(id, [":status", "200"], false);
    c.write(Buffer.concat(Array.from({ length: 1000 }, () => frame(0, 0, id))));
  },
  "small-frames": (c, id) => {
    c.headers(id, [":status", "200"], false);
    c.write(Buffer.concat(SMALL.map((part) => frame(0, 0, id, Buffer.from(part)))));
    c.data(id, Buffer.alloc(0), true);
  },
};
/** A body of many small parts, each its own DATA frame (well within the proxy's windows). */
const SMALL = Array.from({ length: 5000 }, (_, i) => `${i},`);

/** A raw HTTP/1.1 exchange: every byte the proxy sent until it closed the connection. */
function exchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ host: "127.0.0.1", port });
    let got = "";
    s.on("data", (d: Buffer) => (got += d.toString("latin1")));
    s.on("close", () => resolve(got));
    s.on("error", reject);
    s.write(request);
  });
}

describe("a hostile HTTP/2 upstream", () => {
  let engine: Engine;
  let port: number;
  let upstream: RawServer;

  beforeAll(async () => {
    upstream = await rawH2Server((c, id, fields) => {
      const name = (fields.get(":path") ?? "").slice(1);
      (answers[name] ?? answers.hello!)(c, id);
    });
    ({ engine, port } = await startEngine(
      resources([{ match: { prefix: "/" }, route: { cluster: "up" } }], [cluster("up", [upstream.port], H2)]),
    ));
  });
  afterAll(async () => {
    await engine.stop();
    await upstream.close();
  });

  it("an upstream sending empty DATA frames in a row loses its connection: the response is cut, the proxy serves on", async () => {
    const flooded = await exchange(port, "GET /empty-frames HTTP/1.1\r\nhost: x\r\n\r\n");
    // Cut short: the client's connection closes without a complete response (its head may have gone on, or not).
    expect(flooded).not.toMatch(/\r\n0\r\n\r\n$/);
    expect(
      upstream.connections.filter((c) => !c.socket.destroyed && !c.socket.readableEnded).length,
    ).toBeLessThanOrEqual(1);
    expect((await get(port, "/hello")).body).toBe("ok");
  });

  it("a content-length repeated (same value) reaches the client once: HTTP/1.1 parsers refuse two", async () => {
    const r = await get(port, "/twice-length");
    expect(r).toMatchObject({ status: 200, body: "ok", headers: { "content-length": "2" } });
  });

  it("trailers with framing fields are malformed: never written into an HTTP/1.1 client's trailer section", async () => {
    const got = await exchange(port, "GET /framing-trailers HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    expect(got).toMatch(/^HTTP\/1\.1 200 /);
    expect(got).not.toContain("content-length: 99");
    expect(got.split("transfer-encoding").length).toBeLessThanOrEqual(2); // the head's own only
    expect((await get(port, "/hello")).body).toBe("ok");
  });

  it("a paused client's response sent a byte per DATA frame is held in bounded memory, not a Buffer per frame", async () => {
    gc();
    const heap = process.memoryUsage().heapUsed;
    const sock = tcpConnect({ host: "127.0.0.1", port });
    let got = 0;
    sock.on("data", (d: Buffer) => (got += d.length));
    sock.write("GET /trickle HTTP/1.1\r\nhost: x\r\n\r\n");
    await until(() => got > 0);
    sock.pause();
    // The upstream fills the stream's window (1 MiB, a million frames) and gets no more while the client doesn't read.
    await upstream.connections.at(-1)!.quiet(() => trickled);
    expect(trickled).toBeGreaterThan(1 << 20);
    gc();
    // A Buffer per frame held was ~100 bytes of heap each: 80 MB for this one stream.
    expect(process.memoryUsage().heapUsed - heap).toBeLessThan(16 << 20);
    sock.destroy();
    expect((await get(port, "/hello")).body).toBe("ok");
  }, 20_000); // a million one-byte frames: seconds on a busy machine

  it("an HTTP/2 client that doesn't read: its streams' responses sent a byte per frame cost bounded memory", async () => {
    gc();
    const heap = process.memoryUsage().heapUsed;
    const client = h2connect(`http://127.0.0.1:${port}`, { settings: { initialWindowSize: 0 } });
    const heads = Array.from(
      { length: 8 },
      () => new Promise((resolve) => client.request({ ":path": "/trickle" }).on("response", resolve)),
    );
    await Promise.all(heads);
    const before = trickled;
    await upstream.connections.at(-1)!.quiet(() => trickled);
    expect(trickled - before).toBeGreaterThan(8 * 512 * 1024); // each stream: 64 KiB queued for the client, the rest held
    gc();
    // A Buffer per frame queued for the client was ~100 bytes of heap each: 7 MB per stream.
    expect(process.memoryUsage().heapUsed - heap).toBeLessThan(16 << 20);
    client.destroy();
    expect((await get(port, "/hello")).body).toBe("ok");
  }, 20_000); // four million one-byte frames: seconds on a busy machine

  it("small DATA frames reach an HTTP/2 client whole and in order (joined in the stream's queue)", async () => {
    const client = h2connect(`http://127.0.0.1:${port}`);
    const body = await new Promise<string>((resolve, reject) => {
      let got = "";
      const req = client.request({ ":path": "/small-frames" });
      req.setEncoding("latin1");
      req.on("data", (d: string) => (got += d));
      req.on("end", () => resolve(got));
      req.on("error", reject);
    });
    client.close();
    expect(body).toBe(SMALL.join(""));
  });
});

describe("a shadow cluster's HTTP/2 upstream that never answers", () => {
  let engine: Engine;
  let port: number;
  let primary: RawServer;
  let sink: RawServer;
  let capped: RawServer;
  let sunk = 0;
  let cappedSunk = 0;

  beforeAll(async () => {
    primary = await rawH2Server((c, id) => answers.hello!(c, id));
    sink = await rawH2Server(() => sunk++);
    capped = await rawH2Server(() => cappedSunk++);
    const breakers = { circuit_breakers: { thresholds: [{ max_requests: 5 }] } };
    ({ engine, port } = await startEngine(
      resources(
        [
          {
            match: { prefix: "/timed" },
            route: { cluster: "primary", timeout: "0.2s", request_mirror_policies: [{ cluster: "sink" }] },
          },
          {
            match: { prefix: "/untimed" },
            route: { cluster: "primary", timeout: "0s", request_mirror_policies: [{ cluster: "capped" }] },
          },
        ],
        [
          cluster("primary", [primary.port], H2),
          cluster("sink", [sink.port], H2),
          cluster("capped", [capped.port], { ...H2, ...breakers }),
        ],
      ),
    ));
  });
  afterAll(async () => {
    await engine.stop();
    for (const s of [primary, sink, capped]) await s.close();
  });

  const stat = (c: string, name: string) =>
    Number(new RegExp(`^cluster\\.${c}\\.${name}: (\\d+)$`, "m").exec(engine.statsText())?.[1]);

  it("a mirror ends at the route's timeout: its stream is reset, not kept for ever", async () => {
    const rs = await Promise.all(Array.from({ length: 10 }, () => get(port, "/timed")));
    expect(rs.map((r) => r.body)).toEqual(Array(10).fill("ok"));
    const c = sink.connections[0]!;
    await until(() => c.resets.size === 10); // CANCEL for each, once the route's 0.2 s are up
    expect(sunk).toBe(10);
  });

  it("without a timeout, mirrors are held to their cluster's max_requests, as Envoy's shadows", async () => {
    const rs = await Promise.all(Array.from({ length: 20 }, () => get(port, "/untimed")));
    expect(rs.map((r) => r.body)).toEqual(Array(20).fill("ok"));
    await capped.connections[0]!.ping(); // the proxy's frames before its PING ACK have all arrived
    expect(cappedSunk).toBe(5);
    expect(stat("capped", "upstream_rq_pending_overflow")).toBe(15);
  });
});

describe("the client's last stream id", () => {
  it("a request on stream 2^31-1, the last there is, is sent and answered; the connection then drains", async () => {
    const seen: number[] = [];
    const server = await rawH2Server((c, id) => {
      seen.push(id);
      answers.hello!(c, id);
    });
    const socket = tcpConnect({ host: "127.0.0.1", port: server.port });
    const client = new H2Client(
      socket,
      false,
      {
        keepaliveMs: 10_000,
        idleTimeoutMs: 0,
        maxDurationMs: 0,
        maxStreams: 2 ** 31 - 1,
        settingsTimeoutMs: 1000,
        maxRequests: 0,
        maxBytes: 60 * 1024,
        maxHeaders: 100,
      },
      {
        draining: () => undefined,
        closed: () => undefined,
        idle: () => undefined,
        maxRequests: () => undefined,
        maxDuration: () => undefined,
      },
    );
    try {
      await new Promise((r) => socket.once("connect", r));
      client.connect();
      const call = (path: string) =>
        new Promise<string[]>((resolve) => {
          const events: string[] = [];
          const exchange: Exchange = {
            onHead: (h) => events.push(`head ${h.status}`),
            onBody: (b) => events.push(`body ${b.toString()}`),
            onEnd: () => resolve(events),
            onError: (kind) => resolve([...events, `error ${kind}`]),
          };
          const fields = [":method", "GET", ":scheme", "http", ":authority", "x", ":path", path];
          client.start(new ClientCall(fields, RequestBody.of(Buffer.alloc(0)), false, exchange));
        });
      expect(await call("/first")).toEqual(["head 200", "body ok"]);
      (client as unknown as { nextId: number }).nextId = 2 ** 31 - 1;
      expect(await call("/last")).toEqual(["head 200", "body ok"]);
      expect(seen).toEqual([1, 2 ** 31 - 1]);
      expect(client.usable).toBe(false); // no stream id left: new requests go to another connection
    } finally {
      socket.destroy();
      await server.close();
    }
  });
});
