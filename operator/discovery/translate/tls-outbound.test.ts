// Outbound TLS by server name, end to end: discovery translates ServiceEntries with TLS ports (no addresses, as
// external hosts are written) and a VirtualService's tls route; the engine runs what it sends; real TLS clients,
// through the 0.0.0.0_<port> listener as virtualOutbound hands intercepted connections on, reach real TLS servers
// (on 127.0.0.2–4, one port) and check their certificates: the proxy passes TLS through and routes by SNI alone.
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from "node:net";
import { connect, createSecureContext, createServer as createTlsServer } from "node:tls";
import { Engine } from "../../../proxy/engine/engine.js";
import type { ListenerRuntime } from "../../../proxy/engine/listener-runtime.js";
import type { Resources } from "../../../proxy/engine/config/types.js";
import { testCa, type TestCa } from "../../../test/support/engine/mesh-certs.js";
import { parseYaml } from "../../../test/support/discovery/bookinfo.js";
import { violations } from "../../../test/support/discovery/envoy.js";
import { normalise } from "../model/normalise.js";
import { validateObject } from "../validate/index.js";
import { parseNodeId, translate } from "./index.js";

const SIDECAR = parseNodeId("sidecar~10.0.0.12~app-0.default~default.svc.cluster.local");

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

const entries = (port: number, policy: "ALLOW_ANY" | "REGISTRY_ONLY", v2First = "") => `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: api, namespace: default }
spec:
  hosts: [api.example.test]
  ports: [{ number: 443, name: tls, protocol: TLS, targetPort: ${port} }]
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints: [{ address: 127.0.0.2 }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: other, namespace: default }
spec:
  hosts: [other.example.test, v2.example.test]
  ports: [{ number: 443, name: https, protocol: HTTPS, targetPort: ${port} }]
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints: [{ address: 127.0.0.3 }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: v2, namespace: default }
spec:
  hosts: [v2.example.test]
  tls:
${v2First}  - match: [{ port: 443, sniHosts: [v2.example.test] }]
    route: [{ destination: { host: api.example.test } }]
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default, namespace: default }
spec:
  outboundTrafficPolicy: { mode: ${policy} }
`;

