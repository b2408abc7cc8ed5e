// filter_chain_match's steps by the client, after transport and ALPN, through the engine with real TCP clients, in
// Envoy's order: direct_source_prefix_ranges, source_type, source_prefix_ranges, source_ports. Loopback 127.0.0.0/8 is
// all local on Linux: a client bound to 127.0.0.5 arrives from 127.0.0.5, and one connecting to 127.0.0.5 arrives at
// 127.0.0.5 on a listener bound to 0.0.0.0.
import type { Server } from "node:net";
import { cluster, freePort, testEngine } from "../../../test/support/engine/helpers.js";
import { echo, range, reach, tcpChain } from "../../../test/support/engine/tcp-chains.js";
import type { Engine } from "../engine.js";

describe("filter chains by the client: direct source, source type, source IP and port", () => {
  const backends: Record<string, { port: number; server: Server }> = {};
  let engine: Engine;
  let port: number;
  const apply = (chains: unknown[]) =>
    engine.apply({
      version: String(Math.random()),
      listeners: [
        { name: "tcp", address: { socket_address: { address: "0.0.0.0", port_value: port } }, filter_chains: chains },
      ],
      clusters: Object.entries(backends).map(([name, b]) => cluster(name, [b.port])),
    });
  beforeAll(async () => {
    for (const name of ["a", "b", "c"]) backends[name] = await echo(name);
    engine = await testEngine({});
    port = await freePort();
  });
  afterAll(async () => {
    await engine.stop();
    for (const b of Object.values(backends)) b.server.close();
  });

  it("tells local clients (127.0.0.1, ::1 or the listener's own address) from external ones, as Envoy", async () => {
    await apply([tcpChain("a", { source_type: "SAME_IP_OR_LOOPBACK" }), tcpChain("b", { source_type: "EXTERNAL" })]);
    expect(await reach(port, "127.0.0.1")).toBe("a:hi");
    expect(await reach(port, "127.0.0.5", "127.0.0.5")).toBe("a:hi");
    // Envoy's isLoopbackAddress is 127.0.0.1 alone: another loopback address to another is external.
    expect(await reach(port, "127.0.0.5")).toBe("b:hi");
    // A kind without chains goes to ANY's (source_type unset, or its number 0); with no ANY chain, it is closed.
    await apply([tcpChain("a", { source_type: 1 }), tcpChain("c", { source_type: 0 })]);
    expect(await reach(port, "127.0.0.1")).toBe("a:hi");
    expect(await reach(port, "127.0.0.5")).toBe("c:hi");
    await apply([tcpChain("a", { source_type: "SAME_IP_OR_LOOPBACK" })]);
    expect(await reach(port, "127.0.0.5")).toBe("closed");
  });

  it("decides the source type before the source IP, and never goes back", async () => {
    await apply([
      tcpChain("a", { source_type: "EXTERNAL" }),
      tcpChain("b", { source_prefix_ranges: [range("127.0.0.1/32")] }),
    ]);
    // External: the EXTERNAL chain, though the other chain's range is more specific.
    expect(await reach(port, "127.0.0.5")).toBe("a:hi");
    expect(await reach(port, "127.0.0.1")).toBe("b:hi");
    await apply([
      tcpChain("a", { source_type: "EXTERNAL", source_prefix_ranges: [range("127.0.0.5/32")] }),
      tcpChain("b"),
    ]);
    expect(await reach(port, "127.0.0.5")).toBe("a:hi");
    expect(await reach(port, "127.0.0.6")).toBe("closed");
    expect(await reach(port, "127.0.0.1")).toBe("b:hi");
  });

  it("matches direct_source_prefix_ranges first among the client's steps (no PROXY protocol: the client's IP)", async () => {
    await apply([
      tcpChain("a", { direct_source_prefix_ranges: [range("127.0.0.5/32")] }),
      tcpChain("b", { source_prefix_ranges: [range("127.0.0.5/32"), range("127.0.0.6/32")] }),
    ]);
    expect(await reach(port, "127.0.0.5")).toBe("a:hi");
    expect(await reach(port, "127.0.0.6")).toBe("b:hi");
    expect(await reach(port, "127.0.0.7")).toBe("closed");
  });

  it("matches the client's port last: its own chain, else the one listing no port", async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    const src = [range("127.0.0.5/32")];
    await apply([
      tcpChain("a", { source_prefix_ranges: src, source_ports: [p1] }),
      tcpChain("b", { source_prefix_ranges: src }),
      tcpChain("c"),
    ]);
    expect(await reach(port, { address: "127.0.0.5", port: p1 })).toBe("a:hi");
    expect(await reach(port, { address: "127.0.0.5", port: p2 })).toBe("b:hi");
    expect(await reach(port, "127.0.0.6")).toBe("c:hi");
    await apply([tcpChain("a", { source_ports: [p2] })]);
    expect(await reach(port, { address: "127.0.0.6", port: p2 })).toBe("a:hi");
    expect(await reach(port, "127.0.0.6")).toBe("closed");
  });

  it("refuses bad values and two chains for the same client, naming the field", async () => {
    const match = (m: Record<string, unknown>) => expect(apply([tcpChain("a", m), tcpChain("b")])).rejects;
    await match({ source_type: "LOCAL" }).toThrow(
      'filter_chains[0].filter_chain_match.source_type: unknown value "LOCAL" (expected one of ANY, SAME_IP_OR_LOOPBACK, EXTERNAL)',
    );
    await match({ source_ports: [0] }).toThrow("filter_chains[0].filter_chain_match.source_ports[0]: invalid port 0");
    await match({ direct_source_prefix_ranges: [range("127.0.0.0/33")] }).toThrow(
      'filter_chains[0].filter_chain_match.direct_source_prefix_ranges[0]: invalid prefix length 33 for "127.0.0.0"',
    );
    await expect(
      apply([tcpChain("a", { source_ports: [80] }), tcpChain("b", { source_ports: [81, 80] })]),
    ).rejects.toThrow("filter_chains[1].filter_chain_match.source_ports: 80 is matched by another chain");
    await expect(
      apply([tcpChain("a", { source_type: "EXTERNAL" }), tcpChain("b", { source_type: 2 })]),
    ).rejects.toThrow("filter_chains[1].filter_chain_match: is the same as another chain's");
  });
});
