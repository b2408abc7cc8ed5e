// The HCM's `tracing`: random_sampling, and the provider spans are exported to (Envoy's Zipkin tracer with
// HTTP_JSON, or its OpenTelemetry tracer over OTLP/HTTP). What the engine doesn't implement is a NACK naming it.
import { TYPE, typeName } from "../../xds/types.js";
import { anyType, join, onlyKnown, type Obj, type Reader } from "./read.js";

export interface TracerConfig {
  kind: "zipkin" | "opentelemetry";
  /** The cluster the collector is reached through. */
  cluster: string;
  /** Where spans are POSTed: /api/v2/spans (Zipkin), /v1/traces (OTLP/HTTP). */
  path: string;
  /** The Host header sent with reports; empty: the collector's address. */
  authority: string;
  /** OpenTelemetry's `service_name`; empty: the proxy's own. */
  serviceName: string;
  timeoutMs: number;
}

export interface Tracing {
  /** Percent of the traces this proxy starts that are sampled. */
  samplingPercent: number;
  tracer: TracerConfig | undefined;
}

const ZIPKIN = typeName(TYPE.zipkin);
const OTEL = typeName(TYPE.openTelemetry);

function only(r: Reader, o: Obj, known: readonly string[], path: string): void {
  onlyKnown(r, o, path, known, path.slice(path.lastIndexOf(".") + 1) || "tracing");
}

function zipkin(r: Reader, c: Obj, p: string, hasCluster: (n: string) => boolean): TracerConfig {
  only(
    r,
    c,
    [
      "@type",
      "collector_cluster",
      "collector_endpoint",
      "trace_id_128bit",
      "shared_span_context",
      "collector_endpoint_version",
      "collector_hostname",
    ],
    p,
  );
  const cluster = r.reqStr(c, "collector_cluster", p);
  if (!hasCluster(cluster)) r.fail(join(p, "collector_cluster"), `unknown cluster "${cluster}"`);
  const path = r.reqStr(c, "collector_endpoint", p);
  if (!path.startsWith("/")) r.fail(join(p, "collector_endpoint"), "must be a path starting with /");
  r.enumName(c, "collector_endpoint_version", p, ["HTTP_JSON"] as const, "HTTP_JSON");
  // 128-bit trace ids and a span per hop (Istio's settings) are what this proxy makes.
  if (r.bool(c, "trace_id_128bit", p) !== true) r.fail(join(p, "trace_id_128bit"), "only true is supported");
  if (r.bool(c, "shared_span_context", p) !== false) r.fail(join(p, "shared_span_context"), "only false is supported");
  return {
    kind: "zipkin",
    cluster,
    path,
    authority: r.str(c, "collector_hostname", p) ?? "",
    serviceName: "",
    timeoutMs: 5000,
  };
}

function openTelemetry(r: Reader, c: Obj, p: string, hasCluster: (n: string) => boolean): TracerConfig {
  only(r, c, ["@type", "http_service", "service_name"], p);
  const hp = join(p, "http_service");
  const hs = r.optObj(c, "http_service", p);
  if (!hs) return r.fail(hp, "required (grpc_service is not supported: OTLP/HTTP only)");
  only(r, hs, ["http_uri"], hp);
  const up = join(hp, "http_uri");
  const uri = r.optObj(hs, "http_uri", hp) ?? r.fail(up, "required");
  only(r, uri, ["uri", "cluster", "timeout"], up);
  const cluster = r.reqStr(uri, "cluster", up);
  if (!hasCluster(cluster)) r.fail(join(up, "cluster"), `unknown cluster "${cluster}"`);
  let url: URL;
  try {
    url = new URL(r.reqStr(uri, "uri", up));
  } catch {
    return r.fail(join(up, "uri"), "not a URL");
  }
  if (url.protocol !== "http:") r.fail(join(up, "uri"), "only http:// is supported");
  return {
    kind: "opentelemetry",
    cluster,
    path: url.pathname + url.search,
    authority: url.host,
    serviceName: r.str(c, "service_name", p) ?? "",
    timeoutMs: r.duration(uri, "timeout", up) ?? 5000,
  };
}

/** tracing.random_sampling.value (percent; no tracing block: 100) and tracing.provider. */
export function compileTracing(r: Reader, hcm: Obj, hp: string, hasCluster: (n: string) => boolean): Tracing {
  const t = r.optObj(hcm, "tracing", hp);
  if (!t) return { samplingPercent: 100, tracer: undefined };
  const tp = join(hp, "tracing");
  only(r, t, ["random_sampling", "provider"], tp);
  const rs = r.optObj(t, "random_sampling", tp);
  const v = rs ? (r.num(rs, "value", join(tp, "random_sampling")) ?? 100) : 100;
  if (!(v >= 0 && v <= 100)) r.fail(join(tp, "random_sampling.value"), `${v} is not a percentage`);
  const provider = r.optObj(t, "provider", tp);
  if (!provider) return { samplingPercent: v, tracer: undefined };
  const pp = join(tp, "provider");
  only(r, provider, ["name", "typed_config"], pp);
  const cp = join(pp, "typed_config");
  const typed = r.optObj(provider, "typed_config", pp) ?? r.fail(cp, "required");
  const type = anyType(typed);
  const tracer =
    type === ZIPKIN
      ? zipkin(r, typed, cp, hasCluster)
      : type === OTEL
        ? openTelemetry(r, typed, cp, hasCluster)
        : r.fail(join(cp, "@type"), `${type ?? "none"}: not supported (only ${ZIPKIN} and ${OTEL} are)`);
  return { samplingPercent: v, tracer };
}