describe("outbound TLS routed by server name (SNI), through the engine", () => {
  const servers: Server[] = [];
  let ca: TestCa;
  let port = 0;
  let engine: Engine | undefined;
  let front = 0;
  /** What the next intercepted connection's original destination is. */
  let original = "127.0.0.2";

  beforeAll(async () => {
    ca = await testCa();
    // One TLS server per address, each with a certificate for the names it serves, answering with its own name.
    const names: Record<string, string[]> = {
      "127.0.0.2": ["api.example.test", "v2.example.test"],
      "127.0.0.3": ["other.example.test", "v2.example.test"],
      "127.0.0.4": ["outside.test"],
    };
    for (const [address, dns] of Object.entries(names)) {
      const leaves = await Promise.all(dns.map((d) => ca.issue({ dns: d })));
      const server = createTlsServer(
        {
          ...leaves[0]!,
          SNICallback: (name, cb) => {
            const i = dns.indexOf(name);
            cb(null, createSecureContext(leaves[Math.max(i, 0)]!));
          },
        },
        (s) => s.end(`${address} ${s.servername || "-"}`),
      );
      servers.push(server);
      port = await listen(server, address, port);
    }
    const capture = createTcpServer((s: Socket) => {
      const runtime = engine && (engine as unknown as { listeners: Map<string, ListenerRuntime> }).listeners;
      const l = runtime?.get("0.0.0.0_443");
      if (!l) return s.destroy();
      l.accept(s, { address: original, port, family: "IPv4" });
    });
    servers.push(capture);
    front = await listen(capture, "127.0.0.1", 0);
  });

  afterAll(async () => {
    await engine?.stop();
    for (const s of servers) s.close();
  });

  async function configure(policy: "ALLOW_ANY" | "REGISTRY_ONLY", v2First = ""): Promise<void> {
    const objects = parseYaml(entries(port, policy, v2First));
    for (const o of objects) expect(validateObject(o)).toEqual([]);
    const result = translate(normalise(objects).model, SIDECAR);
    expect(violations(result)).toEqual([]);
    // This test stands where virtualOutbound stands (it would bind 15001): only the listener it hands on to runs.
    const res: Resources = {
      version: policy + v2First,
      listeners: result.listeners.filter((l) => l["name"] === "0.0.0.0_443"),
      routes: result.routes,
      clusters: result.clusters,
      endpoints: result.endpoints,
    };
    if (!engine) {
      engine = new Engine({ adminPort: 0, statsPort: 0, readyPort: 0, drainTimeoutMs: 200 });
      await engine.start();
    }
    await engine.apply(res);
  }

  /** A TLS client asking for `sni`, verifying the server's certificate for it: whom it reached, or how it failed. */
  const reach = (sni: string) =>
    new Promise<string>((resolve) => {
      const s = connect({
        host: "127.0.0.1",
        port: front,
        servername: sni,
        ca: ca.ca,
        checkServerIdentity: () => undefined,
      });
      s.on("secureConnect", () => {
        const cert = s.getPeerCertificate();
        if (!String(cert.subjectaltname ?? "").includes(`DNS:${sni}`)) resolve(`wrong certificate for ${sni}`);
      });
      const chunks: Buffer[] = [];
      s.on("data", (d: Buffer) => chunks.push(d));
      s.on("error", (e) => resolve(`error: ${e.message}`));
      s.on("close", () => resolve(Buffer.concat(chunks).toString() || "closed"));
    });

  it("sends each server name to its service, a tls route's name where the route says, and the rest as ALLOW_ANY does", async () => {
    await configure("ALLOW_ANY");
    original = "127.0.0.4"; // where the client meant to go: only names no service claims are sent there
    expect(await reach("api.example.test")).toBe("127.0.0.2 api.example.test");
    expect(await reach("other.example.test")).toBe("127.0.0.3 other.example.test");
    // v2.example.test is other's host, but its VirtualService's tls route sends it to api.
    expect(await reach("v2.example.test")).toBe("127.0.0.2 v2.example.test");
    expect(await reach("outside.test")).toBe("127.0.0.4 outside.test");
  });

  it("a tls match's destinationSubnets pick its route by the address the client meant, before the name", async () => {
    await configure(
      "ALLOW_ANY",
      `  - match: [{ port: 443, sniHosts: [v2.example.test], destinationSubnets: [127.0.0.3/32] }]
    route: [{ destination: { host: other.example.test } }]
`,
    );
    original = "127.0.0.3";
    expect(await reach("v2.example.test")).toBe("127.0.0.3 v2.example.test");
    original = "127.0.0.4";
    expect(await reach("v2.example.test")).toBe("127.0.0.2 v2.example.test");
    // As Envoy (and so Istio): the destination IP is decided first, and the chains of 127.0.0.3/32 are the only
    // candidates for a connection to it: another name there gets no chain, not the chain without ranges.
    original = "127.0.0.3";
    expect(await reach("api.example.test")).toMatch(/^(closed|error: )/);
  });

  it("REGISTRY_ONLY: a server name no service has goes nowhere; the known ones still go through", async () => {
    await configure("REGISTRY_ONLY");
    original = "127.0.0.4";
    expect(await reach("outside.test")).toMatch(/^(closed|error: )/);
    expect(await reach("api.example.test")).toBe("127.0.0.2 api.example.test");
  });
});

