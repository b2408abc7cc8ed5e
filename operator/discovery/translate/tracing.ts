// The mesh's tracer in Envoy's terms: the HCM's tracing.provider (Envoy's Zipkin tracer with Istio's settings:
// HTTP_JSON, 128-bit trace ids, a span per hop; or its OpenTelemetry tracer over OTLP/HTTP), and the cluster the
// collector is reached through, named as Istio's bootstrap names it ("zipkin", "opentelemetry"): STATIC for an IP,
// STRICT_DNS for a hostname.
import { isIP } from "node:net";
import type { Cluster } from "../../../proxy/xds/resources.js";
import type { HttpConnectionManager } from "../../../proxy/xds/resources.js";
import { TYPE } from "../../../proxy/xds/types.js";
import type { TracingProvider } from "../model/mesh-tracing.js";

type Provider = NonNullable<NonNullable<HttpConnectionManager["tracing"]>["provider"]>;

export function collectorClusterName(t: TracingProvider): string {
  return t.kind;
}

export function tracerProvider(t: TracingProvider): Provider {
  const cluster = collectorClusterName(t);
  if (t.kind === "zipkin")
    return {
      name: "envoy.tracers.zipkin",
      typed_config: {
        "@type": TYPE.zipkin,
        collector_cluster: cluster,
        collector_endpoint: t.path,
        collector_endpoint_version: "HTTP_JSON",
        trace_id_128bit: true,
        shared_span_context: false,
      },
    };
  const host = isIP(t.host) === 6 ? `[${t.host}]` : t.host;
  return {
    name: "envoy.tracers.opentelemetry",
    typed_config: {
      "@type": TYPE.openTelemetry,
      http_service: {
        http_uri: { uri: `http://${host}:${t.port}${t.path}`, cluster, timeout: `${t.timeoutSeconds}s` },
      },
    },
  };
}

export function collectorCluster(t: TracingProvider): Cluster {
  const name = collectorClusterName(t);
  return {
    "@type": TYPE.cluster,
    name,
    type: isIP(t.host) ? "STATIC" : "STRICT_DNS",
    connect_timeout: "1s",
    lb_policy: "ROUND_ROBIN",
    load_assignment: {
      cluster_name: name,
      endpoints: [
        { lb_endpoints: [{ endpoint: { address: { socket_address: { address: t.host, port_value: t.port } } } }] },
      ],
    },
  };
}
