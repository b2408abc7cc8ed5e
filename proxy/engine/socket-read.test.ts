// Reading sockets into one shared buffer: every byte arrives once, in order, and stays what it was after later reads;
// handlers change hands without losing or reordering bytes; pause holds reads; TLS sockets keep 'data' events.
import { createHash, randomBytes } from "node:crypto";
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { connect as tlsConnect, createServer as createTlsServer } from "node:tls";
import { offBytes, onBytes, putBack, readsShared } from "./socket-read.js";
import { selfSigned } from "../../test/support/engine/certs.js";
import { until } from "../../test/support/engine/helpers.js";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** A server whose accepted sockets go to `accepted`, and a client connected to it. */
async function pair(accepted: (s: Socket) => void): Promise<{ client: Socket; server: Server }> {
  const server = createServer(accepted);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const client = connect((server.address() as AddressInfo).port, "127.0.0.1");
  await new Promise((r) => client.once("connect", r));
  return { client, server };
}

describe("reading into the shared buffer", () => {
  it("gets every byte of 4 MB once and in order, and no chunk changes after later reads (Node 20 reads shared)", async () => {
    const sent = randomBytes(4 * 1024 * 1024);
    const chunks: Buffer[] = [];
    let shared = false;
    let ended!: () => void;
    const done = new Promise<void>((r) => (ended = r));
    const { client, server } = await pair((s) => {
      onBytes(s, (c) => chunks.push(c));
      shared = readsShared(s);
      s.on("end", () => ended());
    });
    for (let at = 0; at < sent.length; at += 70_000) client.write(sent.subarray(at, at + 70_000));
    client.end();
    await done;
    expect(shared).toBe(true);
    expect(chunks.length).toBeGreaterThan(1);
    expect(sha(Buffer.concat(chunks))).toBe(sha(sent));
    server.close();
  });

  it("holds no spare buffer for a socket gone quiet after a large read: 100 clients sending 20 KiB each", async () => {
    const sent = randomBytes(20 * 1024);
    let received = 0;
    const kept: Buffer[] = [];
    const server = createServer((s) =>
      onBytes(s, (c) => {
        kept.push(c);
        received += c.length;
      }),
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const before = process.memoryUsage().arrayBuffers;
    const clients = await Promise.all(
      Array.from({ length: 100 }, () => {
        const c = connect(port, "127.0.0.1");
        return new Promise<Socket>((r) => c.once("connect", () => r(c)));
      }),
    );
    try {
      for (const c of clients) c.write(sent);
      await until(() => received === 100 * sent.length, 10_000);
      // What the clients sent is held (the handler keeps it); a 64 KiB buffer more per socket would be 6.4 MB.
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(100 * sent.length + 2 * 1024 * 1024);
    } finally {
      for (const c of clients) c.destroy();
      server.close();
    }
  });

  it("hands bytes from one handler to the next: what is put back comes first, nothing is lost or reordered", async () => {
    const first: Buffer[] = [];
    const second: Buffer[] = [];
    let sock!: Socket;
    const { client, server } = await pair((s) => {
      sock = s;
      const one = (c: Buffer) => {
        first.push(c);
        // As HTTP/1.1 hands an h2c connection over: stop, pause, give the bytes back; the next reader resumes.
        offBytes(s, one);
        s.pause();
        putBack(s, c);
      };
      onBytes(s, one);
    });
    client.write("PRI * HTTP/2.0\r\n");
    await until(() => first.length === 1);
    client.write("after");
    client.end();
    onBytes(sock, (d) => second.push(d));
    sock.resume();
    await until(() => Buffer.concat(second).toString() === "PRI * HTTP/2.0\r\nafter");
    expect(readsShared(sock)).toBe(true);
    server.close();
  });

  it("keeps bytes the stream buffered before the switch (a TLS inspector's put back) ahead of later ones", async () => {
    const got: Buffer[] = [];
    let switched = false;
    const { client, server } = await pair((s) => {
      s.once("data", (c: Buffer) => {
        s.pause();
        s.unshift(c);
        onBytes(s, (d) => got.push(d));
        s.resume();
        switched = true;
      });
    });
    client.write("hello ");
    await until(() => switched);
    client.end("world");
    await until(() => Buffer.concat(got).toString() === "hello world");
    server.close();
  });

  it("reads nothing while paused, and everything once resumed", async () => {
    const got: Buffer[] = [];
    let sock!: Socket;
    const { client, server } = await pair((s) => {
      sock = s;
      onBytes(s, (c) => got.push(c));
    });
    await until(() => sock !== undefined);
    client.write("a");
    await until(() => got.length === 1);
    sock.pause();
    client.write("b");
    // Nothing can be awaited for bytes that must not come: give them time to (not) arrive.
    await new Promise((r) => setTimeout(r, 100));
    expect(Buffer.concat(got).toString()).toBe("a");
    sock.resume();
    await until(() => Buffer.concat(got).toString() === "ab");
    client.destroy();
    server.close();
  });

  it("reads a TLSSocket's plaintext the same way: 4 MB once and in order", async () => {
    const { cert, key } = await selfSigned();
    const sent = randomBytes(4 * 1024 * 1024);
    const chunks: Buffer[] = [];
    let shared = false;
    let ended!: () => void;
    const done = new Promise<void>((r) => (ended = r));
    const server = createTlsServer({ cert, key }, (s) => {
      onBytes(s, (c) => chunks.push(c));
      shared = readsShared(s);
      s.on("end", () => ended());
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const client = tlsConnect({ port, host: "127.0.0.1", ca: cert, rejectUnauthorized: false });
    for (let at = 0; at < sent.length; at += 70_000) client.write(sent.subarray(at, at + 70_000));
    client.end();
    await done;
    expect(shared).toBe(true);
    expect(sha(Buffer.concat(chunks))).toBe(sha(sent));
    server.close();
  });
});
