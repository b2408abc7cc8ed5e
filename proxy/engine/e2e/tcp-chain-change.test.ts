// TcpProxy connections across a config that changes their chain, as Envoy's drained filter chains: a chain that now
// terminates TLS, or verifies clients the connection's handshake didn't, no longer holds the connections that came in
// before; they are closed once the drain time is over, where they had been piped on for as long as they stayed open.
// A config that keeps the chain as it was keeps its connections.
import { connect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { selfSigned } from "../../../test/support/engine/certs.js";
import { cluster, freePort, testEngine, tlsTransport, until } from "../../../test/support/engine/helpers.js";
import { echo, tcpChain } from "../../../test/support/engine/tcp-chains.js";
import type { Engine } from "../engine.js";

/** What the echo backend says back to `text` over an open connection. */
const say = (s: Socket, text: string): Promise<string> =>
  new Promise((resolve) => {
    s.once("data", (d: Buffer) => resolve(d.toString()));
    s.write(text);
  });

describe("TcpProxy connections whose chain changes", () => {
  let backend: Awaited<ReturnType<typeof echo>>;
  let engine: Engine;
  let port: number;
  let pair: { cert: string; key: string };
  let clientCa: { cert: string; key: string };
  const apply = (tls: "plaintext" | "SIMPLE" | "MUTUAL") => {
    const chain = tcpChain("a");
    if (tls !== "plaintext") {
      const transport = tlsTransport(pair.cert, pair.key, tls === "MUTUAL" ? clientCa.cert : undefined);
      if (tls === "MUTUAL") (transport.typed_config as Record<string, unknown>).require_client_certificate = true;
      chain.transport_socket = transport;
    }
    return engine.apply({
      version: String(Math.random()),
      listeners: [
        {
          name: "tcp",
          address: { socket_address: { address: "127.0.0.1", port_value: port } },
          filter_chains: [chain],
        },
      ],
      clusters: [cluster("a", [backend.port])],
    });
  };
  beforeAll(async () => {
    [backend, pair, clientCa] = await Promise.all([echo("a"), selfSigned(), selfSigned("client-ca")]);
    engine = await testEngine({});
    port = await freePort();
  });
  afterAll(async () => {
    await engine.stop();
    backend.server.close();
  });

  it("a plaintext connection is kept by the same chain, and closed when the chain terminates TLS", async () => {
    await apply("plaintext");
    const s = connect(port, "127.0.0.1");
    let closed = false;
    s.once("close", () => (closed = true));
    expect(await say(s, "hi")).toBe("a:hi");
    await apply("plaintext");
    expect(await say(s, "still")).toBe("a:still");

    await apply("SIMPLE");
    await until(() => closed).finally(() => s.destroy());
  });

  it("a TLS connection without a client certificate is closed when the chain starts requiring one", async () => {
    await apply("SIMPLE");
    const s = tlsConnect({ port, host: "127.0.0.1", ca: pair.cert, servername: "localhost" });
    let closed = false;
    s.once("close", () => (closed = true));
    expect(await say(s, "hi")).toBe("a:hi");

    await apply("MUTUAL");
    await until(() => closed).finally(() => s.destroy());
  });
});
