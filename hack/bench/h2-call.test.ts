// The benches' raw HTTP/2 call against Node's HTTP/2 server: what it sends arrives whole whatever the server's
// windows, what it receives is the server's bytes in order (padded frames included), and the trailers end it.
import http2 from "node:http2";
import net, { type AddressInfo } from "node:net";
import { H2Call, frame } from "./h2-call.js";

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

const SENT = pattern(300_000, 1); // over the server's 65,535-byte window: the client has to wait for it
const TAIL = pattern(1 << 20, 7); // then 1 MiB more: many frames, several of the client's reads

/** Echoes what the call sends as it comes (the call never ends its side, as a gRPC stream), then TAIL and trailers. */
async function echoServer(options: http2.ServerOptions) {
  let seen: (h: http2.IncomingHttpHeaders) => void = () => undefined;
  const headers = new Promise<http2.IncomingHttpHeaders>((resolve) => (seen = resolve));
  const server = http2.createServer(options);
  server.on("stream", (stream, h) => {
    seen(h);
    stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
    stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    let n = 0;
    stream.on("data", (c: Buffer) => {
      stream.write(c);
      n += c.length;
      if (n === SENT.length) stream.end(TAIL);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, address: `127.0.0.1:${(server.address() as AddressInfo).port}`, headers };
}

describe("H2Call", () => {
  it.each([
    ["plain frames", {}],
    ["padded frames", { paddingStrategy: http2.constants.PADDING_STRATEGY_MAX }],
  ])("sends more than the server's window, reads the response whole, ends on trailers (%s)", async (_, options) => {
    const { server, address, headers } = await echoServer(options);
    try {
      const got: Buffer[] = [];
      const ended = new Promise<string>((resolve) => {
        const call = new H2Call(address, "/svc/Method", {
          onData: (chunk) => got.push(Buffer.from(chunk)), // a copy: the view is of a reused buffer
          onEnd: resolve,
        });
        call.write(SENT.subarray(0, 100_000));
        call.write(SENT.subarray(100_000));
      });
      expect(await ended).toBe("stream ended by the server");
      expect(Buffer.concat(got).equals(Buffer.concat([SENT, TAIL]))).toBe(true);
      expect(await headers).toMatchObject({
        ":method": "POST",
        ":path": "/svc/Method",
        ":scheme": "http",
        ":authority": address,
        "content-type": "application/grpc",
        te: "trailers",
      });
    } finally {
      server.close();
    }
  });

  it("ends when the server resets the stream", async () => {
    const server = http2.createServer();
    server.on("stream", (stream) => stream.close(http2.constants.NGHTTP2_CANCEL));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
      const reason = await new Promise<string>(
        (onEnd) => new H2Call(address, "/x", { onData: () => undefined, onEnd }),
      );
      expect(reason).toBe("stream reset (code 8)");
    } finally {
      server.close();
    }
  });

  it.each([
    [
      "SETTINGS_MAX_FRAME_SIZE 0 (every write would stall)",
      frame(0x4, 0, 0, Buffer.from([0, 5, 0, 0, 0, 0])),
      "SETTINGS_MAX_FRAME_SIZE 0 (out of range)",
    ],
    [
      "a window over 2^31-1",
      frame(0x4, 0, 0, Buffer.from([0, 4, 0x80, 0, 0, 0])),
      "SETTINGS_INITIAL_WINDOW_SIZE 2147483648 (over 2147483647)",
    ],
    [
      "a frame over the 16,384 bytes it allows",
      frame(0x0, 0, 1, Buffer.alloc(20_000)),
      "a frame of 20000 bytes (over 16384)",
    ],
  ])("ends the call on a server's %s", async (_, bytes, reason) => {
    // A raw server: whatever the client sends, it answers with these bytes.
    const sockets: net.Socket[] = [];
    const server = net.createServer((socket) => {
      sockets.push(socket);
      socket.on("error", () => undefined);
      socket.write(bytes);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
      const got: Buffer[] = [];
      const ended = await new Promise<string>(
        (onEnd) => new H2Call(address, "/x", { onData: (c) => got.push(c), onEnd }),
      );
      expect(ended).toBe(reason);
      expect(got).toEqual([]);
    } finally {
      for (const socket of sockets) socket.destroy(); // a call that failed to end mustn't hold the server open
      server.close();
    }
  });
});
