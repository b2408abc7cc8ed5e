// A minimal Redis client (RESP2 over one TCP connection): GET and SET NX, what the videos apps need. Commands are
// pipelined in order; a lost connection fails what was waiting, and the next command reconnects.
import { connect, type Socket } from "node:net";

type Reply = string | null;
interface Waiter {
  resolve: (r: Reply) => void;
  reject: (e: Error) => void;
}

export class Redis {
  private socket: Socket | undefined;
  private buf = Buffer.alloc(0);
  private readonly waiting: Waiter[] = [];

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  get(key: string): Promise<Reply> {
    return this.command(["GET", key]);
  }

  /** SET key value NX: "OK" when set, null when the key was there. */
  setIfAbsent(key: string, value: string): Promise<Reply> {
    return this.command(["SET", key, value, "NX"]);
  }

  close(): void {
    this.socket?.destroy();
  }

  private command(args: string[]): Promise<Reply> {
    const s = this.connection();
    const parts = [`*${args.length}\r\n`];
    for (const a of args) parts.push(`$${Buffer.byteLength(a)}\r\n${a}\r\n`);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      s.write(parts.join(""));
    });
  }

  private connection(): Socket {
    if (this.socket && !this.socket.destroyed) return this.socket;
    const s = connect({ host: this.host, port: this.port });
    s.setTimeout(5000, () => s.destroy(new Error("redis: timed out")));
    s.on("data", (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.drain();
    });
    const fail = (err?: Error): void => {
      const e = err ?? new Error("redis: connection closed");
      for (const w of this.waiting.splice(0)) w.reject(e);
      this.buf = Buffer.alloc(0);
      if (this.socket === s) this.socket = undefined;
    };
    s.on("error", fail);
    s.on("close", () => fail());
    this.socket = s;
    return s;
  }

  /** Answers every complete reply in the buffer: +simple, -error, $bulk (or $-1 null). */
  private drain(): void {
    for (;;) {
      const eol = this.buf.indexOf("\r\n");
      if (eol < 0) return;
      const type = String.fromCharCode(this.buf[0] ?? 0);
      const line = this.buf.toString("utf8", 1, eol);
      let reply: Reply | Error;
      let used = eol + 2;
      if (type === "+") reply = line;
      else if (type === "-") reply = new Error(`redis: ${line}`);
      else if (type === "$") {
        const n = Number(line);
        if (n < 0) reply = null;
        else {
          if (this.buf.length < used + n + 2) return;
          reply = this.buf.toString("utf8", used, used + n);
          used += n + 2;
        }
      } else reply = new Error(`redis: unexpected reply ${JSON.stringify(type)}`);
      this.buf = this.buf.subarray(used);
      const w = this.waiting.shift();
      if (reply instanceof Error) w?.reject(reply);
      else w?.resolve(reply);
    }
  }
}
