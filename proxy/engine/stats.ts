// Istio's standard metrics (names and labels), so existing Grafana and Kiali queries work. The hot path only bumps
// plain numbers in a per-label-set series; the registry (prometheus.ts) renders them at scrape time.
import { Registry, type Sample } from "./prometheus.js";

export interface Workload {
  name: string;
  namespace: string;
  app: string;
  version: string;
  cluster: string;
  principal: string;
}

export const unknownWorkload: Workload = {
  name: "unknown",
  namespace: "unknown",
  app: "unknown",
  version: "unknown",
  cluster: "unknown",
  principal: "unknown",
};

/** Istio's standard metric labels. */
export const ISTIO_LABELS = [
  "reporter",
  "source_workload",
  "source_workload_namespace",
  "source_principal",
  "source_app",
  "source_version",
  "source_cluster",
  "source_canonical_service",
  "source_canonical_revision",
  "destination_workload",
  "destination_workload_namespace",
  "destination_principal",
  "destination_app",
  "destination_version",
  "destination_service",
  "destination_service_name",
  "destination_service_namespace",
  "destination_cluster",
  "destination_canonical_service",
  "destination_canonical_revision",
  "request_protocol",
  "response_code",
  "grpc_response_status",
  "response_flags",
  "connection_security_policy",
] as const;
type Labels = Record<(typeof ISTIO_LABELS)[number], string>;

const MS_BUCKETS = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
];
const BYTE_BUCKETS = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000];

class Hist {
  readonly counts: Float64Array;
  sum = 0;
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > (b[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += v;
  }
}

class Series {
  count = 0;
  readonly duration = new Hist(MS_BUCKETS);
  readonly requestBytes = new Hist(BYTE_BUCKETS);
  readonly responseBytes = new Hist(BYTE_BUCKETS);
  constructor(readonly labels: Labels) {}
}

/** destination_service and its name and namespace, from an Istio cluster name `outbound|port|subset|fqdn`. */
export function serviceOf(cluster: string): { fqdn: string; name: string; namespace: string } {
  const parts = cluster.split("|");
  const fqdn = parts.length === 4 && parts[3] ? parts[3] : cluster;
  const labels = fqdn.split(".");
  return { fqdn, name: labels[0] ?? fqdn, namespace: labels.length > 1 ? (labels[1] as string) : "unknown" };
}

export interface RequestRecord {
  inbound: boolean;
  /** "grpc" for gRPC requests, else "http" (HTTP/1.1 and HTTP/2 alike, as Istio labels them). */
  protocol?: "http" | "grpc";
  /** The gRPC status of a gRPC response, "" otherwise. */
  grpcStatus?: string;
  cluster: string;
  peerWorkload: string | undefined;
  code: number;
  flags: string;
  durationMs: number;
  requestBytes: number;
  responseBytes: number;
}

/** What picks a request's series. */
type LabelFields = Pick<
  RequestRecord,
  "inbound" | "cluster" | "peerWorkload" | "code" | "flags" | "protocol" | "grpcStatus"
>;

type HistOf = (s: Series) => Hist;

class TcpSeries {
  opened = 0;
  closed = 0;
  sent = 0;
  received = 0;
  constructor(readonly labels: Record<string, string>) {}
}

export interface TcpRecord {
  inbound: boolean;
  cluster: string;
  peerWorkload: string | undefined;
  flags: string;
}

/**
 * The upstream's workload from its endpoint metadata `istio.workload`: Istio's
 * `<name>;<namespace>;<canonical service>;<revision>;<cluster>`, or a bare name (in the service's namespace).
 */
export function peerOf(meta: string | undefined, serviceNamespace: string): Workload {
  if (!meta) return unknownWorkload;
  const [name = "", namespace, app, version, cluster] = meta.split(";");
  if (!name) return unknownWorkload;
  return {
    ...unknownWorkload,
    name,
    namespace: namespace || serviceNamespace,
    ...(app ? { app } : {}),
    ...(version ? { version } : {}),
    ...(cluster ? { cluster } : {}),
  };
}

function histogramValues(name: string, series: Iterable<Series>, of: HistOf): Sample[] {
  const out: Sample[] = [];
  for (const s of series) {
    const h = of(s);
    let cumulative = 0;
    h.bounds.forEach((le, i) => {
      cumulative += h.counts[i] as number;
      out.push({ metricName: `${name}_bucket`, labels: { ...s.labels, le }, value: cumulative });
    });
    cumulative += h.counts[h.bounds.length] as number;
    out.push({
      metricName: `${name}_bucket`,
      labels: { ...s.labels, le: "+Inf" },
      value: cumulative,
    });
    out.push({ metricName: `${name}_sum`, labels: s.labels, value: h.sum });
    out.push({ metricName: `${name}_count`, labels: s.labels, value: cumulative });
  }
  return out;
}

export class Stats {
  readonly registry = new Registry();
  private readonly series = new Map<string, Series>();
  private readonly tcpSeries = new Map<string, TcpSeries>();
  private last: (LabelFields & { series: Series }) | undefined;
  constructor(private readonly self: Workload = unknownWorkload) {
    const all = () => this.series.values();
    this.registry.register("istio_requests_total", "Requests handled, by Istio's standard labels.", "counter", () =>
      [...all()].map((s) => ({ labels: s.labels, value: s.count })),
    );
    const hist = (name: string, help: string, of: HistOf) =>
      this.registry.register(name, help, "histogram", () => histogramValues(name, all(), of));
    hist("istio_request_duration_milliseconds", "Request duration in milliseconds.", (s) => s.duration);
    hist("istio_request_bytes", "Request sizes in bytes.", (s) => s.requestBytes);
    hist("istio_response_bytes", "Response sizes in bytes.", (s) => s.responseBytes);
    const tcp = (name: string, help: string, of: (s: TcpSeries) => number) =>
      this.registry.register(name, help, "counter", () =>
        [...this.tcpSeries.values()].map((s) => ({ labels: s.labels, value: of(s) })),
      );
    tcp("istio_tcp_connections_opened_total", "TCP connections opened.", (s) => s.opened);
    tcp("istio_tcp_connections_closed_total", "TCP connections closed.", (s) => s.closed);
    tcp("istio_tcp_sent_bytes_total", "Bytes sent to the downstream on TCP connections.", (s) => s.sent);
    tcp("istio_tcp_received_bytes_total", "Bytes received from the downstream on TCP connections.", (s) => s.received);
  }

