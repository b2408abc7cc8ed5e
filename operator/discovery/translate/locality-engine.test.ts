// Locality failover end to end: a DestinationRule with outlierDetection through translate, for a proxy in zone z1,
// applied to Weft's engine, and real traffic to three backends on loopback in two zones as they fail and are ejected.
import { localShape, OUTBOUND_LISTENER } from "../../../proxy/agent/local-shape.js";
import { backend, get, many, testEngine, type Backend } from "../../../test/support/engine/helpers.js";
import type { Engine } from "../../../proxy/engine/engine.js";
import { meshModel, zonedEntry } from "../../../test/support/discovery/mesh.js";
import { shareDeviation } from "../../../test/support/share.js";
import { parseNodeId, translate } from "./index.js";

const client = parseNodeId("sidecar~127.0.0.9~client-0.default~default.svc.cluster.local");

const mesh = (ports: number[]) => `
${zonedEntry(`  endpoints:
  - { address: 127.0.0.1, ports: { http: ${ports[0]} }, locality: r1/z1 }
  - { address: 127.0.0.1, ports: { http: ${ports[1]} }, locality: r1/z1 }
  - { address: 127.0.0.1, ports: { http: ${ports[2]} }, locality: r1/z2 }`)}
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: client-0 }
spec: { address: 127.0.0.9, labels: { app: client }, locality: r1/z1 }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: zoned }
spec:
  host: zoned.example
  trafficPolicy:
    loadBalancer: { simple: ROUND_ROBIN }
    outlierDetection: { consecutive5xxErrors: 1, baseEjectionTime: 60s, maxEjectionPercent: 100 }
`;

describe("locality failover through translate and the engine", () => {
  const failing = new Set<string>();
  let backends: Backend[] = [];
  let engine: Engine;
  let port: number;
  const CLUSTER = "outbound|80||zoned.example";

  beforeAll(async () => {
    backends = await Promise.all(
      ["z1-a", "z1-b", "z2-c"].map((name) =>
        backend(name, (_req, res) => {
          res.writeHead(failing.has(name) ? 500 : 200);
          res.end(name);
        }),
      ),
    );
    const out = translate(meshModel(mesh(backends.map((b) => b.port))), client);
    expect(out.warnings).toEqual([]);
    const shaped = localShape({ version: "1", ...out }, { ip: "127.0.0.1", appAddress: "127.0.0.1", outboundPort: 0 });
    engine = await testEngine(shaped);
    port = engine.listenerPort(OUTBOUND_LISTENER);
  });
  afterAll(async () => {
    await engine.stop();
    for (const b of backends) await b.close();
  });

  const send = (n: number) => many(n, 1, () => get(port, "/", { host: "zoned.example" }));
  const hits = () => backends.map((b) => b.hits);
  const reset = () => backends.forEach((b) => (b.hits = 0));
  async function eject(n: number): Promise<void> {
    for (let i = 0; i < 20 && engine.clusterRuntime(CLUSTER)!.ejected < n; i++) await send(1);
    expect(engine.clusterRuntime(CLUSTER)!.ejected).toBe(n);
    reset();
  }

  it("keeps traffic in the proxy's zone, spills 30% to the next zone at half its hosts, and fails over entirely", async () => {
    await send(40);
    expect(hits()).toEqual([20, 20, 0]);
    failing.add("z1-a");
    await eject(1);
    const spill = await send(400);
    expect(spill.every((r) => r.status === 200)).toBe(true);
    expect(hits()[0]).toBe(0);
    expect(shareDeviation(hits()[2]!, 400, 0.3)).toBeLessThanOrEqual(1);
    failing.add("z1-b");
    await eject(2);
    // Zone z1 has no healthy host and Istio turns panic off under outlier detection: all of it to z2.
    const over = await send(40);
    expect(over.every((r) => r.status === 200 && r.body === "z2-c")).toBe(true);
    expect(engine.statsText()).toContain(`cluster.${CLUSTER}.lb_healthy_panic: 0`);
  });
});
