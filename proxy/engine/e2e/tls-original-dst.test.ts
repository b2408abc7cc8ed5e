// A TLS chain serves every connection with one terminator, and each connection keeps its own original destination:
// two intercepted connections to the same port of two addresses, both TLS, each reach its own destination through an
// ORIGINAL_DST cluster (the terminator used to keep the first connection's destination for all that followed).
// The connections are handed to the listener as the virtualOutbound listener hands REDIRECTed ones, with their
// original destinations; backends on 127.0.0.2 and 127.0.0.3, the port from the OS.
import { createServer, type Server, type Socket } from "node:net";
import { connect } from "node:tls";
import type { AddressInfo } from "node:net";
import { Engine } from "../engine.js";
import type { ListenerRuntime } from "../listener-runtime.js";
import { TYPE } from "../../xds/types.js";
import { testCa } from "../../../test/support/engine/mesh-certs.js";

const listen = (server: Server, host: string, port: number) =>
  new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });

describe("TLS termination keeps each connection's original destination", () => {
  const servers: Server[] = [];
  let engine: Engine;
  let port = 0;
  let front = 0;

  beforeAll(async () => {
    // Two backends on one port: each answers with its address.
    const named = (name: string) => createServer((s) => s.end(name));
    const a = named("127.0.0.2");
    servers.push(a);
    port = await listen(a, "127.0.0.2", 0);
    const b = named("127.0.0.3");
    servers.push(b);
    await listen(b, "127.0.0.3", port);
    const ca = await testCa();
    const leaf = await ca.issue({ dns: "svc.test" });
    engine = new Engine({ adminPort: 0, statsPort: 0, readyPort: 0, drainTimeoutMs: 200 });
    await engine.start();
    await engine.apply({
      version: "1",
      clusters: [{ name: "orig", type: "ORIGINAL_DST", lb_policy: "CLUSTER_PROVIDED", connect_timeout: "1s" }],
      listeners: [
        {
          name: "in",
          address: { socket_address: { address: "0.0.0.0", port_value: port } },
          bind_to_port: false,
          listener_filters: [
            {
              name: "envoy.filters.listener.tls_inspector",
              typed_config: {
                "@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector",
              },
            },
          ],
          filter_chains: [
            {
              filter_chain_match: { destination_port: port, transport_protocol: "tls" },
              transport_socket: {
                name: "envoy.transport_sockets.tls",
                typed_config: {
                  "@type": TYPE.downstreamTlsContext,
                  common_tls_context: {
                    tls_certificates: [
                      { certificate_chain: { inline_string: leaf.cert }, private_key: { inline_string: leaf.key } },
                    ],
                  },
                },
              },
              filters: [
                {
                  name: "envoy.filters.network.tcp_proxy",
                  typed_config: { "@type": TYPE.tcpProxy, stat_prefix: "orig", cluster: "orig" },
                },
              ],
            },
          ],
        },
      ],
    });
    // The listener is not bound (bind_to_port false): connections reach it as the capturing listener hands them on.
    // The engine keeps its listener runtimes private; this test stands where virtualOutbound stands.
    const runtime = (engine as unknown as { listeners: Map<string, ListenerRuntime> }).listeners.get("in");
    if (!runtime) throw new Error("listener in not running");
    let next = 0;
    const capture = createServer((s: Socket) => {
      const address = next++ % 2 === 0 ? "127.0.0.2" : "127.0.0.3";
      runtime.accept(s, { address, port, family: "IPv4" });
    });
    servers.push(capture);
    front = await listen(capture, "127.0.0.1", 0);
  });

  afterAll(async () => {
    await engine?.stop();
    for (const s of servers) s.close();
  });

  /** A TLS connection through the capture: what the backend it reached says. */
  const through = () =>
    new Promise<string>((resolve) => {
      const s = connect({ host: "127.0.0.1", port: front, servername: "svc.test", rejectUnauthorized: false });
      const chunks: Buffer[] = [];
      s.on("data", (d: Buffer) => chunks.push(d));
      s.on("error", (e) => resolve(`error: ${e.message}`));
      s.on("close", () => resolve(Buffer.concat(chunks).toString()));
    });

  it("sends each TLS connection to its own original destination", async () => {
    expect(await through()).toBe("127.0.0.2");
    expect(await through()).toBe("127.0.0.3");
    const both = await Promise.all([through(), through()]);
    expect(both.sort()).toEqual(["127.0.0.2", "127.0.0.3"]);
  });
});