describe("outbound TLS listeners: conflicts are settled and said", () => {
  const entry = (name: string, hosts: string[], protocol: string, address = "127.0.0.2") => `---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: default }
spec: { hosts: [${hosts.join(", ")}], ports: [{ number: 443, name: p, protocol: ${protocol} }], resolution: STATIC, endpoints: [{ address: ${address} }] }
`;
  const run = (yaml: string) => {
    const result = translate(normalise(parseYaml(yaml)).model, SIDECAR);
    expect(violations(result)).toEqual([]);
    const l = result.listeners.find((x) => x["name"] === "0.0.0.0_443") as
      | {
          filter_chains: {
            filter_chain_match?: {
              server_names?: string[];
              prefix_ranges?: { address_prefix: string; prefix_len: number }[];
            };
            filters: { typed_config: { cluster?: string } }[];
          }[];
        }
      | undefined;
    const chains = l?.filter_chains.map((c) => {
      const ranges = c.filter_chain_match?.prefix_ranges?.map((r) => `${r.address_prefix}/${r.prefix_len} `) ?? [];
      const names = c.filter_chain_match?.server_names?.join(",") ?? "*";
      return `${ranges.join("")}${names} → ${c.filters[0]?.typed_config.cluster}`;
    });
    return { chains, warnings: result.warnings };
  };

  it("a server name two routes claim stays the first's, and the second is told", () => {
    const vs = (name: string, hosts: string, to: string) => `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ${name}, namespace: default }
spec:
  hosts: [${hosts}]
  tls: [{ match: [{ sniHosts: [a.test] }], route: [{ destination: { host: ${to} } }] }]
`;
    // a.test's own VirtualService sends a.test to c.test; b.test's, covering *.test, claims a.test for b.test.
    const { chains, warnings } = run(
      entry("a", ["a.test"], "TLS") +
        entry("b", ["b.test"], "TLS") +
        entry("c", ["c.test"], "TLS") +
        vs("own", "a.test", "c.test") +
        vs("wide", '"*.test"', "b.test"),
    );
    // c.test is covered by "wide" too, whose tls route applies there: as in Istio, no chain of its own then.
    expect(chains).toEqual(["a.test → outbound|443||c.test", "* → PassthroughCluster"]);
    expect(warnings.join("\n")).toMatch(/b\.test: server name a\.test on port 443 is a\.test's/);
  });

  it("a port HTTP holds on 0.0.0.0 stays HTTP, and the TLS services on it are told they are not served", () => {
    const result = translate(
      normalise(parseYaml(entry("web", ["web.test"], "HTTP") + entry("t", ["t.test"], "TLS"))).model,
      SIDECAR,
    );
    const l = result.listeners.filter((x) => x["name"] === "0.0.0.0_443");
    expect(JSON.stringify(l)).toContain("envoy.filters.network.http_connection_manager");
    expect(l).toHaveLength(1);
    expect(result.warnings.join("\n")).toMatch(
      /t\.test: TLS on port 443 without an address is not served: 0\.0\.0\.0:443 is HTTP/,
    );
  });

  it("one VirtualService whose hosts cover two services routes their names once, without a warning", () => {
    const vs = `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: both, namespace: default }
spec:
  hosts: ["*.example.test"]
  tls: [{ match: [{ sniHosts: [a.example.test] }], route: [{ destination: { host: b.example.test } }] }]
`;
    const { chains, warnings } = run(
      entry("a", ["a.example.test"], "TLS") + entry("b", ["b.example.test"], "TLS") + vs,
    );
    expect(chains).toEqual(["a.example.test → outbound|443||b.example.test", "* → PassthroughCluster"]);
    expect(warnings).toEqual([]);
  });

  it("renders a tls match's destinationSubnets as its chain's prefix_ranges, as istiod; a range and name held once", () => {
    const vs = `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: subnets, namespace: default }
spec:
  hosts: [a.test]
  tls:
  - match: [{ sniHosts: [a.test], destinationSubnets: [10.0.0.0/8, 10.9.9.9] }]
    route: [{ destination: { host: b.test } }]
  - match: [{ sniHosts: [a.test], destinationSubnets: [10.1.0.0/8, 20.0.0.0/8] }, { sniHosts: [a.test] }]
    route: [{ destination: { host: c.test } }]
`;
    const { chains, warnings } = run(
      entry("a", ["a.test"], "TLS") + entry("b", ["b.test"], "TLS") + entry("c", ["c.test"], "TLS") + vs,
    );
    // 10.1.0.0/8 is 10.0.0.0/8, which the first route holds for a.test: Envoy would refuse the two chains meeting.
    expect(chains).toEqual([
      "10.0.0.0/8 10.9.9.9/32 a.test → outbound|443||b.test",
      "20.0.0.0/8 a.test → outbound|443||c.test",
      "a.test → outbound|443||c.test",
      "b.test → outbound|443||b.test",
      "c.test → outbound|443||c.test",
      "* → PassthroughCluster",
    ]);
    expect(warnings).toEqual([]);
  });
});
