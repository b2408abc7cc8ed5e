// A kept-alive HTTP/1.1 connection driven by hand, to see what a client that opened it before a config swap gets.
import type { ClientHttp2Session } from "node:http2";
import type { Socket } from "node:net";

/** One request on a kept-alive socket: the status, and whether the server closed the connection after it. */
export function exchange(s: Socket, path: string): Promise<{ status: number; closed: boolean }> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (d: Buffer) => {
      text += d.toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) return;
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(text.slice(0, end))?.[1] ?? 0);
      if (text.length < end + 4 + length) return;
      s.off("data", onData);
      const status = Number(text.slice(9, 12));
      if (!/\r\nconnection: close/i.test(text.slice(0, end))) return resolve({ status, closed: false });
      s.once("close", () => resolve({ status, closed: true }));
    };
    s.on("data", onData);
    s.once("error", reject);
    s.write(`GET ${path} HTTP/1.1\r\nhost: a\r\n\r\n`);
  });
}

/** One request on an open HTTP/2 session: its status. */
export function h2Status(session: ClientHttp2Session, path: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const req = session.request({ ":path": path });
    req.on("response", (h) => resolve(Number(h[":status"])));
    req.on("error", reject);
    req.end();
    req.resume();
  });
}
