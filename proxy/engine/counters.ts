// Envoy's own counters (timeouts, overflows; a gauge or two), by Envoy's names: in /stats as `http.<stat_prefix>.<name>` and
// `listener.<listener>.<name>`, in Prometheus as `envoy_http_<name>{envoy_http_conn_manager_prefix="…"}` and
// `envoy_listener_<name>{envoy_listener_address="…"}`, the way Envoy's tag extraction names them.
import type { Registry, Sample } from "./prometheus.js";

/** A stat scope: Envoy's prefix and the Prometheus label its tag becomes. */
export type Scope = "http" | "listener" | "connection_limit" | "tracing" | "tls_inspector";
/** The Prometheus label of a scope's tag; a scope without one (tls_inspector: one tree for the server) counts under "". */
const TAG: Record<Scope, string> = {
  http: "envoy_http_conn_manager_prefix",
  listener: "envoy_listener_address",
  connection_limit: "envoy_connection_limit_prefix",
  tracing: "envoy_tracing_provider",
  tls_inspector: "",
};

export const HCM_COUNTERS = [
  "downstream_rq_header_timeout",
  "downstream_rq_timeout",
  "downstream_rq_max_duration_reached",
  "downstream_rq_idle_timeout",
  "downstream_rq_response_before_rq_complete",
  "downstream_cx_idle_timeout",
  "downstream_cx_max_duration_reached",
  "downstream_rq_rx_reset",
  "downstream_cx_protocol_error",
  "downstream_cx_upgrades_total",
  "downstream_cx_upgrades_active",
  "downstream_rq_ws_on_non_ws_route",
] as const;
/** Gauges among them: they go down as well as up. */
const GAUGES = new Set(["downstream_cx_upgrades_active"]);
export const LISTENER_COUNTERS = [
  "downstream_cx_overflow",
  "downstream_cx_total",
  "no_filter_chain_match",
  "downstream_pre_cx_timeout",
] as const;
/** Envoy's tls_inspector counters (`tls_inspector.<name>`, one tree for the server). */
export const TLS_INSPECTOR_COUNTERS = [
  "client_hello_too_large",
  "tls_found",
  "tls_not_found",
  "alpn_found",
  "alpn_not_found",
  "sni_found",
  "sni_not_found",
] as const;

export class Counters {
  /** scope → stat → tag value → count */
  private readonly values = new Map<Scope, Map<string, Map<string, number>>>();

  constructor(private readonly registry: Registry) {}

  /** Makes counters visible at 0 before they first count. */
  declare(scope: Scope, tag: string, stats: readonly string[]): void {
    for (const s of stats) this.series(scope, s, tag);
  }

  inc(scope: Scope, tag: string, stat: string, n = 1): void {
    const m = this.series(scope, stat, tag);
    m.set(tag, (m.get(tag) ?? 0) + n);
  }

  get(scope: Scope, tag: string, stat: string): number {
    return this.values.get(scope)?.get(stat)?.get(tag) ?? 0;
  }

  /** `scope.tag.stat: value` lines for /stats. */
  lines(): string[] {
    const out: string[] = [];
    for (const [scope, stats] of this.values)
      for (const [stat, tags] of stats)
        for (const [tag, v] of tags) out.push(tag ? `${scope}.${tag}.${stat}: ${v}` : `${scope}.${stat}: ${v}`);
    return out;
  }

  private series(scope: Scope, stat: string, tag: string): Map<string, number> {
    let stats = this.values.get(scope);
    if (!stats) this.values.set(scope, (stats = new Map()));
    let tags = stats.get(stat);
    if (!tags) {
      stats.set(stat, (tags = new Map()));
      this.register(scope, stat, tags);
    }
    if (!tags.has(tag)) tags.set(tag, 0);
    return tags;
  }

  private register(scope: Scope, stat: string, tags: Map<string, number>): void {
    const name = `envoy_${scope}_${stat.replace(/[^a-zA-Z0-9_]/g, "_")}`; // rbac.allowed → envoy_http_rbac_allowed
    if (this.registry.has(name)) return;
    const samples = (): Sample[] => [...tags].map(([t, v]) => ({ labels: t ? { [TAG[scope]]: t } : {}, value: v }));
    this.registry.register(name, `Envoy's ${scope}.${stat}.`, GAUGES.has(stat) ? "gauge" : "counter", samples);
  }
}
