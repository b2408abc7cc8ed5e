import { mergePrometheus } from "./prom-merge.js";
import { mergeStatsText } from "./worker-stats.js";

describe("one proxy's stats from its workers", () => {
  it("adds up counters and counting gauges in /stats, keeps whole-proxy gauges, and names each worker's listener", () => {
    const w0 = [
      "cluster.b.upstream_rq_total: 3",
      "cluster.b.upstream_cx_active: 1",
      "cluster.b.membership_total: 2",
      "cluster.b.circuit_breakers.default.cx_open: 0",
      "cluster.b.circuit_breakers.default.remaining_cx: 9",
      "listener.http.downstream_cx_total: 5",
    ].join("\n");
    const w1 = [
      "cluster.b.upstream_rq_total: 4",
      "cluster.b.upstream_cx_active: 2",
      "cluster.b.membership_total: 2",
      "cluster.b.circuit_breakers.default.cx_open: 1",
      "cluster.b.circuit_breakers.default.remaining_cx: 0",
      "listener.http.downstream_cx_total: 6",
    ].join("\n");
    const merged = new Map(
      mergeStatsText([w0, w1])
        .trim()
        .split("\n")
        .map((l) => l.split(": ") as [string, string]),
    );
    expect(Object.fromEntries(merged)).toEqual({
      "cluster.b.upstream_rq_total": "7",
      "cluster.b.upstream_cx_active": "3",
      "cluster.b.membership_total": "2",
      "cluster.b.circuit_breakers.default.cx_open": "1",
      "cluster.b.circuit_breakers.default.remaining_cx": "0",
      "listener.http.downstream_cx_total": "11",
      "listener.http.worker_0.downstream_cx_total": "5",
      "listener.http.worker_1.downstream_cx_total": "6",
    });
  });

  it("adds up Prometheus gauges across workers, but across epochs keeps the current engines' gauges", () => {
    const text = (active: number, total: number) =>
      [
        "# HELP envoy_cluster_upstream_cx_active a",
        "# TYPE envoy_cluster_upstream_cx_active gauge",
        `envoy_cluster_upstream_cx_active{cluster_name="b"} ${active}`,
        "# HELP envoy_cluster_upstream_rq_total b",
        "# TYPE envoy_cluster_upstream_rq_total counter",
        `envoy_cluster_upstream_rq_total{cluster_name="b"} ${total}`,
      ].join("\n");
    const workers = mergePrometheus([text(1, 10), text(2, 20)], true);
    expect(workers).toContain('envoy_cluster_upstream_cx_active{cluster_name="b"} 3');
    expect(workers).toContain('envoy_cluster_upstream_rq_total{cluster_name="b"} 30');
    const epochs = mergePrometheus([text(1, 10), text(2, 20)]);
    expect(epochs).toContain('envoy_cluster_upstream_cx_active{cluster_name="b"} 1');
    expect(epochs).toContain('envoy_cluster_upstream_rq_total{cluster_name="b"} 30');
  });
});
