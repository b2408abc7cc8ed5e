import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { TYPE } from "../../../proxy/xds/types.js";
import { SnapshotGenerator } from "../ads/generator.js";
import { XdsMetrics } from "../ads/metrics.js";
import { monitoringServer } from "../ads/monitoring.js";
import { SyncTracker } from "../ads/tracker.js";
import type { Graph } from "./contract.js";

const NODE = "sidecar~127.0.0.9~productpage-v1.default~default.svc.cluster.local";
const metricsAt = (n: number) =>
  `istio_requests_total{reporter="source",source_workload="productpage-v1",source_workload_namespace="default",destination_workload="<img src=x onerror=alert(1)>",destination_workload_namespace="default",response_code="200"} ${n}\n`;

describe("the dashboard on :15014", () => {
  let server: Server;
  let base: string;
  const tracker = new SyncTracker();
  let calls = 0;
  const scraped: string[] = [];

  beforeAll(async () => {
    tracker.connect(1, NODE);
    tracker.setScrapeTarget(1, () => ({ url: "http://127.0.0.9:15090/stats/prometheus" }));
    tracker.sent(1, TYPE.listener, "2");
    tracker.nacked(1, TYPE.listener, "2", "listener 0.0.0.0_80: unknown filter");
    server = monitoringServer({
      tracker,
      metrics: new XdsMetrics(),
      generator: new SnapshotGenerator(),
      configWarnings: () => [],
      replica: "weftd-0",
      graph: {
        intervalMs: 20,
        fetch: (url) => {
          scraped.push(url);
          return Promise.resolve(metricsAt(10 * ++calls));
        },
      },
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("serves the page with a policy that allows only its own files, and refuses anything but GET", async () => {
    const page = await fetch(`${base}/dashboard`);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(await page.text()).toContain('src="dashboard/app.js"');
    const script = await (await fetch(`${base}/dashboard/app.js`)).text();
    expect(script).not.toContain("innerHTML");
    expect((await fetch(`${base}/dashboard/graph`, { method: "POST" })).status).toBe(405);
  });

  it("serves the graph from the scraped metrics, names kept as data, with the proxy's NACK", async () => {
    const g = (await (await fetch(`${base}/dashboard/graph`)).json()) as Graph;
    expect(scraped[0]).toBe("http://127.0.0.9:15090/stats/prometheus");
    expect(g.edges[0]).toMatchObject({
      source: "default/productpage-v1",
      destination: "default/<img src=x onerror=alert(1)>",
    });
    const proxy = g.nodes.find((n) => n.id === "default/productpage-v1")?.proxies[0];
    expect(proxy?.sync.LDS).toBe("NACKED");
    expect(proxy?.nacks[0]).toMatchObject({ type: "LDS", error: "listener 0.0.0.0_80: unknown filter" });
  });

  it("streams the graph as server-sent events, its rate rising as the counter does", async () => {
    const res = await fetch(`${base}/dashboard/events`);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = "";
    let rps = 0;
    while (rps === 0) {
      const { value } = await reader.read();
      text += new TextDecoder().decode(value);
      const events = text.split("\n\n").filter((e) => e.startsWith("event: graph"));
      const last = events[events.length - 1];
      if (last) rps = (JSON.parse(last.slice(last.indexOf("data: ") + 6)) as Graph).edges[0]?.rps ?? 0;
    }
    expect(rps).toBeGreaterThan(0);
    await reader.cancel();
  });
});
