// Chain keys across config swaps for the client's match steps: a connection's key names its chain by the groups that
// picked it, so the next config's chain for the same groups serves it (and none, when those groups are gone).
import { ChainKeys, DEFAULT_CHAIN } from "./chain-keys.js";
import { compile, type Listener } from "./config/index.js";
import { cluster } from "../../test/support/engine/helpers.js";
import { range, tcpChain } from "../../test/support/engine/tcp-chains.js";

const listener = (chains: unknown[]): Listener =>
  compile({
    listeners: [
      { name: "tcp", address: { socket_address: { address: "0.0.0.0", port_value: 1 } }, filter_chains: chains },
    ],
    clusters: ["a", "b", "c", "d"].map((n) => cluster(n, [1])),
  }).listeners[0]!;

describe("chain keys for the client's steps", () => {
  it("finds a connection's chain in the next config by its source type, range and port, and none once they are gone", () => {
    const chains = (to: [string, string, string]) => [
      tcpChain(to[0], { source_type: "EXTERNAL", source_prefix_ranges: [range("10.0.0.0/8")], source_ports: [4000] }),
      tcpChain(to[1], { source_type: "EXTERNAL", source_prefix_ranges: [range("10.0.0.0/8")] }),
      tcpChain(to[2], { direct_source_prefix_ranges: [range("192.168.0.0/16")] }),
    ];
    let current = listener(chains(["a", "b", "c"]));
    const keys = new ChainKeys(() => current);
    const pick = (src: string, srcPort: number) => {
      const p = keys.pick(DEFAULT_CHAIN, { dst: "10.9.9.9", src, srcPort });
      if (typeof p !== "object") throw new Error(`no chain for ${src}:${srcPort}`);
      return p;
    };
    const cluster = (l: Listener | undefined) => l?.tcp?.cluster;
    const byPort = pick("10.1.1.1", 4000);
    const other = pick("10.1.1.1", 4001);
    const direct = pick("192.168.1.1", 4000);
    expect([byPort, other, direct].map((p) => cluster(p.listener))).toEqual(["a", "b", "c"]);
    expect(new Set([byPort.key, other.key, direct.key]).size).toBe(3);
    current = listener(chains(["b", "c", "d"]));
    expect([byPort, other, direct].map((p) => cluster(keys.chainListener(p.key)))).toEqual(["b", "c", "d"]);
    current = listener([tcpChain("a", { source_type: "EXTERNAL", source_prefix_ranges: [range("10.0.0.0/8")] })]);
    expect(keys.chainListener(byPort.key)).toBeUndefined();
    expect(cluster(keys.chainListener(other.key))).toBe("a");
    expect(keys.chainListener(direct.key)).toBeUndefined();
  });
});
