import { connect, createServer, type AddressInfo, type Server } from "node:net";
import { cluster, get, startEngine, until } from "../../../test/support/engine/helpers.js";
import { shareDeviation } from "../../../test/support/share.js";
import type { Engine } from "../engine.js";

const TCP = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";

/** A TCP echo server that prefixes what it sends back with its name. */
async function echo(name: string): Promise<{ port: number; server: Server }> {
  const server = createServer((s) => s.on("data", (d: Buffer) => s.write(`${name}:${d.toString()}`)));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as AddressInfo).port, server };
}

/** A listener on a free loopback port whose one filter is a TcpProxy with these fields. */
function tcpListener(fields: Record<string, unknown>) {
  return {
    name: "http",
    address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
    filter_chains: [
      {
        filters: [
          { name: "envoy.filters.network.tcp_proxy", typed_config: { "@type": TCP, stat_prefix: "tcp", ...fields } },
        ],
      },
    ],
  };
}

function roundTrip(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1", () => s.write(text));
    s.once("data", (d: Buffer) => {
      resolve(d.toString());
      s.end();
    });
    s.on("error", reject);
  });
}

describe("TCP proxy", () => {
  let a: { port: number; server: Server };
  let b: { port: number; server: Server };
  let engine: Engine;
  let port: number;
  beforeAll(async () => {
    a = await echo("a");
    b = await echo("b");
    ({ engine, port } = await startEngine({
      listeners: [
        tcpListener({
          weighted_clusters: {
            clusters: [
              { name: "a", weight: 1 },
              { name: "b", weight: 1 },
            ],
          },
        }),
      ],
      clusters: [cluster("a", [a.port]), cluster("b", [b.port])],
    }));
  });
  afterAll(async () => {
    await engine.stop();
    a.server.close();
    b.server.close();
  });

  it("pipes bytes both ways, splitting connections by weight, and counts them in istio_tcp_* metrics", async () => {
    const replies: string[] = [];
    for (let i = 0; i < 200; i++) replies.push(await roundTrip(port, "ping"));
    const fromA = replies.filter((r) => r === "a:ping").length;
    const fromB = replies.filter((r) => r === "b:ping").length;
    expect(fromA + fromB).toBe(200);
    expect(shareDeviation(fromA, 200, 0.5)).toBeLessThanOrEqual(1);
    const text = (await get(engine.ports.stats, "/stats/prometheus")).body;
    const opened = text
      .split("\n")
      .filter((l) => l.startsWith("istio_tcp_connections_opened_total{") && l.includes('request_protocol="tcp"'));
    expect(opened.reduce((n, l) => n + Number(l.split(" ").pop()), 0)).toBe(200);
    const received = text.split("\n").filter((l) => l.startsWith("istio_tcp_received_bytes_total{"));
    expect(received.reduce((n, l) => n + Number(l.split(" ").pop()), 0)).toBe(800);
  });
});

describe("a TCP proxy's access log", () => {
  let a: { port: number; server: Server };
  let engine: Engine;
  let port: number;
  const lines: string[] = [];
  beforeAll(async () => {
    a = await echo("a");
    ({ engine, port } = await startEngine(
      {
        listeners: [
          tcpListener({
            cluster: "a",
            access_log: [
              {
                name: "envoy.access_loggers.file",
                typed_config: {
                  "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
                  path: "/dev/stdout",
                  log_format: {
                    text_format_source: {
                      inline_string:
                        '"%REQ(:METHOD)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %UPSTREAM_CLUSTER% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%\n',
                    },
                  },
                },
              },
            ],
          }),
        ],
        clusters: [cluster("a", [a.port])],
      },
      { accessLogStream: { write: (l: string) => lines.push(l) } },
    ));
  });
  afterAll(async () => {
    await engine.stop();
    a.server.close();
  });

  it("writes one line per connection when it closes, as Envoy's: no request, code 0, the bytes each way", async () => {
    expect(await roundTrip(port, "ping")).toBe("a:ping");
    await until(() => lines.length > 0);
    expect(lines).toEqual(['"- -" 0 - 4 6 a 127.0.0.1\n']);
  });
});
