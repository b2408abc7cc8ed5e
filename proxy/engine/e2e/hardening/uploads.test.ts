// HTTP/1.1 uploads stream through a built engine (a child process, so its RSS is its own): 20 MiB, chunked or with
// a content-length, reach the backend whole while the engine holds a small, bounded part of them. They used to be
// buffered whole, and refused (413) past 8 MiB.
import { createHash, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { startChildEngine, type ChildEngine } from "./child.js";
import { RawClient } from "./harness.js";
import { hardenedResources } from "./setup.js";

const MiB = 1024 * 1024;
const SIZE = 20 * MiB;

/** A backend that hashes each request's body as it arrives and answers its length and SHA-256. */
async function hashingBackend(): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const h = createHash("sha256");
    let n = 0;
    req.on("data", (c: Buffer) => {
      n += c.length;
      h.update(c);
    });
    req.on("end", () =>
      res.end(JSON.stringify({ bytes: n, sha: h.digest("hex"), te: req.headers["transfer-encoding"] })),
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, port: (server.address() as AddressInfo).port };
}

/** Writes `data`, waiting for the socket to drain when it is backed up. */
async function write(s: Socket, data: Buffer | string): Promise<void> {
  if (!s.write(data)) await new Promise<void>((r) => s.once("drain", r));
}

describe("HTTP/1.1 uploads stream (the engine as a child process)", () => {
  let b: { server: Server; port: number };
  let e: ChildEngine;
  beforeAll(async () => {
    b = await hashingBackend();
    e = await startChildEngine(hardenedResources(b.port));
    // Warmed up first: the engine's first large uploads grow it once (code compiled, its heaps' high-water marks) by
    // up to 20 MiB, then no more.
    for (const chunked of [false, true]) await upload(chunked);
  }, 30_000);
  afterAll(async () => {
    await e?.stop();
    await new Promise((r) => b?.server.close(r));
  }, 30_000);

  /** Sends `size` random bytes (64 KiB at a time, chunked or not); the backend's answer and the engine's peak growth. */
  async function upload(chunked: boolean, size = SIZE): Promise<{ reply: string; sha: string; growth: number }> {
    const block = randomBytes(MiB);
    const sha = createHash("sha256");
    const c = new RawClient(e.port);
    const start = e.rss();
    let peak = start;
    const sampling = setInterval(() => (peak = Math.max(peak, e.rss())), 20);
    const framing = chunked ? "Transfer-Encoding: chunked" : `Content-Length: ${size}`;
    await write(c.socket, `POST /up HTTP/1.1\r\nHost: allowed\r\n${framing}\r\n\r\n`);
    for (let i = 0; i < size / MiB; i++)
      for (let at = 0; at < MiB; at += 64 * 1024) {
        const piece = block.subarray(at, at + 64 * 1024);
        sha.update(piece);
        if (!chunked) await write(c.socket, piece);
        else {
          await write(c.socket, `${piece.length.toString(16)}${at ? "" : ";part=first"}\r\n`);
          await write(c.socket, piece);
          await write(c.socket, "\r\n");
        }
      }
    if (chunked) await write(c.socket, "0\r\nX-Trailer: t\r\n\r\n");
    await c.until(() => c.text.includes('"sha"'));
    clearInterval(sampling);
    c.close();
    return { reply: c.text, sha: sha.digest("hex"), growth: peak - start };
  }

  it.each([
    ["with a content-length", false],
    ["chunked", true],
  ])(
    "carries a 20 MiB upload %s whole, the engine growing by far less",
    async (_name, chunked) => {
      const growths: number[] = [];
      for (let run = 0; run < 2; run++) {
        const { reply, sha, growth } = await upload(chunked);
        expect(reply).toMatch(/^HTTP\/1\.1 200 /);
        const got = JSON.parse(reply.slice(reply.indexOf("{"))) as { bytes: number; sha: string; te?: string };
        expect(got).toEqual({ bytes: SIZE, sha, ...(chunked ? { te: "chunked" } : {}) });
        growths.push(growth);
      }
      // What the engine keeps for retries (1 MiB), its read-ahead (64 KiB), and reads and copies not yet collected (2 MiB
      // each, reclaim.ts); the lower of two runs, as the malloc heap's high-water mark moves with the machine's load
      // (a buffering engine grows by the whole upload in both).
      expect(Math.min(...growths) / MiB).toBeLessThan(10);
    },
    60_000,
  );
});
