// The downstream HTTP/2 counters, by Envoy's names: its codec's `http2.rx_reset` / `http2.tx_reset` (Prometheus
// `envoy_http2_*`), and the HCM's `http.<stat_prefix>.downstream_rq_too_many_premature_resets` (Prometheus
// `envoy_http_downstream_rq_too_many_premature_resets{envoy_http_conn_manager_prefix="…"}`).
import type { Registry } from "../prometheus.js";
import type { H2Stat } from "./server.js";

export class H2Counters {
  private readonly codec = new Map<string, number>([
    ["rx_reset", 0],
    ["tx_reset", 0],
    ["inbound_empty_frames_flood", 0],
    ["inbound_priority_frames_flood", 0],
    ["inbound_window_update_frames_flood", 0],
    ["outbound_flood", 0],
    ["outbound_control_flood", 0],
  ]);
  /** stat prefix → connections closed for premature resets */
  private readonly premature = new Map<string, number>();

  constructor(registry: Registry) {
    for (const stat of this.codec.keys()) {
      registry.register(`envoy_http2_${stat}`, `Envoy's http2.${stat}.`, "counter", () => [
        { labels: {}, value: this.codec.get(stat) ?? 0 },
      ]);
    }
    registry.register(
      "envoy_http_downstream_rq_too_many_premature_resets",
      "Connections closed for too many premature stream resets.",
      "counter",
      () =>
        [...this.premature].map(([prefix, value]) => ({ labels: { envoy_http_conn_manager_prefix: prefix }, value })),
    );
  }

  /** The counting function for one HCM's HTTP/2 connections. */
  for(statPrefix: string): (stat: H2Stat) => void {
    if (!this.premature.has(statPrefix)) this.premature.set(statPrefix, 0);
    return (stat) => {
      if (stat === "downstream_rq_too_many_premature_resets")
        this.premature.set(statPrefix, (this.premature.get(statPrefix) ?? 0) + 1);
      else {
        const k = stat.slice("http2.".length);
        this.codec.set(k, (this.codec.get(k) ?? 0) + 1);
      }
    };
  }

  /** Lines for /stats. */
  lines(): string[] {
    return [
      ...[...this.codec].map(([k, v]) => `http2.${k}: ${v}`),
      ...[...this.premature].map(([p, v]) => `http.${p}.downstream_rq_too_many_premature_resets: ${v}`),
    ];
  }
}
