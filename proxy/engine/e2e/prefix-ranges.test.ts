// filter_chain_match.prefix_ranges and source_prefix_ranges through the engine, with real TCP clients: loopback
// 127.0.0.0/8 is all local on Linux, so a client bound to 127.0.0.5 arrives from 127.0.0.5, and one connecting to
// 127.0.0.2 arrives at 127.0.0.2 on a listener bound to 0.0.0.0.
import { createServer, type AddressInfo, type Server } from "node:net";
import { cluster, testEngine } from "../../../test/support/engine/helpers.js";
import { echo, range, reach, tcpChain } from "../../../test/support/engine/tcp-chains.js";
import type { Engine } from "../engine.js";

const TLS_INSPECTOR = "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector";

/** A chain proxying to `to`, matched by `match` (CIDR strings for the two range fields). */
function chain(to: string, match?: { dst?: string[]; src?: string[] }): Record<string, unknown> {
  return tcpChain(
    to,
    match && {
      ...(match.dst ? { prefix_ranges: match.dst.map(range) } : {}),
      ...(match.src ? { source_prefix_ranges: match.src.map(range) } : {}),
    },
  );
}

describe("filter chains by source and destination IP (source_prefix_ranges, prefix_ranges)", () => {
  let a: { port: number; server: Server };
  let b: { port: number; server: Server };
  let engine: Engine;
  let port: number;
  const listener = (chains: unknown[]) => ({
    version: String(Math.random()),
    listeners: [
      { name: "tcp", address: { socket_address: { address: "0.0.0.0", port_value: port } }, filter_chains: chains },
    ],
    clusters: [cluster("a", [a.port]), cluster("b", [b.port])],
  });
  beforeAll(async () => {
    a = await echo("a");
    b = await echo("b");
    engine = await testEngine({});
    port = await new Promise<number>((r) => {
      const s = createServer().listen(0, "0.0.0.0", () => {
        const free = (s.address() as AddressInfo).port;
        s.close(() => r(free));
      });
    });
  });
  afterAll(async () => {
    await engine.stop();
    a.server.close();
    b.server.close();
  });

  it("sends the client a source range holds to its chain, and every other client to the chain without ranges", async () => {
    await engine.apply(listener([chain("a", { src: ["127.0.0.5/32"] }), chain("b")]));
    expect(await reach(port, "127.0.0.5")).toBe("a:hi");
    expect(await reach(port, "127.0.0.6")).toBe("b:hi");
    expect(await reach(port, "127.0.0.1")).toBe("b:hi");
  });

  it("closes a client outside every range when no chain is without one, and counts it", async () => {
    await engine.apply(listener([chain("a", { src: ["127.0.0.5/32", "127.0.0.64/26"] })]));
    const before = engine.statsText().match(/^listener\.tcp\.no_filter_chain_match: (\d+)/m)?.[1] ?? "0";
    expect(await reach(port, "127.0.0.5")).toBe("a:hi");
    expect(await reach(port, "127.0.0.100")).toBe("a:hi");
    expect(await reach(port, "127.0.0.6")).toBe("closed");
    expect(await reach(port, "127.0.0.1")).toBe("closed");
    const after = engine.statsText().match(/^listener\.tcp\.no_filter_chain_match: (\d+)/m)?.[1];
    expect(Number(after) - Number(before)).toBe(2);
  });

  it("picks the longest range that holds the address, as Envoy does", async () => {
    await engine.apply(listener([chain("a", { src: ["127.0.0.0/24"] }), chain("b", { src: ["127.0.0.5/32"] })]));
    expect(await reach(port, "127.0.0.5")).toBe("b:hi");
    expect(await reach(port, "127.0.0.7")).toBe("a:hi");
    expect(await reach(port, "127.0.1.7")).toBe("closed");
  });

  it("matches the destination IP with prefix_ranges", async () => {
    await engine.apply(listener([chain("a", { dst: ["127.0.0.2/32"] }), chain("b")]));
    expect(await reach(port, "127.0.0.9", "127.0.0.2")).toBe("a:hi");
    expect(await reach(port, "127.0.0.9", "127.0.0.3")).toBe("b:hi");
  });

  it("decides the destination before the source, and never falls back to a less specific destination", async () => {
    // Envoy's order: the destination step keeps only the 127.0.0.2 chain, whose source range this client is outside
    // of; the chain without ranges is not a candidate any more, so the connection gets no chain.
    await engine.apply(listener([chain("a", { dst: ["127.0.0.2/32"], src: ["127.0.0.5/32"] }), chain("b")]));
    expect(await reach(port, "127.0.0.5", "127.0.0.2")).toBe("a:hi");
    expect(await reach(port, "127.0.0.6", "127.0.0.2")).toBe("closed");
    expect(await reach(port, "127.0.0.6", "127.0.0.3")).toBe("b:hi");
  });

  it("matches the source after the TLS inspector's transport, as Envoy's order has it", async () => {
    const raw = (c: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
      ...c,
      filter_chain_match: { ...(c.filter_chain_match as object), transport_protocol: "raw_buffer", ...extra },
    });
    const res = listener([raw(chain("a", { src: ["127.0.0.5/32"] })), raw(chain("b"))]);
    (res.listeners[0] as Record<string, unknown>).listener_filters = [
      { name: "envoy.filters.listener.tls_inspector", typed_config: { "@type": TLS_INSPECTOR } },
    ];
    await engine.apply(res);
    expect(await reach(port, "127.0.0.5")).toBe("a:hi");
    expect(await reach(port, "127.0.0.6")).toBe("b:hi");
  });

  it("refuses a bad range and two chains for the same source range, naming the field", async () => {
    await expect(engine.apply(listener([chain("a", { src: ["127.0.0.300/32"] }), chain("b")]))).rejects.toThrow(
      'filter_chains[0].filter_chain_match.source_prefix_ranges[0]: invalid address "127.0.0.300"',
    );
    await expect(engine.apply(listener([chain("a", { dst: ["127.0.0.0/33"] }), chain("b")]))).rejects.toThrow(
      'filter_chains[0].filter_chain_match.prefix_ranges[0]: invalid prefix length 33 for "127.0.0.0"',
    );
    await expect(
      engine.apply(listener([chain("a", { src: ["127.0.0.5/32"] }), chain("b", { src: ["127.0.0.5/32"] })])),
    ).rejects.toThrow(
      "filter_chains[1].filter_chain_match.source_prefix_ranges: 127.0.0.5/32 is matched by another chain",
    );
    // The config before stays.
    expect(await reach(port, "127.0.0.6", "127.0.0.3")).toBe("b:hi");
  });
});

