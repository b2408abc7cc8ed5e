// Graphs of several weftd replicas as one: each replica scrapes only the proxies connected to it, so with two
// replicas each sees about half the mesh. `weft dashboard` on a cluster asks every replica and shows this. Pure.
import type { Graph, GraphEdge, GraphNode } from "./contract.js";

/**
 * Nodes by workload, with every replica's proxies; edges by (source, destination), with the counts summed. A
 * workload whose pods are spread over replicas has the edge once per replica: requests and rates add, success is
 * weighted by requests, and the quantiles are each replica's worst (the buckets aren't in a Graph, so an exact
 * merged quantile can't be had: the worst is what an operator should see first).
 */
export function mergeGraphs(graphs: readonly Graph[]): Graph {
  const nodes = new Map<string, GraphNode>();
  const edges = new Map<string, GraphEdge>();
  for (const g of graphs) {
    for (const n of g.nodes) {
      const seen = nodes.get(n.id);
      nodes.set(n.id, seen ? { ...seen, proxies: [...seen.proxies, ...n.proxies] } : n);
    }
    for (const e of g.edges) {
      const key = `${e.source}\n${e.destination}`;
      const seen = edges.get(key);
      edges.set(key, seen ? mergeEdge(seen, e) : e);
    }
  }
  return {
    at: graphs.reduce((latest, g) => (g.at > latest ? g.at : latest), ""),
    windowSeconds: Math.max(0, ...graphs.map((g) => g.windowSeconds)),
    replica: graphs.map((g) => g.replica).join(", "),
    nodes: [...nodes.values()].sort((a, b) => a.id.localeCompare(b.id)),
    edges: [...edges.values()],
  };
}

function mergeEdge(a: GraphEdge, b: GraphEdge): GraphEdge {
  const requests = a.requests + b.requests;
  const ok = (e: GraphEdge) => (e.successRate ?? 0) * e.requests;
  const worst = (x: number | undefined, y: number | undefined) =>
    x === undefined ? y : y === undefined ? x : Math.max(x, y);
  const p50 = worst(a.p50, b.p50);
  const p99 = worst(a.p99, b.p99);
  return {
    source: a.source,
    destination: a.destination,
    rps: a.rps + b.rps,
    requests,
    ...(requests > 0 ? { successRate: (ok(a) + ok(b)) / requests } : {}),
    ...(p50 !== undefined ? { p50 } : {}),
    ...(p99 !== undefined ? { p99 } : {}),
  };
}
