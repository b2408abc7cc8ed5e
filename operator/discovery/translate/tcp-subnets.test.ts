// VirtualService tcp routes by client and destination subnet, end to end: discovery translates two TCP services and a
// VirtualService whose routes name sourceSubnet and destinationSubnets; the engine runs the VIP's listener as
// virtualOutbound hands intercepted connections on; real TCP clients bound to 127.0.0.x (loopback is all local on
// Linux) reach real TCP servers, each answering with its name.
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { Engine } from "../../../proxy/engine/engine.js";
import type { ListenerRuntime } from "../../../proxy/engine/listener-runtime.js";
import { parseYaml } from "../../../test/support/discovery/bookinfo.js";
import { violations } from "../../../test/support/discovery/envoy.js";
import { normalise } from "../model/normalise.js";
import { validateObject } from "../validate/index.js";
import { parseNodeId, translate } from "./index.js";

const SIDECAR = parseNodeId("sidecar~10.0.0.12~app-0.default~default.svc.cluster.local");

const listen = (server: Server, host = "127.0.0.1"): Promise<number> =>
  new Promise((resolve) => server.listen(0, host, () => resolve((server.address() as AddressInfo).port)));

const entry = (name: string, vip: string, port: number) => `---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: default }
spec:
  hosts: [${name}.example.test]
  addresses: [${vip}]
  ports: [{ number: 9000, name: tcp, protocol: TCP, targetPort: ${port} }]
  location: MESH_INTERNAL
  resolution: STATIC
  endpoints: [{ address: 127.0.0.1 }]
`;

const routes = `---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: db, namespace: default }
spec:
  hosts: [db.example.test]
  tcp:
  - match: [{ sourceSubnet: 127.0.0.5/32 }, { sourceSubnet: 127.0.0.6, destinationSubnets: [240.0.0.0/8] }]
    route: [{ destination: { host: admin.example.test } }]
  - match: [{ sourceSubnet: 127.0.0.8/32, destinationSubnets: [10.0.0.0/8] }]
    route: [{ destination: { host: admin.example.test } }]
`;

describe("VirtualService tcp routes by sourceSubnet and destinationSubnets, through the engine", () => {
  const servers: Server[] = [];
  let engine: Engine;
  let front = 0;

  beforeAll(async () => {
    const echo = (name: string) => createServer((s) => s.on("data", (d: Buffer) => s.end(`${name}:${d.toString()}`)));
    const admin = echo("admin");
    const db = echo("db");
    servers.push(admin, db);
    const yaml =
      entry("db", "240.0.0.9", await listen(db)) + entry("admin", "240.0.0.10", await listen(admin)) + routes;
    const objects = parseYaml(yaml);
    for (const o of objects) expect(validateObject(o)).toEqual([]);
    const result = translate(normalise(objects).model, SIDECAR);
    expect(violations(result)).toEqual([]);
    engine = new Engine({ adminPort: 0, statsPort: 0, readyPort: 0, drainTimeoutMs: 200 });
    await engine.start();
    // This test stands where virtualOutbound stands: the client's connection, meant for the VIP, goes to its listener.
    await engine.apply({
      version: "1",
      listeners: result.listeners.filter((l) => l["name"] === "240.0.0.9_9000"),
      clusters: result.clusters,
      endpoints: result.endpoints,
    });
    const capture = createServer((s: Socket) => {
      const runtime = (engine as unknown as { listeners: Map<string, ListenerRuntime> }).listeners;
      const l = runtime.get("240.0.0.9_9000");
      if (!l) return s.destroy();
      l.accept(s, { address: "240.0.0.9", port: 9000, family: "IPv4" });
    });
    servers.push(capture);
    front = await listen(capture);
  });

  afterAll(async () => {
    await engine.stop();
    for (const s of servers) s.close();
  });

  /** What a client from `from` to db.example.test's VIP hears back, or "closed". */
  const reach = (from: string) =>
    new Promise<string>((resolve) => {
      const s = connect({ host: "127.0.0.1", port: front, localAddress: from }, () => s.write("hi"));
      const chunks: Buffer[] = [];
      s.on("data", (d: Buffer) => chunks.push(d));
      s.on("error", () => undefined);
      s.on("close", () => resolve(Buffer.concat(chunks).toString() || "closed"));
    });

  it("sends the client sourceSubnet names to its route, and every other client to the service", async () => {
    expect(await reach("127.0.0.5")).toBe("admin:hi");
    expect(await reach("127.0.0.1")).toBe("db:hi");
    expect(await reach("127.0.0.9")).toBe("db:hi");
  });

  it("with destinationSubnets too: the client in both, to its route; other clients to that range, to the service", async () => {
    expect(await reach("127.0.0.6")).toBe("admin:hi"); // 240.0.0.9 is in 240.0.0.0/8
    expect(await reach("127.0.0.7")).toBe("db:hi"); // not closed: the range has a chain for any client
    expect(await reach("127.0.0.8")).toBe("db:hi"); // 240.0.0.9 is outside 10.0.0.0/8
  });
});
