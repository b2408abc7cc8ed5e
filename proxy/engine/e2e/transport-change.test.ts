// A config that makes a listener's chain terminate TLS (a Gateway server turned from HTTP to HTTPS, say) must not go
// on serving the connections that came in plaintext: they keep to chains of their own transport, so their next
// requests are refused (503) and they are drained, while TLS clients are served by the new chain. Envoy drains a
// changed chain's connections too, serving them from the old chain meanwhile; here they are refused at once.
// Likewise a TLS chain that starts verifying clients (a Gateway server turned from SIMPLE to MUTUAL): the connections
// whose handshake it would now refuse (no certificate) are drained, where the new chain had served them on.
import { connect as netConnect } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
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
  until,
  type Backend,
} from "../../../test/support/engine/helpers.js";
import type { Resources } from "../config/types.js";
import type { Engine } from "../engine.js";
import { exchange, h2Status } from "../../../test/support/engine/keep-alive.js";

describe("a chain whose transport or client verification changes under open connections", () => {
  let b: Backend;
  let engine: Engine;
  let port: number;
  let pair: { cert: string; key: string };
  let clientCa: { cert: string; key: string };
  const config = (tls: "plaintext" | "SIMPLE" | "MUTUAL", version: string): Resources => {
    const l = listener([]);
    if (tls !== "plaintext") {
      const transport = tlsTransport(pair.cert, pair.key, tls === "MUTUAL" ? clientCa.cert : undefined);
      if (tls === "MUTUAL") (transport.typed_config as Record<string, unknown>).require_client_certificate = true;
      (l.filter_chains as Record<string, unknown>[])[0]!.transport_socket = transport;
    }
    return {
      version,
      listeners: [l],
      routes: [routeConfig([{ match: { prefix: "/" }, route: { cluster: "b" } }])],
      clusters: [cluster("b", [b.port])],
    };
  };
  beforeAll(async () => {
    b = await backend("b");
    [pair, clientCa] = await Promise.all([selfSigned(), selfSigned("client-ca")]);
    ({ engine, port } = await startEngine(config("plaintext", "1")));
  });
  afterAll(async () => {
    await engine.stop();
    await b.close();
  });

  it("turned to TLS: refuses the plaintext ones' next requests and drains them; TLS clients get the new chain", async () => {
    const h1 = netConnect(port, "127.0.0.1");
    expect(await exchange(h1, "/before")).toEqual({ status: 200, closed: false });
    const h2c = h2connect(`http://127.0.0.1:${port}`);
    expect(await h2Status(h2c, "/before")).toBe(200);

    const goaway = new Promise((resolve) => h2c.once("goaway", resolve));
    await engine.apply(config("SIMPLE", "2"));

    expect(await exchange(h1, "/after")).toEqual({ status: 503, closed: true });
    await goaway; // the HTTP/2 connection is drained: GOAWAY, its new streams go to a new connection
    h2c.close();
    const tls = await get(port, "/tls", {}, { tls: { ca: pair.cert, servername: "localhost" } });
    expect(tls.status).toBe(200);
  });

  it("turned MUTUAL: drains the TLS connections that came without a certificate (HTTP/1.1 closed, HTTP/2 GOAWAY)", async () => {
    await engine.apply(config("SIMPLE", "3"));
    const h1 = await new Promise<TLSSocket>((resolve) => {
      const s = tlsConnect({ port, host: "127.0.0.1", ca: pair.cert, servername: "localhost" }, () => resolve(s));
    });
    expect(await exchange(h1, "/before")).toEqual({ status: 200, closed: false });
    const h2 = h2connect(`https://127.0.0.1:${port}`, { ca: pair.cert, servername: "localhost" });
    expect(await h2Status(h2, "/before")).toBe(200);
    const goaway = new Promise((resolve) => h2.once("goaway", resolve));
    const closed = new Promise<string>((resolve) => h1.once("close", () => resolve("closed")));

    await engine.apply(config("MUTUAL", "4"));

    // The client without a certificate keeps no connection the new chain wouldn't have taken: the one it holds is
    // closed (at once if idle, else after its reply), where it had been served on with 200s.
    const next = exchange(h1, "/after").then(
      (r) => (r.closed ? "closed" : `served ${r.status}`),
      () => "closed",
    );
    expect(await Promise.race([closed, next])).toBe("closed");
    await goaway;
    h2.close();
  });

  it("turned MUTUAL mid-handshake: a connection whose handshake ends without a certificate is not served", async () => {
    await engine.apply(config("SIMPLE", "5"));
    const accepted = engine.counters.get("listener", "http", "downstream_cx_total");
    const raw = netConnect(port, "127.0.0.1");
    await until(() => engine.counters.get("listener", "http", "downstream_cx_total") > accepted);
    await engine.apply(config("MUTUAL", "6")); // the handshake, not yet begun, is the SIMPLE chain's

    const s = tlsConnect({ socket: raw, ca: pair.cert, servername: "localhost" });
    const closed = new Promise<string>((resolve) => s.once("close", () => resolve("closed")));
    const served = exchange(s, "/after").then(
      (r) => `served ${r.status}`,
      () => "closed",
    );
    expect(await Promise.race([closed, served])).toBe("closed");
  });
});
