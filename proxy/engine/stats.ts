// Istio's standard metrics (names and labels), so existing Grafana and Kiali queries work. Label children are
// cached per label combination, so a request costs a map lookup and three observations.
import { Counter, Histogram, Registry } from "prom-client";

export interface Workload {
  name: string;
  namespace: string;
  app: string;
  version: string;
  cluster: string;
  principal: string;
}

export const unknownWorkload: Workload = {
  name: "unknown", namespace: "unknown", app: "unknown", version: "unknown", cluster: "unknown", principal: "unknown",
};

const LABELS = [
  "reporter", "source_workload", "source_workload_namespace", "source_principal", "source_app", "source_version",
  "source_cluster", "source_canonical_service", "source_canonical_revision", "destination_workload",
  "destination_workload_namespace", "destination_principal", "destination_app", "destination_version",
  "destination_service", "destination_service_name", "destination_service_namespace", "destination_cluster",
  "destination_canonical_service", "destination_canonical_revision", "request_protocol", "response_code",
  "grpc_response_status", "response_flags", "connection_security_policy",
] as const;
type Labels = Record<(typeof LABELS)[number], string>;

const MS_BUCKETS = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];
const BYTE_BUCKETS = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000];

interface Children {
  requests: ReturnType<Counter<string>["labels"]>;
  duration: ReturnType<Histogram<string>["labels"]>;
  requestBytes: ReturnType<Histogram<string>["labels"]>;
  responseBytes: ReturnType<Histogram<string>["labels"]>;
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
  cluster: string;
  peerWorkload: string | undefined;
  code: number;
  flags: string;
  durationMs: number;
  requestBytes: number;
  responseBytes: number;
}

export class Stats {
  readonly registry = new Registry();
  private readonly requests: Counter<string>;
  private readonly duration: Histogram<string>;
  private readonly requestBytes: Histogram<string>;
  private readonly responseBytes: Histogram<string>;
  private readonly children = new Map<string, Children>();

  constructor(private readonly self: Workload = unknownWorkload) {
    const r = [this.registry];
    const labelNames = [...LABELS];
    this.requests = new Counter({ name: "istio_requests_total", help: "Requests handled, by Istio's standard labels.", labelNames, registers: r });
    this.duration = new Histogram({ name: "istio_request_duration_milliseconds", help: "Request duration in milliseconds.", labelNames, buckets: MS_BUCKETS, registers: r });
    this.requestBytes = new Histogram({ name: "istio_request_bytes", help: "Request sizes in bytes.", labelNames, buckets: BYTE_BUCKETS, registers: r });
    this.responseBytes = new Histogram({ name: "istio_response_bytes", help: "Response sizes in bytes.", labelNames, buckets: BYTE_BUCKETS, registers: r });
  }

  record(rec: RequestRecord): void {
    const key = `${rec.inbound ? "d" : "s"}|${rec.cluster}|${rec.peerWorkload ?? ""}|${rec.code}|${rec.flags}`;
    let c = this.children.get(key);
    if (!c) {
      const l = this.labels(rec);
      c = {
        requests: this.requests.labels(l),
        duration: this.duration.labels(l),
        requestBytes: this.requestBytes.labels(l),
        responseBytes: this.responseBytes.labels(l),
      };
      this.children.set(key, c);
    }
    c.requests.inc();
    c.duration.observe(rec.durationMs);
    c.requestBytes.observe(rec.requestBytes);
    c.responseBytes.observe(rec.responseBytes);
  }

  private labels(rec: RequestRecord): Labels {
    const svc = serviceOf(rec.cluster);
    const me = this.self;
    const peer = rec.peerWorkload ?? "unknown";
    const src = rec.inbound ? unknownWorkload : me;
    const dst: Workload = rec.inbound ? me : { ...unknownWorkload, name: peer, namespace: peer === "unknown" ? "unknown" : svc.namespace };
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
      request_protocol: "http",
      response_code: String(rec.code),
      grpc_response_status: "",
      response_flags: rec.flags,
      connection_security_policy: rec.inbound ? "none" : "unknown",
    };
  }
}
