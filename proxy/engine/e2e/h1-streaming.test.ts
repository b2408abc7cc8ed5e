// HTTP/1.1 request bodies stream: the request goes upstream at the end of its head and its body as it arrives, read
// from the client only as fast as the upstream takes it. Interactive uploads, backpressure, pipelining, retries, a
// response before the body's end, and malformed framing after the head went upstream.
import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as netServer, type AddressInfo, type Socket } from "node:net";
import { cluster, resources, startEngine, until } from "../../../test/support/engine/helpers.js";
import { RawClient } from "./hardening/harness.js";
import type { Engine } from "../engine.js";

const MiB = 1024 * 1024;

/** A backend that records each request's body as it arrives; `respond` decides when and how it answers. */
interface Recorder {
  server: Server;
  port: number;
  /** Per request, in arrival order: the chunks so far, and whether it ended or was aborted. */
  seen: { url: string; chunks: string[]; ended: boolean; aborted: boolean }[];
  /** 503 to the next `fail` requests (after their body). */
  fail: number;
}

async function recorder(): Promise<Recorder> {
  const r: Recorder = { server: createServer(), port: 0, seen: [], fail: 0 };
  r.server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const rec = { url: req.url ?? "", chunks: [] as string[], ended: false, aborted: false };
    r.seen.push(rec);
    req.on("data", (c: Buffer) => rec.chunks.push(c.toString("latin1")));
    req.on("aborted", () => (rec.aborted = true));
    req.on("end", () => {
      rec.ended = true;
      res.writeHead(r.fail-- > 0 ? 503 : 200, { "content-type": "text/plain" });
      res.end(`${req.url} ${rec.chunks.join("")}`);
    });
  });
  await new Promise<void>((ok) => r.server.listen(0, "127.0.0.1", ok));
  r.port = (r.server.address() as AddressInfo).port;
  return r;
}

/** A backend that reads a request's head, then nothing until `resume()`; it answers once the body is in. */
async function stalledBackend(): Promise<{
  port: number;
  received: () => number;
  resume: () => void;
  close: () => void;
}> {
  let socket: Socket | undefined;
  let received = 0;
  let want = -1;
  const hash = createHash("sha256");
  const server = netServer((s) => {
    socket = s;
    let head = "";
    const onData = (d: Buffer) => {
      let body = d;
      if (want < 0) {
        head += d.toString("latin1");
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) return;
        want = Number(/content-length: (\d+)/i.exec(head)?.[1]);
        body = d.subarray(d.length - (head.length - end - 4));
        s.pause(); // the head is in: the body waits
      }
      received += body.length;
      hash.update(body);
      if (received === want) {
        const text = hash.digest("hex");
        s.end(`HTTP/1.1 200 OK\r\ncontent-length: ${text.length}\r\nconnection: close\r\n\r\n${text}`);
      }
    };
    s.on("data", onData);
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    port: (server.address() as AddressInfo).port,
    received: () => received,
    resume: () => socket?.resume(),
    close: () => {
      socket?.destroy();
      server.close();
    },
  };
}