  /** The TCP series of a connection; the caller bumps its counters. */
  tcp(rec: TcpRecord): TcpSeries {
    const key = `${rec.inbound ? "d" : "s"}|${rec.cluster}|${rec.peerWorkload ?? ""}|${rec.flags}`;
    let s = this.tcpSeries.get(key);
    if (!s) {
      const {
        response_code: _c,
        grpc_response_status: _g,
        ...labels
      } = this.labels({ ...rec, code: 0, durationMs: 0, requestBytes: 0, responseBytes: 0 });
      s = new TcpSeries({ ...labels, request_protocol: "tcp" });
      this.tcpSeries.set(key, s);
    }
    return s;
  }

  record(rec: RequestRecord): void {
    const s = this.sameAsLast(rec) ?? this.seriesOf(rec);
    s.count++;
    s.duration.observe(rec.durationMs);
    s.requestBytes.observe(rec.requestBytes);
    s.responseBytes.observe(rec.responseBytes);
  }

  /**
   * The last request's series when this one has the same labels, as most do: without building, flattening and
   * hashing the series key string per request (which the map lookup needs).
   */
  private sameAsLast(rec: RequestRecord): Series | undefined {
    const l = this.last;
    return l &&
      l.code === rec.code &&
      l.cluster === rec.cluster &&
      l.inbound === rec.inbound &&
      l.flags === rec.flags &&
      l.peerWorkload === rec.peerWorkload &&
      l.protocol === rec.protocol &&
      l.grpcStatus === rec.grpcStatus
      ? l.series
      : undefined;
  }

  private seriesOf(rec: RequestRecord): Series {
    const key = `${rec.inbound ? "d" : "s"}|${rec.cluster}|${rec.peerWorkload ?? ""}|${rec.code}|${rec.flags}|${rec.protocol ?? ""}|${rec.grpcStatus ?? ""}`;
    let s = this.series.get(key);
    if (!s) {
      s = new Series(this.labels(rec));
      this.series.set(key, s);
    }
    const { inbound, cluster, peerWorkload, code, flags, protocol, grpcStatus } = rec;
    this.last = { inbound, cluster, peerWorkload, code, flags, protocol, grpcStatus, series: s };
    return s;
  }

  private labels(rec: RequestRecord): Labels {
    const svc = serviceOf(rec.cluster);
    const me = this.self;
    const src = rec.inbound ? unknownWorkload : me;
    const dst: Workload = rec.inbound ? me : peerOf(rec.peerWorkload, svc.namespace);
    return {
      reporter: rec.inbound ? "destination" : "source",
      source_workload: src.name,
      source_workload_namespace: src.namespace,
      source_principal: src.principal,
      source_app: src.app,
      source_version: src.version,
      source_cluster: src.cluster,
      source_canonical_service: src.app,
      source_canonical_revision: src.version,
      destination_workload: dst.name,
      destination_workload_namespace: dst.namespace,
      destination_principal: dst.principal,
      destination_app: dst.app,
      destination_version: dst.version,
      destination_service: svc.fqdn,
      destination_service_name: svc.name,
      destination_service_namespace: svc.namespace,
      destination_cluster: dst.cluster,
      destination_canonical_service: dst.app,
      destination_canonical_revision: dst.version,
      request_protocol: rec.protocol ?? "http",
      response_code: String(rec.code),
      grpc_response_status: rec.grpcStatus ?? "",
      response_flags: rec.flags,
      connection_security_policy: rec.inbound ? "none" : "unknown",
    };
  }
}
