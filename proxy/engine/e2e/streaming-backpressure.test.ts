// A client uploading to an upstream that takes nothing (an HTTP/2 server that never gives window back) is held back
// by its own stream window: the engine gives window back only as the upstream takes bytes, so what a stream holds is
// bounded (about a window, plus what the upstream's window and queue took), where it used to read 8 MiB per stream.
import { connect, type Socket } from "node:net";
import { frame } from "../../../hack/bench/h2-call.js";
import { cluster, resources, startEngine } from "../../../test/support/engine/helpers.js";
import { rawH2Server, type RawServer } from "../../../test/support/engine/h2-server.js";
import { HpackEncoder } from "../h2/hpack.js";
import type { Engine } from "../engine.js";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
const FRAME = 16_384;

/** A client spoken frame by frame: it sends DATA on stream 1 as far as the engine's windows allow. */
class Uploader {
  sent = 0;
  private conn = 65_535;
  private stream = 65_535;
  private pending = Buffer.alloc(0);
  private pongs: (() => void)[] = [];
  private readonly chunk = Buffer.alloc(FRAME, "u");

  constructor(private readonly socket: Socket) {
    socket.on("data", (d: Buffer) => this.read(d));
  }

  private read(d: Buffer): void {
    let buf = Buffer.concat([this.pending, d]);
    while (buf.length >= 9 && buf.length >= 9 + buf.readUIntBE(0, 3)) {
      const len = buf.readUIntBE(0, 3);
      const [type, flags, id] = [buf[3]!, buf[4]!, buf.readUInt32BE(5) & 0x7fffffff];
      const p = buf.subarray(9, 9 + len);
      buf = buf.subarray(9 + len);
      if (type === 4 && !(flags & 1)) {
        for (let i = 0; i < p.length; i += 6)
          if (p.readUInt16BE(i) === 4) this.stream += p.readUInt32BE(i + 2) - 65_535;
        this.socket.write(frame(4, 1, 0));
      } else if (type === 8) {
        if (id === 0) this.conn += p.readUInt32BE(0);
        else if (id === 1) this.stream += p.readUInt32BE(0);
      } else if (type === 6 && flags & 1) this.pongs.shift()?.();
      else if (type === 3 || type === 7) throw new Error(`the engine ended the upload (frame type ${type})`);
    }
    this.pending = Buffer.from(buf);
    this.pump();
  }

  pump(): void {
    while (Math.min(this.conn, this.stream) >= FRAME) {
      this.socket.write(frame(0, 0, 1, this.chunk));
      this.sent += FRAME;
      this.conn -= FRAME;
      this.stream -= FRAME;
    }
  }

  /** Resolves once `rounds` PING round trips in a row brought no more window. */
  async stalled(rounds = 3): Promise<void> {
    let quiet = 0;
    while (quiet < rounds) {
      const before = this.sent;
      await new Promise<void>((r) => {
        this.pongs.push(r);
        this.socket.write(frame(6, 0, 0, Buffer.alloc(8)));
      });
      quiet = this.sent === before ? quiet + 1 : 0;
    }
  }
}

describe("an upload to an upstream that takes nothing", () => {
  let upstream: RawServer;
  let engine: Engine;
  let port: number;

  beforeAll(async () => {
    upstream = await rawH2Server(() => undefined); // never answers, never gives window back
    ({ engine, port } = await startEngine(
      resources(
        [{ match: { prefix: "/" }, route: { cluster: "h2", timeout: "0s" } }],
        [cluster("h2", [upstream.port], { http2_protocol_options: {} })],
      ),
    ));
  });

  afterAll(async () => {
    await engine.stop();
    await upstream.close();
  });

  it("holds the client back by its stream window: about a window gets through, not megabytes", async () => {
    const socket = connect(port, "127.0.0.1");
    await new Promise((r) => socket.once("connect", r));
    const up = new Uploader(socket);
    const head = new HpackEncoder().encode([":method", "POST", ":scheme", "http", ":authority", "x", ":path", "/up"]);
    socket.write(Buffer.concat([PREFACE, frame(4, 0, 0), frame(1, 0x4, 1, head)]));
    up.pump();
    await up.stalled();
    // The engine's stream window (1 MiB), plus what the upstream's window (64 KiB) and the stream's queue took.
    expect(up.sent).toBeGreaterThanOrEqual(1 << 20);
    expect(up.sent).toBeLessThan((1 << 20) + 512 * 1024);
    socket.destroy();
  });
});
