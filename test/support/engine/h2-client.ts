// Clients of the engine's h2c listener for tests: node:http2's, a raw socket to speak frames on, and a stat read.
import { connect as h2connect, type ClientHttp2Session, type Settings } from "node:http2";
import { connect as tcpConnect, type Socket } from "node:net";
import type { Engine } from "../../../proxy/engine/engine.js";

/** A node:http2 session (with `settings` of its own, if given), once the server's SETTINGS came. */
export function open(port: number, settings?: Settings): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = h2connect(`http://127.0.0.1:${port}`, settings && { settings });
    s.once("remoteSettings", () => resolve(s));
    s.once("error", reject);
  });
}

/** A connected TCP socket. */
export function raw(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ host: "127.0.0.1", port }, () => resolve(s));
    s.once("error", reject);
  });
}

/** A stat's value in the engine's /stats text (NaN when it isn't there). */
export function stat(engine: Engine, name: string): number {
  const line = engine
    .statsText()
    .split("\n")
    .find((l) => l.startsWith(`${name}:`));
  return Number(/: (\d+)$/m.exec(line ?? "")?.[1] ?? NaN);
}
