// VirtualService tcp routes: weighted TCP on a sidecar's service listener and on a gateway's TCP server port
// (Istio's TCP Traffic Shifting task, with its own YAML).
import { readFileSync } from "node:fs";
import path from "node:path";
import { violations } from "../../../test/support/discovery/envoy.js";
import { listener } from "../../../test/support/discovery/find.js";
import { meshModel } from "../../../test/support/discovery/mesh.js";
import { repoRoot } from "../../../hack/local/mesh.js";
import { parseNodeId, translate } from "./index.js";
import { inSubnets } from "./tcp.js";

const TCP_ECHO = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: tcp-echo }
spec:
  hosts: [tcp-echo]
  addresses: [240.0.0.9]
  ports: [{ number: 9000, name: tcp, protocol: TCP }]
  resolution: STATIC
  workloadSelector: { labels: { app: tcp-echo } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: tcp-echo-v1 }
spec: { address: 127.0.0.21, labels: { app: tcp-echo, version: v1 } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: tcp-echo-v2 }
spec: { address: 127.0.0.22, labels: { app: tcp-echo, version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: istio-ingressgateway }
spec: { address: 127.0.0.5, labels: { istio: ingressgateway } }
`;
/** A tcp-echo VirtualService with these tcp routes (YAML list items), and the DestinationRule with its subsets. */
const tcpEchoRoutes = (routes: string) => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: tcp-echo }
spec:
  hosts: [tcp-echo]
  tcp:
${routes}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: tcp-echo }
spec: { host: tcp-echo, subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }] }
`;
const sample = (f: string) => readFileSync(path.join(repoRoot(), "samples/tcp-echo", f), "utf8");
const gateway = parseNodeId("router~127.0.0.5~istio-ingressgateway.default~default.svc.cluster.local");
const client = parseNodeId("sidecar~127.0.0.9~client-0.default~default.svc.cluster.local");
const tcpProxy = (l: Record<string, unknown>) =>
  (l["filter_chains"] as { filters: { typed_config: Record<string, unknown> }[] }[])[0]?.filters[0]?.typed_config;

describe("VirtualService tcp routes", () => {
  it("tcp-echo-all-v1.yaml: the gateway's TCP port 31400 goes to subset v1", () => {
    const out = translate(meshModel(TCP_ECHO, sample("tcp-echo-all-v1.yaml")), gateway);
    expect(violations(out)).toEqual([]);
    expect(tcpProxy(listener(out, "0.0.0.0_31400"))).toMatchObject({ cluster: "outbound|9000|v1|tcp-echo" });
  });

  it("a gateway's TCP port never takes a route by sourceSubnet or destinationSubnets (it has one chain for all)", () => {
    const yaml = sample("tcp-echo-all-v1.yaml").replace(
      "  tcp:\n",
      `  tcp:
  - match: [{ port: 31400, sourceSubnet: 10.0.0.0/8 }, { destinationSubnets: [0.0.0.0/0] }]
    route: [{ destination: { host: tcp-echo, port: { number: 9000 }, subset: v2 } }]
`,
    );
    const out = translate(meshModel(TCP_ECHO, yaml), gateway);
    expect(violations(out)).toEqual([]);
    expect(tcpProxy(listener(out, "0.0.0.0_31400"))).toMatchObject({ cluster: "outbound|9000|v1|tcp-echo" });
  });

  it("tcp-echo-20-v2.yaml: 80/20 weighted clusters", () => {
    const out = translate(meshModel(TCP_ECHO, sample("tcp-echo-all-v1.yaml"), sample("tcp-echo-20-v2.yaml")), gateway);
    expect(violations(out)).toEqual([]);
    expect(tcpProxy(listener(out, "0.0.0.0_31400"))).toMatchObject({
      weighted_clusters: {
        clusters: [
          { name: "outbound|9000|v1|tcp-echo", weight: 80 },
          { name: "outbound|9000|v2|tcp-echo", weight: 20 },
        ],
      },
    });
  });

  it("a mesh VirtualService shifts a sidecar's TCP service; matches on port and destinationSubnets", () => {
    const vs = (match: string) =>
      tcpEchoRoutes(`  - match: [${match}]
    route:
    - { destination: { host: tcp-echo, subset: v2 } }
  - route:
    - { destination: { host: tcp-echo, subset: v1 }, weight: 50 }
    - { destination: { host: tcp-echo, subset: v2 }, weight: 50 }
`);
    const out = (m: string) => translate(meshModel(TCP_ECHO, vs(m)), client);
    const first = (m: string) => tcpProxy(listener(out(m), "240.0.0.9_9000"));
    const chains = (m: string) => {
      const result = out(m);
      expect(violations(result)).toEqual([]);
      return (listener(result, "240.0.0.9_9000")["filter_chains"] as Record<string, unknown>[]).map((c) => ({
        match: c["filter_chain_match"],
        to: (c as { filters: { typed_config: { cluster?: string } }[] }).filters[0]?.typed_config.cluster ?? "weighted",
      }));
    };
    // As istiod's buildSidecarOutboundTCPFilterChainOpts: a route whose matches name destinationSubnets is a chain
    // matching them (prefix_ranges), before the last route's chain, which has no match.
    expect(chains("{ port: 9000, destinationSubnets: [240.0.0.0/16] }")).toEqual([
      {
        match: { prefix_ranges: [{ address_prefix: "240.0.0.0", prefix_len: 16 }] },
        to: "outbound|9000|v2|tcp-echo",
      },
      { match: undefined, to: "weighted" },
    ]);
    expect(chains("{ destinationSubnets: [10.0.0.0/8, 10.1.2.3] }, { port: 9001 }")).toEqual([
      {
        match: {
          prefix_ranges: [
            { address_prefix: "10.0.0.0", prefix_len: 8 },
            { address_prefix: "10.1.2.3", prefix_len: 32 },
          ],
        },
        to: "outbound|9000|v2|tcp-echo",
      },
      { match: undefined, to: "weighted" },
    ]);
    // A match without runtime predicates is the last chain: no default after it.
    expect(chains("{ port: 9000 }")).toEqual([{ match: undefined, to: "outbound|9000|v2|tcp-echo" }]);
    expect(first("{ port: 9001 }")).toMatchObject({
      weighted_clusters: { clusters: [{ weight: 50 }, { weight: 50 }] },
    });
    expect(first("{ sourceLabels: { app: client } }")).toHaveProperty("weighted_clusters"); // the client has no such labels
    // sourceSubnet (istiod never reads it): the client's IP, source_prefix_ranges. Envoy decides the destination
    // first, so a client subnet's route is repeated under each destination range (and that range gets a chain for
    // any other client), as the routes' order says.
    const range = (a: string, n: number) => ({ address_prefix: a, prefix_len: n });
    expect(
      chains("{ sourceSubnet: 127.0.0.5/32 }, { sourceSubnet: 127.0.1.0/24, destinationSubnets: [240.0.0.9] }"),
    ).toEqual([
      {
        match: { prefix_ranges: [range("240.0.0.9", 32)], source_prefix_ranges: [range("127.0.0.5", 32)] },
        to: "outbound|9000|v2|tcp-echo",
      },
      {
        match: { prefix_ranges: [range("240.0.0.9", 32)], source_prefix_ranges: [range("127.0.1.0", 24)] },
        to: "outbound|9000|v2|tcp-echo",
      },
      { match: { source_prefix_ranges: [range("127.0.0.5", 32)] }, to: "outbound|9000|v2|tcp-echo" },
      { match: { prefix_ranges: [range("240.0.0.9", 32)] }, to: "weighted" },
      { match: undefined, to: "weighted" },
    ]);
  });

  it("gives a range the route the routes' order gives it, as one chain, where istiod's chains would meet", () => {
    const out = translate(
      meshModel(
        TCP_ECHO,
        tcpEchoRoutes(`  - match: [{ destinationSubnets: [10.0.0.0/8] }]
    route: [{ destination: { host: tcp-echo, subset: v1 } }]
  - match: [{ destinationSubnets: [10.1.2.3/8, 20.0.0.0/8] }, { destinationSubnets: [10.0.0.0/8] }]
    route: [{ destination: { host: tcp-echo, subset: v2 } }]
  - match: [{ destinationSubnets: [10.0.0.0/8] }]
    route: [{ destination: { host: tcp-echo } }]
`),
      ),
      client,
    );
    expect(violations(out)).toEqual([]);
    const matches = (listener(out, "240.0.0.9_9000")["filter_chains"] as Record<string, unknown>[]).map(
      (c) => c["filter_chain_match"],
    );
    expect(matches).toEqual([
      { prefix_ranges: [{ address_prefix: "10.0.0.0", prefix_len: 8 }] },
      { prefix_ranges: [{ address_prefix: "20.0.0.0", prefix_len: 8 }] },
      undefined,
    ]);
  });

  it("matches addresses against CIDRs and single addresses", () => {
    expect(inSubnets("10.1.2.3", ["10.0.0.0/8"])).toBe(true);
    expect(inSubnets("10.1.2.3", ["10.1.2.4", "192.168.0.0/16"])).toBe(false);
    expect(inSubnets("10.1.2.4", ["10.1.2.4"])).toBe(true);
    expect(inSubnets(undefined, ["0.0.0.0/0"])).toBe(false);
  });

  it("gives a VIP:port that two TCP services share one listener, the first's, and says so", () => {
    const out = translate(
      meshModel(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: two }
spec:
  hosts: [a.example.com, b.example.com]
  addresses: [240.0.0.7]
  ports: [{ number: 9000, name: tcp, protocol: TCP }]
  resolution: DNS`),
      client,
    );
    expect(out.listeners.filter((l) => l["name"] === "240.0.0.7_9000")).toHaveLength(1);
    expect(tcpProxy(listener(out, "240.0.0.7_9000"))).toMatchObject({ cluster: "outbound|9000||a.example.com" });
    expect(out.warnings).toContain("b.example.com: 240.0.0.7:9000 is also a.example.com's, whose it stays");
    expect(violations(out)).toEqual([]);
  });
});
