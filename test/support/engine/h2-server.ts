// An HTTP/2 server spoken frame by frame, for tests of the engine's HTTP/2 client: it does only what a test's
// handler tells it, so it can answer as no real server would (a bad :status, a huge header block, GOAWAY mid-flight,
// a window it tracks itself). It reads the client's preface and frames, keeps the windows the client gives, acks
// SETTINGS and PING, and hands each request's decoded fields to the handler.
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { frame } from "../../../hack/bench/h2-call.js";
import { HpackDecoder, HpackEncoder } from "../../../proxy/engine/h2/hpack.js";

const PREFACE_BYTES = 24;
const DATA = 0;
const HEADERS = 1;
const RST_STREAM = 3;
const SETTINGS = 4;
const PING = 6;
const GOAWAY = 7;
const WINDOW_UPDATE = 8;
const END_STREAM = 1;
const END_HEADERS = 4;

export class RawConnection {
  readonly encoder = new HpackEncoder();
  private readonly decoder = new HpackDecoder();
  private pending = Buffer.alloc(0);
  private prefaceLeft = PREFACE_BYTES;
  /** The client's connection window, and each stream's (what this side may still send). */
  connWindow = 65535;
  private initialWindow = 65535;
  readonly windows = new Map<number, number>();
  /** Streams the client reset, with the code. */
  readonly resets = new Map<number, number>();
  /** Called whenever the client gives more window. */
  onWindow: (() => void) | undefined;
  private pings: (() => void)[] = [];
  private block: Buffer[] = [];
  private lastStream = 2 ** 31;

  constructor(
    readonly socket: Socket,
    private readonly handler: (c: RawConnection, id: number, fields: Map<string, string>, body: Buffer) => void,
    sendSettings: boolean,
    settings: [number, number][],
  ) {
    socket.setNoDelay(true);
    if (sendSettings) this.settings(settings);
    socket.on("data", (d: Buffer) => sendSettings && this.read(d)); // else it never answers anything
    socket.on("error", () => undefined);
  }

  private settings(entries: [number, number][]): void {
    const p = Buffer.alloc(6 * entries.length);
    entries.forEach(([k, v], i) => {
      p.writeUInt16BE(k, 6 * i);
      p.writeUInt32BE(v, 6 * i + 2);
    });
    this.write(frame(SETTINGS, 0, 0, p));
  }

  write(b: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(b);
  }

  headers(id: number, fields: string[], endStream: boolean): void {
    this.write(frame(HEADERS, END_HEADERS | (endStream ? END_STREAM : 0), id, this.encoder.encode(fields)));
  }

  data(id: number, body: Buffer, endStream: boolean): void {
    this.write(frame(DATA, endStream ? END_STREAM : 0, id, body));
  }

  rst(id: number, code: number): void {
    this.write(frame(RST_STREAM, 0, id, u32(code)));
  }

  /** GOAWAY: streams above `lastStream` are ignored from now on, as a server that sent it does. */
  goaway(lastStream: number, code = 0): void {
    this.lastStream = lastStream;
    this.write(frame(GOAWAY, 0, 0, Buffer.concat([u32(lastStream), u32(code)])));
  }

  /** A PING round trip: resolves when the client's ACK comes back. */
  ping(): Promise<void> {
    return new Promise((resolve) => {
      this.pings.push(resolve);
      this.write(frame(PING, 0, 0, Buffer.alloc(8)));
    });
  }

  /** Until `sent()` (what this side has sent) stays the same over `rounds` PING round trips: the proxy gives no more room. */
  async quiet(sent: () => number, rounds = 3): Promise<void> {
    for (let still = 0; still < rounds;) {
      const before = sent();
      await this.ping();
      still = sent() === before ? still + 1 : 0;
    }
  }

  /** What this side may send on stream `id` now. */
  room(id: number): number {
    return Math.min(this.connWindow, this.windows.get(id) ?? 0);
  }

  private read(d: Buffer): void {
    let buf = Buffer.concat([this.pending, d]);
    if (this.prefaceLeft) {
      const n = Math.min(this.prefaceLeft, buf.length);
      this.prefaceLeft -= n;
      buf = buf.subarray(n);
    }
    while (buf.length >= 9) {
      const len = buf.readUIntBE(0, 3);
      if (buf.length < 9 + len) break;
      const [type, flags] = [buf[3]!, buf[4]!];
      const id = buf.readUInt32BE(5) & 0x7fffffff;
      const p = buf.subarray(9, 9 + len);
      buf = buf.subarray(9 + len);
      if (type === SETTINGS && !(flags & 1)) {
        for (let i = 0; i < p.length; i += 6)
          if (p.readUInt16BE(i) === 4) {
            const v = p.readUInt32BE(i + 2);
            for (const [k, w] of this.windows) this.windows.set(k, w + v - this.initialWindow);
            this.initialWindow = v;
          }
        this.write(frame(SETTINGS, 1, 0));
      } else if (type === PING && !(flags & 1)) this.write(frame(PING, 1, 0, p));
      else if (type === PING) this.pings.shift()?.();
      else if (type === WINDOW_UPDATE) {
        const inc = p.readUInt32BE(0);
        if (id) this.windows.set(id, (this.windows.get(id) ?? 0) + inc);
        else this.connWindow += inc;
        this.onWindow?.();
      } else if (type === RST_STREAM) this.resets.set(id, p.readUInt32BE(0));
      else if (type === HEADERS || type === 9) {
        this.block.push(p);
        if (flags & END_HEADERS) {
          const list = this.decoder.decode(Buffer.concat(this.block));
          this.block = [];
          const fields = new Map<string, string>();
          for (let i = 0; i < list.length; i += 2) fields.set(list[i]!, list[i + 1]!);
          if (id > this.lastStream) continue;
          if (!this.windows.has(id)) this.windows.set(id, this.initialWindow);
          if (flags & END_STREAM) this.handler(this, id, fields, Buffer.alloc(0));
          else this.bodies.set(id, { fields, parts: [] });
        }
      } else if (type === DATA) {
        const b = this.bodies.get(id);
        b?.parts.push(Buffer.from(p));
        if (b && flags & END_STREAM) {
          this.bodies.delete(id);
          this.handler(this, id, b.fields, Buffer.concat(b.parts));
        }
      }
    }
    this.pending = Buffer.from(buf);
  }

  private readonly bodies = new Map<number, { fields: Map<string, string>; parts: Buffer[] }>();
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

export interface RawServer {
  port: number;
  /** Connections accepted so far. */
  connections: RawConnection[];
  close(): Promise<void>;
}

/** A raw HTTP/2 server on loopback. `sendSettings: false`: it accepts connections and never sends a byte. */
export async function rawH2Server(
  handler: (c: RawConnection, id: number, fields: Map<string, string>, body: Buffer) => void,
  opts: { sendSettings?: boolean; settings?: [number, number][] } = {},
): Promise<RawServer> {
  const connections: RawConnection[] = [];
  const server: Server = createServer((s) =>
    connections.push(new RawConnection(s, handler, opts.sendSettings ?? true, opts.settings ?? [])),
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    connections,
    close: () =>
      new Promise((r) => {
        for (const c of connections) c.socket.destroy();
        server.close(() => r());
      }),
  };
}
