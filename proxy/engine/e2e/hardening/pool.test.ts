// Pool hygiene: 1,000 clients that go away mid-response, some after stalling the proxy's writes (so their upstream
// connection is paused for backpressure), must leave no paused or half-closed connection in the pool: every later
// request succeeds at its normal latency. And they reuse upstream connections rather than open one each.
import { RequestBody } from "../../http/body.js";
import { Agent, createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { Engine } from "../../engine.js";
import { UpstreamConnection } from "../../http1/upstream.js";
import { get, many } from "../../../../test/support/engine/helpers.js";
import { RawClient } from "./harness.js";
import { hardenedResources } from "./setup.js";

const PIECE = Buffer.alloc(64 * 1024, 120);
/** Resolvers for "the backend started answering request <id>", and for "…has sent it all, or is backed up". */
const started = new Map<string, () => void>();
const settled = new Map<string, () => void>();
const agent = new Agent({ keepAlive: true, maxSockets: 512 });
const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)] as number;

describe("upstream pool hygiene", () => {
  let server: Server;
  let connections = 0;
  let engine: Engine;
  let port: number;
  const sockets = new Set<Socket>();
  beforeAll(async () => {
    server = createServer((req, res) => {
      const q = new URL(req.url ?? "/", "http://x").searchParams;
      const size = Number(q.get("size") ?? 2);
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(size) });
      // Streamed in 64 KiB pieces, honouring backpressure: a slow client's proxy pauses this mid-response.
      const id = q.get("id") ?? "";
      let left = size;
      const more = (): void => {
        while (left > 0) {
          const n = Math.min(left, 64 * 1024);
          left -= n;
          if (!res.write(PIECE.subarray(0, n))) {
            settled.get(id)?.(); // backed up: the proxy is holding the rest
            return void res.once("drain", more);
          }
        }
        res.end();
      };
      res.once("finish", () => settled.get(id)?.());
      started.get(id)?.();
      more();
    });
    server.keepAliveTimeout = 60_000;
    server.on("connection", (s: Socket) => {
      connections++;
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    engine = new Engine({ adminPort: false, statsPort: false, readyPort: false, drainTimeoutMs: 200 });
    await engine.apply(hardenedResources((server.address() as AddressInfo).port));
    port = engine.listenerPort("http");
  });
  afterAll(async () => {
    agent.destroy();
    await engine.stop();
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });

  /** n small requests, `concurrency` at a time: as many as the pool holds, so that every pooled connection serves. */
  async function normal(n: number, concurrency: number): Promise<number[]> {
    const out: number[] = [];
    await many(n, concurrency, async () => {
      const t = performance.now();
      const r = await get(port, "/small?size=2", { host: "allowed" }, { agent });
      out.push(performance.now() - t);
      if (r.status !== 200) throw new Error(`a request after the drops got ${r.status}`);
      return r;
    });
    return out;
  }

  it("drops 1,000 clients mid-response, then serves every request at its normal latency from a clean pool", async () => {
    const baseline = p99(await normal(400, 64));
    const opened = connections;
    let dropped = 0;
    await Promise.all(
      Array.from({ length: 40 }, async (_, w) => {
        for (let i = w; i < 1000; i += 40) {
          // A quarter don't read, with responses around what the kernel buffers hold, so that the proxy's writes
          // back up and it pauses the upstream, often on a response's last piece; the others read and go.
          const stall = i % 4 === 1;
          const size = 64 * 1024 * (stall ? 1 + ((i >> 2) % 100) : 1 + (i % 8)); // stalled: 64 KiB to 6.25 MiB
          const c = new RawClient(port);
          const answering = new Promise<void>((r) => (stall ? settled : started).set(String(i), r));
          if (stall) c.socket.pause();
          c.socket.write(`GET /big?size=${size}&id=${i} HTTP/1.1\r\nHost: allowed\r\n\r\n`);
          await answering;
          (stall ? settled : started).delete(String(i));
          await new Promise((r) => setImmediate(r));
          c.close();
          dropped++;
        }
      }),
    );
    expect(dropped).toBe(1000);
    const idle = Number(/^cluster\.raw\.upstream_cx_pool_idle: (\d+)$/m.exec(engine.statsText())?.[1]);
    const after = await normal(Math.max(400, 4 * idle), Math.max(64, idle + 8));
    expect(after.length).toBeGreaterThanOrEqual(400);
    // Generous (the box is shared): a request that met a stalled pooled connection would wait for its 5 s timeout.
    expect(p99(after)).toBeLessThan(Math.max(10 * baseline, 500));
    const stats = engine.statsText();
    expect(stats).toMatch(/^cluster\.raw\.upstream_cx_pool_unusable: 0$/m);
    expect(Number(/^cluster\.raw\.upstream_cx_pool_idle: (\d+)$/m.exec(stats)?.[1])).toBeGreaterThan(0);
    // Clients that went away let their connections finish the response and return to the pool: far fewer than one
    // new upstream connection per dropped client.
    expect(connections - opened).toBeLessThan(500);
  }, 120_000);
});

describe("an upstream connection paused for a slow client", () => {
  it("is reading again, and reusable, once its response completes", async () => {
    const server = createServer((_req, res) => res.end("ok"));
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port: backendPort } = server.address() as AddressInfo;
    const conn = await new Promise<UpstreamConnection>((resolve, reject) => {
      const c: UpstreamConnection = new UpstreamConnection(
        "k",
        "127.0.0.1",
        backendPort,
        { connectTimeoutMs: 1000, keepAliveMs: undefined, tls: undefined },
        (err) => (err ? reject(new Error(err)) : resolve(c)),
      );
    });
    const exchange = (pauseOnBody: boolean): Promise<string> =>
      new Promise((resolve, reject) => {
        let body = "";
        conn.send(
          { method: "GET", path: "/", headers: ["host", "b"], body: RequestBody.of(Buffer.alloc(0)), chunked: false },
          {
            onHead: () => undefined,
            // The last (only) piece of the body meets a slow client: the stream pauses the connection, as stream.ts does.
            onBody: (chunk) => {
              body += chunk.toString();
              if (pauseOnBody) conn.pause();
            },
            onEnd: () => resolve(body),
            onError: (kind) => reject(new Error(kind)),
          },
          false,
        );
      });
    expect(await exchange(true)).toBe("ok");
    expect(conn.reusable).toBe(true);
    expect(conn.socket.isPaused()).toBe(false);
    // The next exchange on it completes (a paused connection would leave it waiting forever).
    expect(await exchange(false)).toBe("ok");
    conn.close();
    await new Promise((r) => server.close(r));
  });
});
