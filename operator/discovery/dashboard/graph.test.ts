import { describe, expect, it } from "@jest/globals";
import type { SynczProxy } from "../ads/syncz.js";
import { buildGraph, GRAPH_METRICS, increases, quantile, type ProxyWindow } from "./graph.js";
import { parsePrometheus } from "./prom.js";

const node = (pod: string): string => `sidecar~127.0.0.9~${pod}.default~default.svc.cluster.local`;
const synced = (pod: string): SynczProxy => ({
  node: node(pod),
  connectedSince: "2026-01-01T00:00:00Z",
  types: { CDS: { sent: "1", acked: "1" }, LDS: { sent: "1", acked: "1" }, EDS: { sent: "1" }, RDS: {} },
});

/** What productpage's sidecar exposes after `calls` calls to reviews-v1, `fails` of them 503, each `ms` long. */
function productpage(calls: number, fails: number, ms: number): string {
  const l = (code: number) =>
    `reporter="source",source_workload="productpage-v1",source_workload_namespace="default",destination_workload="reviews-v1",destination_workload_namespace="default",response_code="${code}"`;
  const bucket = (code: number, n: number) =>
    [1, 5, 10, 25, 50, 100]
      .map((le) => `istio_request_duration_milliseconds_bucket{${l(code)},le="${le}"} ${ms <= le ? n : 0}`)
      .concat(`istio_request_duration_milliseconds_bucket{${l(code)},le="+Inf"} ${n}`)
      .join("\n");
  return [
    "# TYPE istio_requests_total counter",
    `istio_requests_total{${l(200)}} ${calls - fails}`,
    `istio_requests_total{${l(503)}} ${fails}`,
    // the destination's own report of the same calls: not an edge (it can't know the caller)
    `istio_requests_total{reporter="destination",source_workload="unknown",destination_workload="reviews-v1"} ${calls}`,
    bucket(200, calls - fails),
    bucket(503, fails),
    `istio_tcp_connections_opened_total{reporter="source"} 4`,
  ].join("\n");
}

const scrape = (at: number, text: string) => ({ at, samples: parsePrometheus(text, GRAPH_METRICS).samples });

describe("service graph from Istio metrics", () => {
  it("parses only the asked-for series, with escaped label values, and skips malformed lines", () => {
    const p = parsePrometheus(
      [
        'istio_requests_total{source_workload="a\\"b\\\\c",x="<script>"} 3',
        "istio_requests_total{broken 1",
        "other_metric 5",
        "istio_requests_total 7",
      ].join("\n"),
      GRAPH_METRICS,
    );
    expect(p.samples).toEqual([
      { name: "istio_requests_total", labels: { source_workload: 'a"b\\c', x: "<script>" }, value: 3 },
      { name: "istio_requests_total", labels: {}, value: 7 },
    ]);
    expect(p.dropped).toBe(1);
  });

  it("rates are counter increases over the window; a counter that went down was reset", () => {
    const s = (v: number) => [{ name: "c", labels: { a: "1" }, value: v }];
    expect(increases(s(15), s(10))[0]?.value).toBe(5);
    expect(increases(s(3), s(10))[0]?.value).toBe(3);
    expect(increases(s(3), [])[0]?.value).toBe(3);
  });

  it("quantiles interpolate within the bucket, as histogram_quantile", () => {
    const b = [
      { le: 10, count: 50 },
      { le: 20, count: 100 },
      { le: Infinity, count: 100 },
    ];
    expect(quantile(0.5, b)).toBe(10);
    expect(quantile(0.75, b)).toBe(15);
    expect(quantile(0.5, [{ le: 10, count: 0 }])).toBeUndefined();
    expect(
      quantile(0.99, [
        { le: 5, count: 1 },
        { le: Infinity, count: 100 },
      ]),
    ).toBe(5);
  });

  it("builds workloads and the caller-side edge with rate, success rate and latency", () => {
    const w: ProxyWindow[] = [
      {
        proxy: synced("productpage-v1"),
        oldest: scrape(10_000, productpage(100, 0, 4)),
        newest: scrape(20_000, productpage(150, 10, 4)),
      },
      { proxy: synced("reviews-v1"), nacks: [{ type: "LDS", version: "2", error: "bad", at: "t" }] },
    ];
    const g = buildGraph(w, "weftd-0", 30);
    expect(g.nodes.map((n) => n.id)).toEqual(["default/productpage-v1", "default/reviews-v1"]);
    expect(g.edges).toEqual([
      {
        source: "default/productpage-v1",
        destination: "default/reviews-v1",
        requests: 50,
        rps: 5,
        successRate: 0.8,
        p50: expect.any(Number),
        p99: expect.any(Number),
      },
    ]);
    expect(g.edges[0]?.p50).toBeGreaterThan(1);
    expect(g.edges[0]?.p50).toBeLessThanOrEqual(5);
    const reviews = g.nodes[1]?.proxies[0];
    expect(reviews?.sync).toEqual({ CDS: "SYNCED", LDS: "SYNCED", EDS: "STALE (Never Acknowledged)", RDS: "NOT SENT" });
    expect(reviews?.nacks).toEqual([{ type: "LDS", version: "2", error: "bad", at: "t" }]);
  });

  it("an edge seen before the window stays, idle; with one scrape there is no rate yet", () => {
    const g = buildGraph([{ proxy: synced("productpage-v1"), newest: scrape(1, productpage(5, 0, 4)) }], "r", 30);
    expect(g.edges).toEqual([
      { source: "default/productpage-v1", destination: "default/reviews-v1", rps: 0, requests: 0 },
    ]);
  });
});
