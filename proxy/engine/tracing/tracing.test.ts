import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Registry } from "../prometheus.js";
import { Counters } from "../counters.js";
import { compile } from "../config/index.js";
import { incomingTrace, injectSpan, startSpan } from "./context.js";
import { MAX_QUEUE, SpanExporter } from "./exporter.js";
import type { FinishedSpan } from "./encode.js";

const hex = (n: number) => "c".repeat(n * 2);
const never = () => 0.99;

describe("trace context", () => {
  it("reads traceparent, B3 headers and single b3, in that order", () => {
    const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    expect(incomingTrace(["traceparent", tp, "x-b3-traceid", "a".repeat(32)])).toEqual({
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      sampled: true,
    });
    expect(incomingTrace(["x-b3-traceid", "a".repeat(16), "x-b3-spanid", "b".repeat(16), "x-b3-sampled", "0"])).toEqual(
      { traceId: "0".repeat(16) + "a".repeat(16), spanId: "b".repeat(16), sampled: false },
    );
    expect(incomingTrace(["b3", `${"a".repeat(32)}-${"b".repeat(16)}-1`])).toMatchObject({ sampled: true });
    expect(incomingTrace(["b3", "0"])).toEqual({ sampled: false });
  });

  it("ignores an invalid traceparent (all-zero trace id, bad flags) and starts a new trace", () => {
    const t = startSpan(["traceparent", `00-${"0".repeat(32)}-00f067aa0ba902b7-01`], 100, never, hex);
    expect(t).toEqual({ traceId: "c".repeat(32), spanId: "c".repeat(16), parentId: undefined, sampled: true });
  });

  it("honours the caller's sampling decision over the percentage; samples new traces at the percentage", () => {
    const tp = `00-${"a".repeat(32)}-${"b".repeat(16)}-00`;
    expect(startSpan(["traceparent", tp], 100, never, hex)).toMatchObject({ parentId: "b".repeat(16), sampled: false });
    expect(startSpan([], 0, () => 0, hex).sampled).toBe(false);
    expect(startSpan([], 50, () => 0.49, hex).sampled).toBe(true);
    expect(startSpan([], 50, () => 0.5, hex).sampled).toBe(false);
  });

  it("replaces the caller's headers with this span, in W3C and B3 form", () => {
    const h = ["b3", "1", "traceparent", "00-x-y-01", "x-b3-spanid", "old"];
    injectSpan(h, { traceId: "a".repeat(32), spanId: "b".repeat(16), parentId: "d".repeat(16), sampled: true });
    expect(h).toEqual([
      "traceparent",
      `00-${"a".repeat(32)}-${"b".repeat(16)}-01`,
      "x-b3-traceid",
      "a".repeat(32),
      "x-b3-spanid",
      "b".repeat(16),
      "x-b3-sampled",
      "1",
      "x-b3-parentspanid",
      "d".repeat(16),
    ]);
  });
});

describe("the span exporter", () => {
  const span: FinishedSpan = {
    ids: { traceId: "a".repeat(32), spanId: "b".repeat(16), parentId: undefined, sampled: true },
    name: "x/*",
    kind: "SERVER",
    startUs: 1,
    durationUs: 1,
    tags: [],
    error: false,
  };

  it("never holds more than MAX_QUEUE spans: the rest are dropped and counted, and the queue is sent", async () => {
    let got = 0;
    const collector = createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        got += (JSON.parse(body) as unknown[]).length;
        res.end();
      });
    });
    await new Promise<void>((r) => collector.listen(0, "127.0.0.1", r));
    const counters = new Counters(new Registry());
    const port = (collector.address() as AddressInfo).port;
    const e = new SpanExporter(
      { kind: "zipkin", cluster: "zipkin", path: "/api/v2/spans", authority: "", serviceName: "", timeoutMs: 5000 },
      { resolve: () => ({ address: "127.0.0.1", port }), counters, local: { serviceName: "a.b", ip: "127.0.0.1" } },
    );
    for (let i = 0; i < MAX_QUEUE + 10; i++) e.add(span); // synchronously: no flush can run in between
    expect(counters.get("tracing", "zipkin", "spans_dropped")).toBe(10);
    await e.stop();
    collector.close();
    expect(got).toBe(MAX_QUEUE);
    expect(counters.get("tracing", "zipkin", "spans_sent")).toBe(MAX_QUEUE);
  });
});

describe("the HCM's tracing provider", () => {
  const listener = (provider: unknown) => ({
    version: "1",
    clusters: [{ name: "zipkin", type: "STATIC", load_assignment: { cluster_name: "zipkin", endpoints: [] } }],
    listeners: [
      {
        name: "l",
        address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
        filter_chains: [
          {
            filters: [
              {
                name: "hcm",
                typed_config: {
                  "@type":
                    "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                  stat_prefix: "s",
                  route_config: { name: "r", virtual_hosts: [] },
                  tracing: { random_sampling: { value: 10 }, provider },
                },
              },
            ],
          },
        ],
      },
    ],
  });

  it("is NACKed naming the field when it isn't one this proxy implements", () => {
    const otel = "type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig";
    expect(() => compile(listener({ name: "o", typed_config: { "@type": otel, grpc_service: {} } }))).toThrow(
      /tracing\.provider\.typed_config\.grpc_service: not supported/,
    );
    const zipkin = "type.googleapis.com/envoy.config.trace.v3.ZipkinConfig";
    const z = {
      "@type": zipkin,
      collector_endpoint: "/api/v2/spans",
      trace_id_128bit: true,
      shared_span_context: false,
    };
    expect(() => compile(listener({ name: "z", typed_config: { ...z, collector_cluster: "nope" } }))).toThrow(
      /collector_cluster: unknown cluster "nope"/,
    );
    expect(() =>
      compile(
        listener({
          name: "z",
          typed_config: { ...z, collector_cluster: "zipkin", collector_endpoint_version: "GRPC" },
        }),
      ),
    ).toThrow(/collector_endpoint_version/);
    const ok = compile(listener({ name: "z", typed_config: { ...z, collector_cluster: "zipkin" } }));
    expect(ok.listeners[0]?.hcm?.tracer).toMatchObject({ kind: "zipkin", cluster: "zipkin", path: "/api/v2/spans" });
  });
});
