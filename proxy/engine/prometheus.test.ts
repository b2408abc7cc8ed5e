// The engine's registry renders what prom-client's Registry renders for the same metrics, byte for byte (scrapers,
// the agent's merge of its engines' scrapes and the tests read this text), without loading prom-client.
import { Registry as PromRegistry, type Metric } from "prom-client";
import { Registry, type MetricType, type Sample } from "./prometheus.js";

const METRICS: [string, string, MetricType, Sample[]][] = [
  [
    "istio_requests_total",
    "Requests handled, by Istio's standard labels.",
    "counter",
    [
      { labels: { reporter: "destination", response_code: "200", source_workload: 'a"b\\c\nd' }, value: 3 },
      { labels: { reporter: "source", response_code: 503 }, value: 0 },
    ],
  ],
  [
    "istio_request_bytes",
    "Request sizes\nin bytes \\ more.",
    "histogram",
    [
      { metricName: "istio_request_bytes_bucket", labels: { le: 1 }, value: 1 },
      { metricName: "istio_request_bytes_bucket", labels: { le: "+Inf" }, value: 2 },
      { metricName: "istio_request_bytes_sum", labels: {}, value: 1.5 },
      { metricName: "istio_request_bytes_count", value: 2 },
    ],
  ],
  ["envoy_cluster_upstream_cx_active", "Envoy's cluster.upstream_cx_active.", "gauge", [{ value: -1 }]],
  ["odd", "Not a number, and infinities.", "gauge", [{ value: NaN }, { value: Infinity }, { value: -Infinity }]],
  ["empty_total", "No samples yet.", "counter", []],
];

describe("the engine's Prometheus registry", () => {
  it("renders as prom-client's Registry does", async () => {
    const ours = new Registry();
    const theirs = new PromRegistry();
    for (const [name, help, type, samples] of METRICS) {
      ours.register(name, help, type, () => samples);
      const get = async () => ({ name, help, type, aggregator: "sum", values: samples });
      theirs.registerMetric({ name, help, type, aggregator: "sum", get, reset: () => undefined } as unknown as Metric);
    }
    const text = ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain('source_workload="a\\"b\\\\c\\nd"');
    expect(new Registry().metrics()).toBe(await new PromRegistry().metrics());
  });

  it("refuses a second metric of the same name, as prom-client does", () => {
    const r = new Registry();
    r.register("a_total", "a", "counter", () => []);
    expect(r.has("a_total")).toBe(true);
    expect(() => r.register("a_total", "again", "counter", () => [])).toThrow(
      "A metric with the name a_total has already been registered.",
    );
  });
});