describe("HTTP/1.1 request bodies stream", () => {
  let engine: Engine;
  let port: number;
  let b: Recorder;
  let slow: Awaited<ReturnType<typeof stalledBackend>>;
  beforeAll(async () => {
    b = await recorder();
    slow = await stalledBackend();
    const retry = { retry_on: "5xx", num_retries: 2, retry_back_off: { base_interval: "0.001s" } };
    ({ engine, port } = await startEngine(
      resources(
        [
          { match: { prefix: "/retry" }, route: { cluster: "b", retry_policy: retry } },
          { match: { prefix: "/early" }, direct_response: { status: 200, body: { inline_string: "early" } } },
          { match: { prefix: "/slow" }, route: { cluster: "slow", timeout: "30s" } },
          { match: { prefix: "/" }, route: { cluster: "b" } },
        ],
        [cluster("b", [b.port]), cluster("slow", [slow.port])],
      ),
    ));
  });
  afterAll(async () => {
    await engine.stop();
    slow.close();
    await new Promise((ok) => b.server.close(ok));
  });
  beforeEach(() => {
    b.seen.length = 0;
    b.fail = 0;
  });

  it("carries an interactive chunked upload: chunk 1 reaches the backend before the client sends chunk 2", async () => {
    const c = new RawClient(port);
    c.socket.write("POST /chat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    await until(() => b.seen[0]?.chunks.join("") === "hello");
    c.socket.write("6;ext=1\r\n world\r\n0\r\n\r\n");
    await c.until(() => c.text.includes("/chat hello world"));
    expect(c.text).toMatch(/^HTTP\/1\.1 200 /);
    c.close();
  });

  it("holds a client uploading faster than the backend reads: its writes stall, then all arrives", async () => {
    const body = randomBytes(48 * MiB);
    const c = new RawClient(port);
    c.socket.write(`POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`);
    // Written 64 KiB at a time as the socket takes it; `left`: bytes handed to the kernel so far.
    let left = 0;
    const writing = (async () => {
      for (let at = 0; at < body.length; at += 64 * 1024) {
        const piece = body.subarray(at, at + 64 * 1024);
        if (!c.socket.write(piece, () => (left += piece.length)))
          await new Promise<void>((ok) => c.socket.once("drain", ok));
      }
    })();
    // Stalled: nothing more leaves the client for a while.
    let last = -1;
    let still = 0;
    await until(() => {
      still = left === last ? still + 1 : 0;
      last = left;
      return still >= 60; // ~300 ms without progress
    }, 10_000);
    expect(slow.received()).toBeLessThan(MiB); // the backend reads nothing after the head
    // The engine read what it keeps for a retry (1 MiB) and 64 KiB more; the rest sits in socket buffers (the
    // kernel's, which loopback grows to several MiB). A body read whole would have taken all 48 MiB.
    expect(left / MiB).toBeLessThan(16);
    slow.resume();
    await writing;
    await c.until(() => c.text.includes("\r\n\r\n") && c.text.length > c.text.indexOf("\r\n\r\n") + 60);
    expect(c.text).toMatch(/^HTTP\/1\.1 200 /);
    expect(c.text.slice(-64)).toBe(createHash("sha256").update(body).digest("hex"));
    c.close();
  }, 30_000);

  it("answers pipelined requests with bodies in order, each body its own", async () => {
    const c = new RawClient(port);
    c.socket.write(
      "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" +
        "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc",
    );
    await until(() => b.seen.length === 2);
    c.socket.write("\r\n0\r\n\r\nPOST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz");
    await c.until(() => c.text.includes("/c xyz"));
    const order = ["/a hello", "/b abc", "/c xyz"].map((s) => c.text.indexOf(s));
    expect(order.every((at, i) => at > 0 && (i === 0 || at > (order[i - 1] as number)))).toBe(true);
    expect(b.seen.map((s) => s.url)).toEqual(["/a", "/b", "/c"]);
    c.close();
  });

  it("retries a POST whose body streamed (5xx): the retry carries the whole body", async () => {
    b.fail = 1;
    const c = new RawClient(port);
    c.socket.write("POST /retry HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nfirst");
    await until(() => b.seen[0]?.chunks.join("") === "first");
    c.socket.write("-half");
    await c.until(() => c.text.includes("first-half"));
    expect(c.text).toMatch(/^HTTP\/1\.1 200 /);
    expect(b.seen.map((s) => s.chunks.join(""))).toEqual(["first-half", "first-half"]);
    c.close();
  });

  it("closes after a response that came before the body ended, never parsing the rest as a request", async () => {
    const before = engine.counters.get("http", "http", "downstream_rq_response_before_rq_complete");
    const c = new RawClient(port);
    c.socket.write("POST /early HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc");
    await c.until(() => c.text.includes("early"));
    c.socket.write("GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n");
    await c.until(() => false); // the engine closes
    expect(c.text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(c.text.toLowerCase()).toContain("connection: close");
    expect(c.text.match(/HTTP\/1\.1/g)).toHaveLength(1);
    expect(b.seen).toEqual([]);
    expect(engine.counters.get("http", "http", "downstream_rq_response_before_rq_complete")).toBe(before + 1);
  });

  it("answers 400 to chunked framing that breaks after the request went upstream, abandoning it there", async () => {
    const c = new RawClient(port);
    c.socket.write("POST /bad HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    await until(() => b.seen[0]?.chunks.join("") === "hello");
    c.socket.write("zz\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n");
    await c.until(() => false);
    expect(c.text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    await until(() => b.seen[0]?.aborted === true);
    expect(b.seen.map((s) => [s.url, s.ended])).toEqual([["/bad", false]]);
  });
});
