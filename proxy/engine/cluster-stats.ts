// A cluster's Envoy statistics, with Envoy's names (docs: configuration/upstream/cluster_manager/cluster_stats),
// for /stats (`cluster.<name>.<stat>: <value>`) and Prometheus (`envoy_cluster_<stat>{cluster_name="<name>"}`, `.`
// becoming `_`, as Envoy's Prometheus output). The hot path bumps plain fields.
import type { FloodStat } from "./h2/output.js";

/** Counters: they only grow. */
export class ClusterCounters {
  upstream_cx_total = 0;
  upstream_cx_connect_fail = 0;
  upstream_cx_connect_timeout = 0;
  upstream_cx_overflow = 0;
  upstream_cx_idle_timeout = 0;
  upstream_cx_max_requests = 0;
  upstream_cx_max_duration_reached = 0;
  upstream_rq_total = 0;
  upstream_rq_pending_total = 0;
  upstream_rq_pending_overflow = 0;
  upstream_rq_cancelled = 0;
  upstream_rq_retry = 0;
  upstream_rq_retry_overflow = 0;
  upstream_rq_timeout = 0;
  upstream_rq_per_try_timeout = 0;
  /** Picks made in panic: the level drawn had fewer healthy hosts than healthy_panic_threshold (Envoy's name). */
  lb_healthy_panic = 0;
  /** A request body overflowed the replay limit while retries or shadows might still need it: they are given up. */
  retry_or_shadow_abandoned = 0;
  readonly tls = { handshake: 0, failVerifyError: 0, failVerifySan: 0, secretsNotReady: 0 };
  /** The HTTP/2 codec's flood counters, for upstream connections (Envoy's cluster.<name>.http2.<stat>). */
  readonly http2: Record<FloodStat, number> = {
    inbound_empty_frames_flood: 0,
    inbound_priority_frames_flood: 0,
    inbound_window_update_frames_flood: 0,
    outbound_flood: 0,
    outbound_control_flood: 0,
  };
}

/** What a cluster knows at one moment: its counters, its gauges and its circuit-breaker limits. */
export interface ClusterState {
  counters: ClusterCounters;
  hosts: number;
  ejected: number;
  connections: number;
  requests: number;
  pending: number;
  retries: number;
  limits: { maxConnections: number; maxPendingRequests: number; maxRequests: number; maxRetries: number };
  /** The proxy's counts, when its workers share the limits: what the breakers' open and remaining gauges read. */
  totals?: { connections: number; pending: number; requests: number; retries: number } | undefined;
}

export interface Stat {
  name: string;
  value: number;
  type: "counter" | "gauge";
}

/** Every stat of one cluster, named as Envoy names them (without the `cluster.<name>.` prefix). */
export function clusterStats(s: ClusterState): Stat[] {
  const c = s.counters;
  const out: Stat[] = [];
  for (const [k, v] of Object.entries(c)) if (typeof v === "number") out.push({ name: k, value: v, type: "counter" });
  out.push(
    { name: "ssl.handshake", value: c.tls.handshake, type: "counter" },
    { name: "ssl.fail_verify_error", value: c.tls.failVerifyError, type: "counter" },
    { name: "ssl.fail_verify_san", value: c.tls.failVerifySan, type: "counter" },
    {
      name: "client_ssl_socket_factory.upstream_context_secrets_not_ready",
      value: c.tls.secretsNotReady,
      type: "counter",
    },
  );
  for (const [k, v] of Object.entries(c.http2)) out.push({ name: `http2.${k}`, value: v, type: "counter" });
  const gauge = (name: string, value: number) => out.push({ name, value, type: "gauge" });
  const l = s.limits;
  gauge("membership_total", s.hosts);
  gauge("outlier_detection.ejections_active", s.ejected);
  gauge("upstream_cx_active", s.connections);
  gauge("upstream_rq_active", s.requests);
  gauge("upstream_rq_pending_active", s.pending);
  const t = s.totals ?? s;
  gauge("circuit_breakers.default.cx_open", t.connections >= l.maxConnections ? 1 : 0);
  gauge("circuit_breakers.default.rq_pending_open", t.pending >= l.maxPendingRequests ? 1 : 0);
  gauge("circuit_breakers.default.rq_open", t.requests >= l.maxRequests ? 1 : 0);
  gauge("circuit_breakers.default.rq_retry_open", t.retries >= l.maxRetries ? 1 : 0);
  gauge("circuit_breakers.default.remaining_cx", Math.max(0, l.maxConnections - t.connections));
  gauge("circuit_breakers.default.remaining_pending", Math.max(0, l.maxPendingRequests - t.pending));
  gauge("circuit_breakers.default.remaining_rq", Math.max(0, l.maxRequests - t.requests));
  gauge("circuit_breakers.default.remaining_retries", Math.max(0, l.maxRetries - t.retries));
  return out;
}

/** Prometheus text for the clusters, in Envoy's form. */
export function clusterPrometheus(clusters: Iterable<[string, ClusterState]>): string {
  const byStat = new Map<string, { type: string; lines: string[] }>();
  for (const [name, state] of clusters) {
    const label = name.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
    for (const st of clusterStats(state)) {
      const metric = `envoy_cluster_${st.name.replace(/\./g, "_")}`;
      let m = byStat.get(metric);
      if (!m) byStat.set(metric, (m = { type: st.type, lines: [] }));
      m.lines.push(`${metric}{cluster_name="${label}"} ${st.value}`);
    }
  }
  let text = "";
  for (const [metric, m] of byStat) text += `# TYPE ${metric} ${m.type}\n${m.lines.join("\n")}\n`;
  return text;
}
