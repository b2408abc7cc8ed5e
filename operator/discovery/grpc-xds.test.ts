// The proof with a client we did not write: an unmodified @grpc/grpc-js-xds client dials xds:///echo against
// `weft discovery` in local mode, and sees the VirtualService's split, its header match, and a file change.
import { Metadata, Server, credentials, makeGenericClientConstructor } from "@grpc/grpc-js";
import type { ServiceDefinition, ServiceError } from "@grpc/grpc-js";
import grpcXds from "@grpc/grpc-js-xds";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Discovery } from "./server.js";
import { bindGrpc, startDiscovery } from "./server.js";
import { shareDeviation } from "../../test/support/share.js";

interface Reply {
  version: string;
}

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const echoService: ServiceDefinition = {
  Echo: {
    path: "/weft.test.Echo/Echo",
    requestStream: false,
    responseStream: false,
    requestSerialize: json,
    requestDeserialize: (b: Buffer): unknown => JSON.parse(b.toString()),
    responseSerialize: json,
    responseDeserialize: (b: Buffer): unknown => JSON.parse(b.toString()),
  },
};

async function echoServer(version: string): Promise<{ server: Server; port: number }> {
  const server = new Server();
  server.addService(echoService, {
    Echo: (_call: unknown, callback: (err: null, reply: Reply) => void) => callback(null, { version }),
  });
  const port = await bindGrpc(server, "127.0.0.1", 0);
  return { server, port };
}

const mesh = (v1: number, v2: number): string => `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: echo }
spec:
  hosts: [echo]
  ports: [{ number: 7070, name: grpc, protocol: GRPC }]
  resolution: STATIC
  workloadSelector: { labels: { app: echo } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: echo-v1 }
spec: { address: 127.0.0.1, ports: { grpc: ${v1} }, labels: { app: echo, version: v1 } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: echo-v2 }
spec: { address: 127.0.0.1, ports: { grpc: ${v2} }, labels: { app: echo, version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: echo }
spec:
  host: echo
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]
`;

const virtualService = (weightV1: number): string => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: echo }
spec:
  hosts: [echo]
  http:
  - match: [{ headers: { end-user: { exact: jason } } }]
    route: [{ destination: { host: echo, subset: v2 } }]
  - match: [{ headers: { x-fail: { exact: abort } } }]
    fault: { abort: { grpcStatus: UNAVAILABLE, percentage: { value: 100 } } }
    route: [{ destination: { host: echo, subset: v1 } }]
  - route:
    - { destination: { host: echo, subset: v1 }, weight: ${weightV1} }
    - { destination: { host: echo, subset: v2 }, weight: ${100 - weightV1} }
