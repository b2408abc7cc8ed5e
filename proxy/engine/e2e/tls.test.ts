// TLS on a listener: ALPN picks HTTP/2 or HTTP/1.1 on the same port.
import { connect as h2connect } from "node:http2";
import { request as httpsRequest } from "node:https";
import { selfSigned } from "../../../test/support/engine/certs.js";
import {
  backend,
  cluster,
  listener,
  routeConfig,
  startEngine,
  tlsTransport,
  type Backend,
} from "../../../test/support/engine/helpers.js";
import type { Engine } from "../engine.js";
import { ConfigError } from "../config/index.js";

function tlsListener(cert: string, key: string): Record<string, unknown> {
  const l = listener([]);
  const chain = (l.filter_chains as Record<string, unknown>[])[0] as Record<string, unknown>;
  chain.transport_socket = tlsTransport(cert, key);
  return l;
}

describe("TLS listener with ALPN", () => {
  let b: Backend;
  let engine: Engine;
  let port: number;
  let cert: string;
  beforeAll(async () => {
    b = await backend("b");
    const pair = await selfSigned();
    cert = pair.cert;
    ({ engine, port } = await startEngine({
      listeners: [tlsListener(pair.cert, pair.key)],
      routes: [routeConfig([{ match: { prefix: "/" }, route: { cluster: "b" } }])],
      clusters: [cluster("b", [b.port])],
    }));
  });
  afterAll(async () => {
    await engine.stop();
    await b.close();
  });

  it("serves HTTP/2 to clients that negotiate h2", async () => {
    const session = h2connect(`https://localhost:${port}`, { ca: cert });
    const body = await new Promise<string>((resolve, reject) => {
      const req = session.request({ ":path": "/over-h2" });
      let data = "";
      req.on("data", (d: Buffer) => (data += d.toString()));
      req.on("end", () => resolve(data));
      req.on("error", reject);
      req.end();
    });
    expect(session.alpnProtocol).toBe("h2");
    expect(JSON.parse(body)).toMatchObject({ name: "b", url: "/over-h2" });
    session.close();
  });

  it("serves HTTP/1.1 to clients that offer no ALPN", async () => {
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest({ host: "localhost", port, path: "/over-h1", ca: cert }, (res) => {
        let data = "";
        res.on("data", (d: Buffer) => (data += d.toString()));
        res.on("end", () => resolve(data));
      });
      req.on("error", reject);
      req.end();
    });
    expect(JSON.parse(body)).toMatchObject({ name: "b", url: "/over-h1" });
  });

  it("rejects a listener whose certificate is not one", async () => {
    const bad = {
      listeners: [tlsListener("not a cert", "not a key")],
      routes: [routeConfig([{ match: { prefix: "/" }, route: { cluster: "b" } }])],
      clusters: [cluster("b", [b.port])],
    };
    await expect(engine.apply(bad)).rejects.toThrow(ConfigError);
    await expect(engine.apply(bad)).rejects.toThrow(
      /Listener "http": filter_chains\[0\]\.transport_socket: invalid TLS certificate/,
    );
  });
});
