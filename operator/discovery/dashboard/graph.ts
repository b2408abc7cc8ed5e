// Istio metrics → the service graph. Pure: scrapes in, a Graph out.
// - Edges come from the caller's side (reporter="source"), as Kiali's default: the sidecar that made the call
//   knows both ends, and the destination's side knows only itself.
// - Rates are counter deltas over the window (a counter that went down was reset: its new value is the delta,
//   as Prometheus' rate() takes it), quantiles come from the deltas of the duration histogram's buckets with
//   histogram_quantile's linear interpolation.
import { identityOf } from "../../../proxy/engine/workload.js";
import { XDS_COLUMNS, xdsState, type SynczProxy } from "../ads/syncz.js";
import type { RecentNack } from "../ads/tracker.js";
import type { Graph, GraphEdge, GraphNode } from "./contract.js";
import type { Sample } from "./prom.js";

export const REQUESTS = "istio_requests_total";
export const DURATION_BUCKET = "istio_request_duration_milliseconds_bucket";
export const GRAPH_METRICS: ReadonlySet<string> = new Set([REQUESTS, DURATION_BUCKET]);

export interface Scrape {
  /** Milliseconds since the epoch. */
  at: number;
  samples: Sample[];
}

/** One proxy: its sync state, and its oldest and newest scrape in the window (or why it has none). */
export interface ProxyWindow {
  proxy: SynczProxy;
  /** Its recent NACKs, newest first. */
  nacks?: readonly RecentNack[];
  oldest?: Scrape;
  newest?: Scrape;
  error?: string;
}

const seriesKey = (s: Sample): string =>
  `${s.name}|${Object.keys(s.labels)
    .sort()
    .map((k) => `${k}=${s.labels[k]}`)
    .join(",")}`;

/** Each series' increase from older to newer; a series missing in older, or that went down, counts from zero. */
export function increases(newer: Sample[], older: Sample[] | undefined): Sample[] {
  if (!older) return newer.map((s) => ({ ...s, value: 0 }));
  const before = new Map(older.map((s) => [seriesKey(s), s.value]));
  return newer.map((s) => {
    const prev = before.get(seriesKey(s)) ?? 0;
    return { ...s, value: s.value >= prev ? s.value - prev : s.value };
  });
}

/** histogram_quantile: cumulative buckets (le ascending, +Inf last) → the q-quantile, interpolated in its bucket. */
export function quantile(q: number, buckets: readonly { le: number; count: number }[]): number | undefined {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted[sorted.length - 1]?.count ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let lowerLe = 0;
  let lowerCount = 0;
  for (const b of sorted) {
    if (b.count >= rank) {
      if (b.le === Infinity) return lowerLe; // above the highest finite bound: that bound, as Prometheus does
      return lowerLe + ((b.le - lowerLe) * (rank - lowerCount)) / Math.max(b.count - lowerCount, 1e-9);
    }
    lowerLe = b.le;
    lowerCount = b.count;
  }
  return lowerLe;
}

const workloadId = (namespace: string | undefined, name: string | undefined): string =>
  `${namespace || "unknown"}/${name || "unknown"}`;

const success = (code: string | undefined): boolean => /^[1-4]\d\d$/.test(code ?? "");

interface EdgeAcc {
  source: string;
  destination: string;
  seen: boolean;
  requests: number;
  rps: number;
  ok: number;
  buckets: Map<number, number>;
}

function addEdges(acc: Map<string, EdgeAcc>, current: Sample[], delta: Sample[], seconds: number): void {
  const edge = (s: Sample): EdgeAcc | undefined => {
    if (s.labels.reporter !== "source") return undefined;
    const source = workloadId(s.labels.source_workload_namespace, s.labels.source_workload);
    const destination = workloadId(s.labels.destination_workload_namespace, s.labels.destination_workload);
    const key = `${source}\n${destination}`;
    let e = acc.get(key);
    if (!e) acc.set(key, (e = { source, destination, seen: false, requests: 0, rps: 0, ok: 0, buckets: new Map() }));
    return e;
  };
  for (const s of current) {
    const e = s.name === REQUESTS && s.value > 0 ? edge(s) : undefined;
    if (e) e.seen = true;
  }
  for (const s of delta) {
    const e = s.labels.reporter === "source" ? edge(s) : undefined;
    if (!e) continue;
    if (s.name === REQUESTS) {
      e.requests += s.value;
      if (seconds > 0) e.rps += s.value / seconds;
      if (success(s.labels.response_code)) e.ok += s.value;
    } else if (s.name === DURATION_BUCKET) {
      const le = s.labels.le === "+Inf" ? Infinity : Number(s.labels.le);
      if (!Number.isNaN(le)) e.buckets.set(le, (e.buckets.get(le) ?? 0) + s.value);
    }
  }
}

const round = (n: number | undefined, digits: number): number | undefined =>
  n === undefined ? undefined : Math.round(n * 10 ** digits) / 10 ** digits;

export function buildGraph(proxies: readonly ProxyWindow[], replica: string, windowSeconds: number): Graph {
  const acc = new Map<string, EdgeAcc>();
  const nodes = new Map<string, GraphNode>();
  const node = (id: string): GraphNode => {
    let n = nodes.get(id);
    if (!n) {
      const slash = id.indexOf("/");
      nodes.set(id, (n = { id, namespace: id.slice(0, slash), name: id.slice(slash + 1), proxies: [] }));
    }
    return n;
  };
  let at = 0;
  for (const w of proxies) {
    const who = identityOf(w.proxy.node)?.workload;
    node(workloadId(who?.namespace, who?.name)).proxies.push({
      node: w.proxy.node,
      sync: Object.fromEntries(XDS_COLUMNS.map((c) => [c, xdsState(w.proxy.types[c])])),
      ...(w.proxy.engine ? { engine: w.proxy.engine.engine } : {}),
      nacks: [...(w.nacks ?? [])],
      ...(w.error ? { scrapeError: w.error } : {}),
    });
    if (!w.newest) continue;
    at = Math.max(at, w.newest.at);
    const seconds = w.oldest ? (w.newest.at - w.oldest.at) / 1000 : 0;
    addEdges(
      acc,
      w.newest.samples,
      seconds > 0 && w.oldest ? increases(w.newest.samples, w.oldest.samples) : [],
      seconds,
    );
  }
  const edges: GraphEdge[] = [];
  for (const e of acc.values()) {
    if (!e.seen && e.requests === 0) continue;
    node(e.source);
    node(e.destination);
    const buckets = [...e.buckets].map(([le, count]) => ({ le, count }));
    edges.push({
      source: e.source,
      destination: e.destination,
      rps: round(e.rps, 3) ?? 0,
      requests: e.requests,
      ...(e.requests > 0 ? { successRate: round(e.ok / e.requests, 4) } : {}),
      ...(e.requests > 0 ? { p50: round(quantile(0.5, buckets), 2), p99: round(quantile(0.99, buckets), 2) } : {}),
    });
  }
  const byId = (a: { id: string }, b: { id: string }): number => a.id.localeCompare(b.id);
  return {
    at: new Date(at || Date.now()).toISOString(),
    windowSeconds,
    replica,
    nodes: [...nodes.values()].sort(byId),
    edges: edges.sort((a, b) => a.source.localeCompare(b.source) || a.destination.localeCompare(b.destination)),
  };
}