`;

describe("grpc-js-xds against weft discovery", () => {
  let dir: string;
  let discovery: Discovery;
  const servers: Server[] = [];
  let call: (md?: Metadata) => Promise<string>;
  let closeClient: () => void;

  beforeAll(async () => {
    const v1 = await echoServer("v1");
    const v2 = await echoServer("v2");
    servers.push(v1.server, v2.server);
    dir = await mkdtemp(path.join(tmpdir(), "weft-e2e-"));
    await writeFile(path.join(dir, "mesh.yaml"), mesh(v1.port, v2.port));
    await writeFile(path.join(dir, "virtual-service.yaml"), virtualService(50));
    const quiet = { info: () => undefined, warn: () => undefined };
    discovery = await startDiscovery({
      configDir: dir,
      address: "127.0.0.1",
      xdsPort: 0,
      monitoringPort: 0,
      log: quiet,
    });

    process.env["GRPC_XDS_BOOTSTRAP_CONFIG"] = JSON.stringify({
      xds_servers: [
        {
          server_uri: `127.0.0.1:${discovery.xdsPort}`,
          channel_creds: [{ type: "insecure" }],
          server_features: ["xds_v3"],
        },
      ],
      node: { id: "sidecar~127.0.0.1~client.default~default.svc.cluster.local", locality: {} },
    });
    grpcXds.register();
    const Echo = makeGenericClientConstructor(echoService, "Echo");
    const client = new Echo("xds:///echo", credentials.createInsecure());
    const echo = (
      client as unknown as Record<
        string,
        (req: object, md: Metadata, cb: (err: ServiceError | null, r?: Reply) => void) => void
      >
    )["Echo"];
    call = (md = new Metadata()) =>
      new Promise((resolve, reject) => {
        echo?.call(client, {}, md, (err, reply) => (err ? reject(err) : resolve(reply?.version ?? "")));
      });
    closeClient = () => client.close();
  }, 30_000);

  afterAll(async () => {
    closeClient?.();
    delete process.env["GRPC_XDS_BOOTSTRAP_CONFIG"];
    await discovery?.close();
    for (const s of servers) s.forceShutdown();
    await rm(dir, { recursive: true, force: true });
  });

  async function count(n: number, md?: Metadata): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (let i = 0; i < n; i += 50) {
      const batch = await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => call(md)));
      for (const v of batch) counts[v] = (counts[v] ?? 0) + 1;
    }
    return counts;
  }

  interface Sync {
    node: string;
    connectedSince: string;
    types: Record<string, { sent?: string; acked?: string; nack?: { error: string } }>;
  }

  async function syncz(): Promise<Sync[]> {
    const res = await fetch(`http://127.0.0.1:${discovery.monitoringPort}/debug/syncz`);
    return (await res.json()) as Sync[];
  }

  async function until(what: string, condition: (s: Sync[]) => boolean): Promise<Sync[]> {
    for (let i = 0; i < 300; i++) {
      const s = await syncz();
      if (condition(s)) return s;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  it("splits 50/50 between v1 and v2 (within 5σ over 1000 RPCs)", async () => {
    const counts = await count(1000);
    expect((counts["v1"] ?? 0) + (counts["v2"] ?? 0)).toBe(1000);
    expect(shareDeviation(counts["v1"] ?? 0, 1000, 0.5)).toBeLessThanOrEqual(1);
  }, 30_000);

  it("sends end-user: jason to v2 only", async () => {
    const md = new Metadata();
    md.set("end-user", "jason");
    expect(await count(200, md)).toEqual({ v2: 200 });
  }, 30_000);

  it("injects the VirtualService's fault: an abort with a gRPC status", async () => {
    const md = new Metadata();
    md.set("x-fail", "abort");
    await expect(call(md)).rejects.toMatchObject({ code: 14, details: "Fault injected" });
  });

  it("takes a rewrite of the VirtualService file to 100% v1 in under 1 s, on the same connection", async () => {
    const before = await syncz();
    expect(before).toHaveLength(1);
    const written = Date.now();
    await writeFile(path.join(dir, "virtual-service.yaml"), virtualService(100));
    // Effective once 50 RPCs in a row land on v1 (by chance, 2^-50 under the old split).
    let streak = 0;
    let firstOfStreak = 0;
    for (let i = 0; i < 100_000 && streak < 50; i++) {
      const sentAt = Date.now();
      if ((await call()) === "v1") {
        if (streak++ === 0) firstOfStreak = sentAt;
      } else streak = 0;
    }
    expect(streak).toBe(50);
    const took = firstOfStreak - written;
    process.stdout.write(`VirtualService change took effect in ${took} ms\n`);
    expect(took).toBeLessThan(1000);
    const after = await syncz();
    expect(after).toEqual([
      expect.objectContaining({ node: before[0]?.node, connectedSince: before[0]?.connectedSince }),
    ]);
  }, 30_000);

  it("is NACKed for a route gRPC can't take, keeps serving the last good config, and shows the error", async () => {
    const redirect = virtualService(100).replace(
      "  - route:\n    - { destination: { host: echo, subset: v1 }, weight: 100 }",
      "  - match: [{ uri: { prefix: /moved } }]\n    redirect: { uri: /elsewhere }\n  - route:\n    - { destination: { host: echo, subset: v1 }, weight: 100 }",
    );
    await writeFile(path.join(dir, "virtual-service.yaml"), redirect);
    const [state] = await until("the NACK", (s) => s[0]?.types["RDS"]?.nack !== undefined);
    expect(state?.types["RDS"]?.nack?.error).toMatch(/unsupported action: redirect/);
    expect(state?.types["RDS"]?.acked).not.toBe(state?.types["RDS"]?.sent);
    expect(await count(100)).toEqual({ v1: 100 });
    const summary = (await (
      await fetch(`http://127.0.0.1:${discovery.monitoringPort}/debug/summary`)
    ).json()) as object;
    expect(summary).toMatchObject({ connected: 1, synced: 0, nacked: 1, nacks: [{ type: "RDS" }] });

    await writeFile(path.join(dir, "virtual-service.yaml"), virtualService(50));
    await until(
      "the ACK of the fixed config",
      (s) => s[0]?.types["RDS"]?.nack === undefined && s[0]?.types["RDS"]?.acked === s[0]?.types["RDS"]?.sent,
    );
  }, 30_000);

  it("takes a new endpoint from a push of only the changed assignments, and keeps the others", async () => {
    const v1b = await echoServer("v1b");
    servers.push(v1b.server);
    const before = (await syncz())[0]?.types["EDS"]?.sent;
    await writeFile(
      path.join(dir, "echo-v1b.yaml"),
      `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: echo-v1b }
spec: { address: 127.0.0.1, ports: { grpc: ${v1b.port} }, labels: { app: echo, version: v1 } }
`,
    );
    await until("the ACK of the new assignments", (s) => {
      const eds = s[0]?.types["EDS"];
      return eds?.sent !== undefined && eds.sent !== before && eds.acked === eds.sent;
    });
    let seen = 0;
    for (let i = 0; i < 100 && !seen; i++) seen = (await count(50))["v1b"] ?? 0;
    expect(seen).toBeGreaterThan(0);
    // Subset v2's assignment wasn't in that push: the client still has it.
    const md = new Metadata();
    md.set("end-user", "jason");
    expect(await count(50, md)).toEqual({ v2: 50 });
  }, 30_000);
});
