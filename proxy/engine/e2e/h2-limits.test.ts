// HTTP/2 abuse through the engine's h2c listener: max_concurrent_streams advertised, rapid reset (CVE-2023-44487)
// closing the connection with Envoy's counter, a bad HPACK block closing the socket (not leaving it in CLOSE-WAIT),
// request fields that would smuggle into the HTTP/1.1 head upstream reset,
// and an HTTP/2-only listener (codec_type HTTP2) closing an invalid preface without an HTTP/1 answer.
import { constants, type ClientHttp2Session } from "node:http2";
import type { Socket } from "node:net";
import {
  backend,
  cluster,
  get,
  http2Only,
  listener,
  resources,
  routeConfig,
  startEngine,
  type Backend,
} from "../../../test/support/engine/helpers.js";
import type { Engine } from "../engine.js";
import { PrematureResets } from "../h2/server.js";
import { PREFACE, frame } from "../../../hack/bench/h2-call.js";
import { HpackEncoder } from "../h2/hpack.js";
import { open, raw, stat } from "../../../test/support/engine/h2-client.js";

/** Everything the server sends until it closes its side. */
function untilServerCloses(s: Socket): Promise<Buffer> {
  const got: Buffer[] = [];
  s.on("data", (d: Buffer) => got.push(d));
  return new Promise((resolve) => s.once("end", () => resolve(Buffer.concat(got))));
}

