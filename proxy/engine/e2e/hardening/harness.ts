// The hardening suites' rig: a backend that records the raw bytes it receives and parses them with the reference
// parser (so "well-formed" means RFC 9112's grammar, not the codec's opinion), and a raw client.
import { connect, createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { referenceParse, type RefResult } from "./reference.js";

export type Forwarded = Extract<RefResult, { kind: "ok" }>;

export interface RawBackend {
  port: number;
  /** Requests received, in order, each well-formed by the reference parser. */
  requests: Forwarded[];
  /** Byte streams the reference parser rejected (a connection that carried one is closed). */
  malformed: string[];
  /** Raw responses to send to the next requests, instead of the default 200 that echoes method and target. */
  responses: string[];
  /** Upstream connections accepted so far. */
  connections: number;
  close(): Promise<void>;
}

export async function rawBackend(): Promise<RawBackend> {
  const sockets = new Set<Socket>();
  const b: RawBackend = {
    port: 0,
    requests: [],
    malformed: [],
    responses: [],
    connections: 0,
    close: async () => undefined,
  };
  const server: Server = createServer((socket) => {
    b.connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    let buf = "";
    socket.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      for (;;) {
        const r = referenceParse(buf, 200); // the proxy adds a few fields of its own
        if (r.kind === "incomplete") return;
        if (r.kind === "error") {
          b.malformed.push(buf);
          socket.destroy();
          return;
        }
        buf = buf.slice(r.consumed);
        b.requests.push(r);
        const body = `${r.method} ${r.target}`;
        socket.write(
          b.responses.shift() ??
            `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
          "latin1",
        );
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  b.port = (server.address() as AddressInfo).port;
  b.close = () =>
    new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return b;
}

export interface RawReply {
  /** The first response's status, 0 if none came before the connection closed. */
  status: number;
  /** Everything received, latin1. */
  text: string;
  closed: boolean;
}

/** Length of the first complete response in `t` (content-length or chunked framing), or -1. */
function responseEnd(t: string, closed: boolean): number {
  const h = t.indexOf("\r\n\r\n");
  if (h < 0) return -1;
  const head = t.slice(0, h).toLowerCase();
  if (/^http\/1\.\d 1\d\d/.test(head)) {
    const rest = responseEnd(t.slice(h + 4), closed);
    return rest < 0 ? -1 : h + 4 + rest;
  }
  const cl = /\r\ncontent-length: *(\d+)/.exec(head);
  if (cl) return t.length >= h + 4 + Number(cl[1]) ? h + 4 + Number(cl[1]) : -1;
  if (/\r\ntransfer-encoding: *chunked/.test(head)) {
    const end = t.indexOf("\r\n0\r\n\r\n", h);
    return end < 0 ? -1 : end + 7;
  }
  return closed ? t.length : -1;
}

/** A raw client connection: write bytes, read responses. */
export class RawClient {
  readonly socket: Socket;
  text = "";
  closed = false;
  private waiters: (() => void)[] = [];

  constructor(port: number) {
    this.socket = connect(port, "127.0.0.1");
    this.socket.setNoDelay(true);
    this.socket.on("data", (d: Buffer) => {
      this.text += d.toString("latin1");
      this.wake();
    });
    this.socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
    this.socket.on("error", () => undefined);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves when `cond` holds or the connection closed. */
  until(cond: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => (cond() || this.closed ? resolve() : this.waiters.push(check));
      check();
    });
  }

  /** Sends pieces one write at a time, then waits for the first complete response (or a close). */
  async send(...pieces: string[]): Promise<RawReply> {
    for (const p of pieces) {
      this.socket.write(p, "latin1");
      await new Promise((r) => setImmediate(r)); // separate writes, as a client dribbling bytes would
    }
    await this.until(() => responseEnd(this.text, this.closed) >= 0);
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(this.text.replace(/^HTTP\/1\.[01] 1\d\d[^]*?\r\n\r\n/, ""));
    return { status: m ? Number(m[1]) : 0, text: this.text, closed: this.closed };
  }

  close(): void {
    this.socket.destroy();
  }
}
