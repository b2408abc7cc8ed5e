import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { TYPE } from "../../../proxy/xds/types.js";
import { SnapshotGenerator } from "./generator.js";
import { XdsMetrics } from "./metrics.js";
import { monitoringServer } from "./monitoring.js";
import { SyncTracker } from "./tracker.js";
import type { ProxyStatusResponse } from "./syncz.js";
import { WEFT_VERSION } from "../../api/version.js";

describe("monitoring on :15014", () => {
  let server: Server;
  let base: string;
  const tracker = new SyncTracker();
  const metrics = new XdsMetrics();

  beforeAll(async () => {
    tracker.connect(1, "sidecar~10.0.0.1~a.default~default.svc.cluster.local", new Date("2026-11-22T00:00:00Z"));
    tracker.sent(1, TYPE.cluster, "3");
    tracker.nacked(1, TYPE.cluster, "2", "bad cluster", new Date("2026-11-22T00:00:01Z"));
    metrics.connected.set(1);
    metrics.pushes.inc({ type: "CDS" });
    server = monitoringServer({
      tracker,
      metrics,
      generator: new SnapshotGenerator(),
      configWarnings: () => ["a.yaml: broken"],
      replica: "weftd-0",
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it("serves the same at /debug/proxy-status, with the replica and its version", async () => {
    const body = (await (await fetch(`${base}/debug/proxy-status`)).json()) as ProxyStatusResponse;
    expect(body.replica).toBe("weftd-0");
    expect(body.version).toBe(WEFT_VERSION);
    expect(body.proxies).toEqual(await (await fetch(`${base}/debug/syncz`)).json());
    expect(body.proxies[0]?.types["CDS"]?.nack?.error).toBe("bad cluster");
  });

  it("serves every proxy's sync state at /debug/syncz", async () => {
    const res = await fetch(`${base}/debug/syncz`);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.json()).toEqual([
      {
        node: "sidecar~10.0.0.1~a.default~default.svc.cluster.local",
        connectedSince: "2026-11-22T00:00:00.000Z",
        types: { CDS: { sent: "3", nack: { version: "2", error: "bad cluster", at: "2026-11-22T00:00:01.000Z" } } },
      },
    ]);
  });

  it("serves Prometheus metrics at /metrics", async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toContain("weft_proxies_connected 1");
    expect(text).toContain('weft_xds_pushes_total{type="CDS"} 1');
    expect(text).toContain("weft_xds_push_time_seconds_bucket");
    expect(text).toContain("# TYPE weft_xds_nacks_total counter");
  });

  it("serves the operator's summary and the config warnings", async () => {
    expect(await (await fetch(`${base}/debug/summary`)).json()).toMatchObject({ connected: 1, synced: 0, nacked: 1 });
    expect(await (await fetch(`${base}/debug/configz`)).json()).toEqual({
      version: "0",
      warnings: ["a.yaml: broken"],
      rejected: [],
      failedSnapshots: [],
    });
    expect((await fetch(`${base}/nothing`)).status).toBe(404);
  });
});
