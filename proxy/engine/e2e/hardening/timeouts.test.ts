// Timeouts, measured from outside a built engine running as a child process: slowloris cut off by
// request_headers_timeout while normal requests keep their latency, stalled uploads closed by stream_idle_timeout
// (and slow ones by request_timeout) holding a bounded part of their bodies and giving their memory back, and Envoy's
// counters for each.
import { backend, get, type Backend } from "../../../../test/support/engine/helpers.js";
import { startChildEngine, type ChildEngine } from "./child.js";
import { RawClient } from "./harness.js";
import { hardenedResources } from "./setup.js";

const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)] as number;

async function text(port: number, path: string): Promise<string> {
  return (await get(port, path, {}, { agent: false })).body;
}

const counter = (stats: string, name: string) =>
  Number(new RegExp(`^http\\.hardened\\.${name}: (\\d+)$`, "m").exec(stats)?.[1] ?? -1);

describe("timeouts and limits (the engine as a child process)", () => {
  let b: Backend;
  let e: ChildEngine;
  beforeAll(async () => {
    b = await backend("b");
    e = await startChildEngine(
      hardenedResources(b.port, { request_headers_timeout: "1s", request_timeout: "4s", stream_idle_timeout: "2s" }),
    );
  }, 30_000); // a child process: its start and its drain take longer than jest's 5 s on a loaded machine
  afterAll(async () => {
    await e?.stop();
    await b?.close();
  }, 30_000);

  /** Normal requests, 4 at a time, until `stop` holds (at least `min` of them): their latencies. */
  async function load(min: number, stop: () => boolean): Promise<number[]> {
    const out: number[] = [];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (out.length < min || !stop()) {
          const t = performance.now();
          const r = await get(e.port, "/x", { host: "allowed" });
          if (r.status !== 200) throw new Error(`a normal request got ${r.status}`);
          out.push(performance.now() - t);
        }
      }),
    );
    return out;
  }

  it("cuts 200 slowloris connections off at request_headers_timeout; normal requests keep their p99", async () => {
    const baseline = p99(await load(400, () => true));
    const slow = Array.from({ length: 200 }, () => new RawClient(e.port));
    const line = "GET /x HTTP/1.1\r\nHost: allowed\r\nX-Slow: 1234567890\r\n";
    let at = 0;
    const drip = () => {
      for (const c of slow) if (!c.closed) c.socket.write(line[at % line.length] as string);
      at++;
    };
    drip();
    const dripping = setInterval(drip, 1000); // ~1 byte/s per connection
    let closedAll = false;
    const during = load(200, () => closedAll);
    await Promise.all(slow.map((c) => c.until(() => false)));
    closedAll = true;
    clearInterval(dripping);
    const latencies = await during;
    // Every slow connection was closed by the proxy, with a 408 or without a word; none got anything else.
    for (const c of slow) expect(c.text === "" || c.text.startsWith("HTTP/1.1 408 Request Timeout\r\n")).toBe(true);
    expect(at).toBeLessThan(line.length); // cut off before any could finish its head
    // Generous (the box is shared): the attack must not make normal requests an order of magnitude slower.
    expect(p99(latencies)).toBeLessThan(Math.max(10 * baseline, 250));
    const stats = await text(e.adminPort, "/stats");
    expect(counter(stats, "downstream_rq_header_timeout")).toBe(200);
    const prom = await text(e.statsPort, "/stats/prometheus");
    expect(prom).toContain('envoy_http_downstream_rq_header_timeout{envoy_http_conn_manager_prefix="hardened"} 200');
  });

  /** 40 uploads of 8 MiB that stall one byte short: all closed at the body timeouts. The engine's peak RSS. */
  async function stalledUploads(): Promise<number> {
    const size = 8 * 1024 * 1024;
    const body = Buffer.alloc(size - 1, 97); // all but the last byte: then the client stalls
    const uploads = Array.from({ length: 40 }, () => {
      const c = new RawClient(e.port);
      c.socket.write(`POST /up HTTP/1.1\r\nHost: allowed\r\nContent-Length: ${size}\r\n\r\n`);
      c.socket.write(body);
      return c;
    });
    let peak = e.rss();
    const sampling = setInterval(() => (peak = Math.max(peak, e.rss())), 50);
    await Promise.all(uploads.map((c) => c.until(() => false)));
    clearInterval(sampling);
    for (const c of uploads) expect(c.text === "" || c.text.startsWith("HTTP/1.1 408 Request Timeout\r\n")).toBe(true);
    return peak;
  }

  it("closes 40 stalled 8 MiB uploads at the body timeouts, holding a bounded part of each, and gives their memory back", async () => {
    await load(50, () => true);
    const start = e.rss();
    const peaks = [await stalledUploads(), await stalledUploads()];
    // Streamed, not buffered: 320 MiB were sent each time; the engine held each upload's replay buffer (1 MiB) and
    // read-ahead (64 KiB), and reads not yet collected.
    for (const p of peaks) expect((p - start) / 1024 / 1024).toBeLessThan(160);
    const stats = await text(e.adminPort, "/stats");
    expect(counter(stats, "downstream_rq_idle_timeout") + counter(stats, "downstream_rq_timeout")).toBe(80);
    // Memory returns once the connections are gone (polled: the engine frees it on its own schedule; bounded).
    const deadline = Date.now() + 30_000;
    while (e.rss() - start > 20 * 1024 * 1024 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect((e.rss() - start) / 1024 / 1024).toBeLessThan(20);
  }, 60_000);

  it("closes a request whose body drips in under stream_idle_timeout but outlasts request_timeout", async () => {
    const c = new RawClient(e.port);
    c.socket.write("POST /up HTTP/1.1\r\nHost: allowed\r\nContent-Length: 100\r\n\r\n");
    const dripping = setInterval(() => c.socket.write("a"), 500);
    await c.until(() => false);
    clearInterval(dripping);
    expect(c.text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(counter(await text(e.adminPort, "/stats"), "downstream_rq_timeout")).toBeGreaterThanOrEqual(1);
  }, 20_000);
});