describe("HTTP/2 limits", () => {
  let b: Backend;
  let engine: Engine;
  let port: number;

  beforeAll(async () => {
    b = await backend("b");
    ({ engine, port } = await startEngine(
      resources([{ match: { prefix: "/" }, route: { cluster: "b" } }], [cluster("b", [b.port])]),
    ));
  });
  afterAll(async () => {
    await engine.stop();
    await b.close();
  });

  it("advertises max_concurrent_streams: 100 by default, the HCM's http2_protocol_options when set", async () => {
    const s = await open(port);
    expect(s.remoteSettings.maxConcurrentStreams).toBe(100);
    s.close();
    const l = listener([], undefined, "h2-7");
    const hcm = (
      (l.filter_chains as Record<string, unknown>[])[0]!.filters as Record<string, Record<string, unknown>>[]
    )[0]!.typed_config!;
    hcm.http2_protocol_options = { max_concurrent_streams: 7 };
    const other = await startEngine(
      {
        version: "1",
        listeners: [l],
        routes: [routeConfig([{ match: { prefix: "/" }, route: { cluster: "b" } }])],
        clusters: [cluster("b", [b.port])],
      },
      { adminPort: false, statsPort: false, readyPort: false },
    );
    const s7 = await open(other.engine.listenerPort("h2-7"));
    expect(s7.remoteSettings.maxConcurrentStreams).toBe(7);
    s7.close();
    await other.engine.stop();
  });

  it("closes a connection that resets its streams as fast as it opens them, and counts it", async () => {
    const before = await stat(engine, "http.http.downstream_rq_too_many_premature_resets");
    const s = await open(port);
    s.on("error", () => undefined);
    const closed = new Promise<void>((resolve) => s.once("close", resolve));
    let opened = 0;
    while (!s.closed && !s.destroyed && opened < 2000) {
      try {
        const r = s.request({ ":path": "/" });
        r.on("error", () => undefined);
        r.close(constants.NGHTTP2_CANCEL);
        opened++;
      } catch {
        break;
      }
      if (opened % 50 === 0) await new Promise((r) => setImmediate(r)); // let frames flow both ways
    }
    await closed;
    expect(opened).toBeLessThan(2000); // the server closed it long before
    expect(await stat(engine, "http.http.downstream_rq_too_many_premature_resets")).toBe(before + 1);
    expect(await stat(engine, "http2.rx_reset")).toBeGreaterThanOrEqual(250);
    const prom = (await get(engine.ports.stats, "/stats/prometheus")).body;
    expect(prom).toMatch(
      /^envoy_http_downstream_rq_too_many_premature_resets\{envoy_http_conn_manager_prefix="http"\} [1-9]/m,
    );
    expect(prom).toMatch(/^envoy_http2_rx_reset \d+/m);
    // Ordinary traffic on a new connection still works.
    const ok = await open(port);
    const status = await new Promise<number>((resolve) =>
      ok
        .request({ ":path": "/" })
        .on("response", (h) => resolve(Number(h[":status"])))
        .resume(),
    );
    expect(status).toBe(200);
    ok.close();
  });

  it("counts streams this side resets for the client's errors as premature: a client can't have them reset instead", async () => {
    const before = await stat(engine, "http.http.downstream_rq_too_many_premature_resets");
    const s = await raw(port);
    s.on("data", () => undefined);
    s.on("error", () => undefined);
    let closed = false;
    s.once("close", () => (closed = true));
    s.write(Buffer.concat([PREFACE, frame(4, 0, 0)]));
    const get = Buffer.from([0x82, 0x86, 0x84]); // :method GET, :scheme http, :path /
    let opened = 0;
    // Each request whole (END_STREAM), then a WINDOW_UPDATE of 0 on its stream: a stream error, reset by the server.
    for (let id = 1; !closed && opened < 2000;) {
      const batch: Buffer[] = [];
      for (let i = 0; i < 50; i++, id += 2, opened++)
        batch.push(frame(1, 0x5, id, get), frame(8, 0, id, Buffer.from([0, 0, 0, 0])));
      s.write(Buffer.concat(batch));
      await new Promise((r) => setTimeout(r, 1));
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(true);
    expect(opened).toBeLessThan(2000);
    expect(await stat(engine, "http.http.downstream_rq_too_many_premature_resets")).toBe(before + 1);
    s.destroy();
  });

  it("never closes a connection for streams that complete normally", async () => {
    const before = await stat(engine, "http.http.downstream_rq_too_many_premature_resets");
    const s = await open(port);
    for (let i = 0; i < 60; i++) {
      await Promise.all(
        Array.from(
          { length: 10 },
          () =>
            new Promise<void>((resolve, reject) => {
              const r = s.request({ ":path": "/" });
              r.on("error", reject).on("end", resolve).resume();
            }),
        ),
      );
    }
    expect(s.closed).toBe(false);
    s.close();
    expect(await stat(engine, "http.http.downstream_rq_too_many_premature_resets")).toBe(before);
  });

  it("a bad HPACK block ends the connection on the server's side too (no CLOSE-WAIT), within two keepalive pings", async () => {
    const s = await raw(port);
    const bytes = untilServerCloses(s);
    s.write(Buffer.concat([PREFACE, frame(4, 0, 0, Buffer.alloc(0))]));
    s.write(frame(1, 0x5, 1, Buffer.from([0x80]))); // HEADERS, END_STREAM|END_HEADERS; index 0 is no header: COMPRESSION_ERROR
    s.end(); // the client goes away: the server must close its side, not wait for ever
    const got = await bytes;
    const goaway = got.indexOf(Buffer.from([0x07, 0x00, 0x00, 0x00, 0x00, 0x00])); // GOAWAY on stream 0
    expect(goaway).toBeGreaterThan(0);
    expect(got.readUInt32BE(goaway + 6 + 4)).toBe(constants.NGHTTP2_COMPRESSION_ERROR);
  }, 30_000);

  it("resets requests whose fields would smuggle into the HTTP/1.1 head upstream; none reaches the backend", async () => {
    const attacks: Record<string, string[]> = {
      "CRLF in a value": ["x-a", "1\r\nx-injected: 1"],
      "LF in a value": ["x-a", "1\nGET /admin HTTP/1.1"],
      "NUL in a value": ["x-a", "a\0b"],
      "a space in :path": [":path", "/ HTTP/1.1\r\nHost: evil"],
      "CR in a name": ["x-a\r", "1"],
      "an upper-case name": ["X-Upper", "1"],
      "transfer-encoding": ["transfer-encoding", "chunked"],
      "te other than trailers": ["te", "gzip"],
      "leading whitespace": ["x-a", " 1"],
      "a CR in :authority": [":authority", "a\rb"],
    };
    const hits = b.hits;
    for (const [what, [name, value]] of Object.entries(attacks)) {
      const s = await raw(port);
      const got: Buffer[] = [];
      s.on("data", (d: Buffer) => got.push(d));
      const fields = [":method", "GET", ":scheme", "http", ":path", "/", ":authority", "localhost"];
      const at = fields.indexOf(name as string);
      if (at >= 0) fields[at + 1] = value as string;
      else fields.push(name as string, value as string);
      const block = new HpackEncoder().encode(fields);
      s.write(Buffer.concat([PREFACE, frame(4, 0, 0), frame(1, 0x5, 1, block)])); // HEADERS END_STREAM|END_HEADERS
      // RST_STREAM on stream 1 with PROTOCOL_ERROR: type 3, stream 1, code 1.
      const rst = Buffer.from([0, 0, 4, 3, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
      while (!Buffer.concat(got).includes(rst)) {
        const closed = await Promise.race([
          new Promise((r) => s.once("data", () => r(false))),
          new Promise((r) => s.once("close", () => r(true))),
        ]);
        if (closed) break;
      }
      expect([what, Buffer.concat(got).includes(rst)]).toEqual([what, true]);
      s.destroy();
    }
    expect(b.hits).toBe(hits);
    expect((await get(port, "/")).status).toBe(200); // and the listener still serves
  });

  it("keeps the HCM's timeouts on HTTP/2: a stalled upload gets 408 at stream_idle_timeout, an idle connection GOAWAY", async () => {
    const res = resources([{ match: { prefix: "/" }, route: { cluster: "b" } }], [cluster("b", [b.port])]);
    const hcm = (res.listeners as { filter_chains: { filters: { typed_config: Record<string, unknown> }[] }[] }[])[0]!
      .filter_chains[0]!.filters[0]!.typed_config;
    Object.assign(hcm, { stream_idle_timeout: "0.3s", common_http_protocol_options: { idle_timeout: "0.5s" } });
    const timed = await startEngine(res);
    try {
      const s = await open(timed.port);
      const gone = new Promise<number>((r) => s.once("goaway", (code: number) => r(code)));
      const req = s.request({ ":method": "POST", ":path": "/" }, { endStream: false });
      req.write("part of a body, then nothing");
      const status = await new Promise<number>((r) => req.once("response", (h) => r(Number(h[":status"]))));
      expect(status).toBe(408);
      req.on("error", () => undefined).resume();
      expect(await gone).toBe(constants.NGHTTP2_NO_ERROR); // then no stream for idle_timeout: drained
      s.close();
      expect(await stat(timed.engine, "http.http.downstream_rq_idle_timeout")).toBe(1);
      expect(await stat(timed.engine, "http.http.downstream_cx_idle_timeout")).toBe(1);
    } finally {
      await timed.engine.stop();
    }
  });

  it("a 408 the client doesn't take (its window at 0) doesn't hold the stream: it is reset a stream_idle_timeout later", async () => {
    const res = resources([{ match: { prefix: "/" }, route: { cluster: "b" } }], [cluster("b", [b.port])]);
    const hcm = (res.listeners as { filter_chains: { filters: { typed_config: Record<string, unknown> }[] }[] }[])[0]!
      .filter_chains[0]!.filters[0]!.typed_config;
    Object.assign(hcm, { stream_idle_timeout: "0.3s" });
    const timed = await startEngine(res);
    let s: ClientHttp2Session | undefined;
    try {
      s = await open(timed.port, { initialWindowSize: 0 });
      const req = s.request({ ":method": "POST", ":path": "/" }, { endStream: false });
      req.on("error", () => undefined);
      req.write("part of a body, then nothing");
      const status = await new Promise<number>((r) => req.once("response", (h) => r(Number(h[":status"]))));
      expect(status).toBe(408);
      const outcome = await Promise.race([
        new Promise<string>((r) => req.once("close", () => r(`reset ${req.rstCode}`))),
        new Promise<string>((r) => setTimeout(() => r("still open"), 2000)),
      ]);
      expect(outcome).toBe(`reset ${constants.NGHTTP2_CANCEL}`);
    } finally {
      s?.destroy();
      await timed.engine.stop();
    }
  });

  it("an HTTP/2-only listener (codec_type HTTP2) closes an invalid preface without an HTTP/1 answer; AUTO answers HTTP/1.1", async () => {
    const h2only = await startEngine(
      http2Only(resources([{ match: { prefix: "/" }, route: { cluster: "b" } }], [cluster("b", [b.port])])),
    );
    try {
      const s = await raw(h2only.port);
      const bytes = untilServerCloses(s);
      s.write("INVALID CONNECTION PREFACE\r\n\r\n");
      expect((await bytes).toString("latin1")).not.toContain("HTTP/1.1");
      s.destroy();
      const h2ish = await raw(h2only.port);
      const h2bytes = untilServerCloses(h2ish);
      h2ish.write("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n");
      expect((await h2bytes).toString("latin1")).not.toContain("HTTP/1.1");
      h2ish.destroy();
    } finally {
      await h2only.engine.stop();
    }
    expect((await get(port, "/")).status).toBe(200);
    const bad = await raw(port);
    const badBytes = untilServerCloses(bad);
    bad.write("GET / HTTP/1.1\r\nbad header\r\n\r\n");
    expect((await badBytes).toString("latin1")).toMatch(/^HTTP\/1\.1 400/);
    bad.destroy();
  });
});

describe("PrematureResets (Envoy's rule)", () => {
  it("closes at half of the total before it is reached, then when half of all closed streams were premature", () => {
    const early = new PrematureResets(10);
    expect([1, 2, 3, 4].map(() => early.close(true))).toEqual([false, false, false, false]);
    expect(early.close(true)).toBe(true); // 5 premature: half of 10
    const late = new PrematureResets(10);
    for (let i = 0; i < 6; i++) expect(late.close(false)).toBe(false);
    expect([true, true, true].map((p) => late.close(p))).toEqual([false, false, false]); // 3 of 9
    expect(late.close(false)).toBe(false); // 3 of 10
    expect(late.close(true)).toBe(false); // 4 of 11
    expect(late.close(true)).toBe(false); // 5 of 12: under half
    expect(late.close(true)).toBe(false); // 6 of 13
    expect(late.close(true)).toBe(true); // 7 of 14
  });
});
