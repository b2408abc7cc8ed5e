// A config that makes a listener's chain terminate TLS (a Gateway server turned from HTTP to HTTPS, say) must not go
// on serving the connections that came in plaintext: they keep to chains of their own transport, so their next
// requests are refused (503) and they are drained, while TLS clients are served by the new chain. Envoy drains a
// changed chain's connections too, serving them from the old chain meanwhile; here they are refused at once.
import { connect as netConnect, type Socket } from "node:net";
import { connect as h2connect } from "node:http2";
import { selfSigned } from "../../../test/support/engine/certs.js";
import {
  backend,
  cluster,
  get,
  listener,
  routeConfig,
  startEngine,
  tlsTransport,
  type Backend,
} from "../../../test/support/engine/helpers.js";
import type { Resources } from "../config/types.js";
import type { Engine } from "../engine.js";

/** One request on a kept-alive socket: the status, and whether the server closed the connection after it. */
function exchange(s: Socket, path: string): Promise<{ status: number; closed: boolean }> {
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

describe("a chain that turns to TLS under connections that came in plaintext", () => {
  let b: Backend;
  let engine: Engine;
  let port: number;
  let pair: { cert: string; key: string };
  const config = (tls: boolean, version: string): Resources => {
    const l = listener([]);
    if (tls) (l.filter_chains as Record<string, unknown>[])[0]!.transport_socket = tlsTransport(pair.cert, pair.key);
    return {
      version,
      listeners: [l],
      routes: [routeConfig([{ match: { prefix: "/" }, route: { cluster: "b" } }])],
      clusters: [cluster("b", [b.port])],
    };
  };
  beforeAll(async () => {
    b = await backend("b");
    pair = await selfSigned();
    ({ engine, port } = await startEngine(config(false, "1")));
  });
  afterAll(async () => {
    await engine.stop();
    await b.close();
  });

  it("refuses their next requests and drains them; TLS clients get the new chain", async () => {
    const h1 = netConnect(port, "127.0.0.1");
    expect(await exchange(h1, "/before")).toEqual({ status: 200, closed: false });
    const h2c = h2connect(`http://127.0.0.1:${port}`);
    const h2get = (path: string) =>
      new Promise<number>((resolve, reject) => {
        const req = h2c.request({ ":path": path });
        req.on("response", (h) => resolve(Number(h[":status"])));
        req.on("error", reject);
        req.end();
        req.resume();
      });
    expect(await h2get("/before")).toBe(200);

    const goaway = new Promise((resolve) => h2c.once("goaway", resolve));
    await engine.apply(config(true, "2"));

    expect(await exchange(h1, "/after")).toEqual({ status: 503, closed: true });
    await goaway; // the HTTP/2 connection is drained: GOAWAY, its new streams go to a new connection
    h2c.close();
    const tls = await get(port, "/tls", {}, { tls: { ca: pair.cert, servername: "localhost" } });
    expect(tls.status).toBe(200);
  });
});
