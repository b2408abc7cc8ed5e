// One proxy's stats from its N engine workers, as Envoy shows one process's stats from its N worker threads: counters
// and histograms add up, and so do the gauges that count things (active connections, requests, idle pooled
// connections). Gauges every worker knows whole are not added: membership (each worker has every host) and ejections
// (a host ejected by any worker) are the largest worker's, a circuit breaker is open when it is open in any worker,
// and its `remaining_*` is the smallest (exact once the limits are shared). Each listener also gets Envoy's
// per-worker `listener.<name>.worker_<i>.downstream_cx_total` and `…downstream_cx_active`. Pure.

export type GaugeMerge = "sum" | "max" | "min";

/** How one gauge adds up across workers, by its name (/stats or Prometheus spelling). */
export function gaugeMerge(name: string): GaugeMerge {
  if (name.includes("remaining_")) return "min";
  if (name.endsWith("_open") || name.includes("membership_total") || name.includes("ejections_active")) return "max";
  return "sum";
}

function combine(rule: GaugeMerge, a: number, b: number): number {
  return rule === "sum" ? a + b : rule === "max" ? Math.max(a, b) : Math.min(a, b);
}

const PER_WORKER = /^listener\.(.+)\.(downstream_cx_total|downstream_cx_active)$/;

/** /stats text (`name: value` lines) of every worker, as one. All /stats values are counters or gauges. */
export function mergeStatsText(texts: readonly string[]): string {
  const values = new Map<string, number>();
  const perWorker: string[] = [];
  texts.forEach((text, worker) => {
    for (const line of text.split("\n")) {
      const colon = line.lastIndexOf(": ");
      if (colon < 0) continue;
      const name = line.slice(0, colon);
      const value = Number(line.slice(colon + 2));
      if (!Number.isFinite(value)) continue;
      const had = values.get(name);
      values.set(name, had === undefined ? value : combine(gaugeMerge(name), had, value));
      const m = PER_WORKER.exec(name);
      if (m && texts.length > 1) perWorker.push(`listener.${m[1]}.worker_${worker}.${m[2]}: ${value}`);
    }
  });
  const lines = [...values].map(([name, value]) => `${name}: ${value}`);
  return lines.length ? `${[...lines, ...perWorker].sort().join("\n")}\n` : "";
}