// A dual-stack listener (bound to ::, IPV6_V6ONLY off) sees an IPv4 client as ::ffff:a.b.c.d, and its own address
// likewise: Envoy makes such an address the IPv4 address it is (addressFromSockAddr), so IPv4 ranges match it and
// IPv6 ranges, ::ffff:0:0/96 among them, don't. Needs an IPv6 loopback (::1), as Linux has by default.
describe("filter chains by address on a dual-stack listener (bound to ::)", () => {
  let a: { port: number; server: Server };
  let b: { port: number; server: Server };
  let engine: Engine;
  const apply = async (chains: unknown[]): Promise<number> => {
    await engine.apply({
      version: String(Math.random()),
      listeners: [
        { name: "dual", address: { socket_address: { address: "::", port_value: 0 } }, filter_chains: chains },
      ],
      clusters: [cluster("a", [a.port]), cluster("b", [b.port])],
    });
    return engine.listenerPort("dual")!;
  };
  beforeAll(async () => {
    a = await echo("a");
    b = await echo("b");
    engine = await testEngine({});
  });
  afterAll(async () => {
    await engine.stop();
    a.server.close();
    b.server.close();
  });

  it("matches an IPv4 client's source and destination as IPv4 addresses", async () => {
    let port = await apply([chain("a", { src: ["127.0.0.5/32"] }), chain("b")]);
    expect(await reach(port, "127.0.0.5")).toBe("a:hi");
    expect(await reach(port, "::ffff:127.0.0.5", "::ffff:127.0.0.1")).toBe("a:hi");
    expect(await reach(port, "127.0.0.6")).toBe("b:hi");
    expect(await reach(port, "::1", "::1")).toBe("b:hi");
    port = await apply([chain("a", { dst: ["127.0.0.2/32"] }), chain("b")]);
    expect(await reach(port, "127.0.0.9", "127.0.0.2")).toBe("a:hi");
    expect(await reach(port, "127.0.0.9", "127.0.0.3")).toBe("b:hi");
  });

  it("takes a range written as IPv6 as an IPv6 range, which no IPv4 client is in, as Envoy's CidrRange", async () => {
    // ::ffff:0:0/96 holds every IPv4-mapped address, but an IPv4 client's address is IPv4 by the time it is matched.
    let port = await apply([chain("a", { src: ["::ffff:0:0/96"] }), chain("b")]);
    expect(await reach(port, "127.0.0.5")).toBe("b:hi");
    // ::ffff:127.0.0.5/32 is ::/32 (the IPv6 loopback is in it), not 127.0.0.5/32.
    port = await apply([chain("a", { src: ["::ffff:127.0.0.5/32"] }), chain("b")]);
    expect(await reach(port, "127.0.0.5")).toBe("b:hi");
    expect(await reach(port, "::1", "::1")).toBe("a:hi");
  });
});
