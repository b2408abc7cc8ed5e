import { describe, expect, it } from "@jest/globals";
import type { Graph, GraphNode } from "./contract.js";
import { mergeGraphs } from "./merge.js";

const node = (id: string, proxy: string): GraphNode => ({
  id,
  name: id.split("/")[1] ?? "",
  namespace: id.split("/")[0] ?? "",
  proxies: [{ node: proxy, sync: {}, nacks: [] }],
});

describe("the graphs of two weftd replicas, as `weft dashboard` shows them on a cluster", () => {
  const a: Graph = {
    at: "2026-11-30T10:00:01.000Z",
    windowSeconds: 30,
    replica: "weftd-a",
    nodes: [node("bookinfo/productpage-v1", "pp-1"), node("bookinfo/reviews-v1", "r-1")],
    edges: [
      {
        source: "bookinfo/productpage-v1",
        destination: "bookinfo/reviews-v1",
        rps: 2,
        requests: 60,
        successRate: 1,
        p50: 3,
        p99: 9,
      },
    ],
  };
  const b: Graph = {
    at: "2026-11-30T10:00:02.000Z",
    windowSeconds: 30,
    replica: "weftd-b",
    nodes: [node("bookinfo/productpage-v1", "pp-2"), node("bookinfo/details-v1", "d-1")],
    edges: [
      {
        source: "bookinfo/productpage-v1",
        destination: "bookinfo/reviews-v1",
        rps: 1,
        requests: 30,
        successRate: 0.5,
        p50: 4,
        p99: 7,
      },
      { source: "bookinfo/productpage-v1", destination: "bookinfo/details-v1", rps: 1, requests: 30, successRate: 1 },
    ],
  };

  it("shows every replica's workloads, each with all its proxies", () => {
    const g = mergeGraphs([a, b]);
    expect(g.nodes.map((n) => [n.id, n.proxies.map((p) => p.node)])).toEqual([
      ["bookinfo/details-v1", ["d-1"]],
      ["bookinfo/productpage-v1", ["pp-1", "pp-2"]],
      ["bookinfo/reviews-v1", ["r-1"]],
    ]);
    expect(g.replica).toBe("weftd-a, weftd-b");
    expect(g.at).toBe(b.at);
  });

  it("adds up an edge whose callers are spread over replicas: rates and counts sum, success is by request", () => {
    const g = mergeGraphs([a, b]);
    expect(g.edges).toEqual([
      {
        source: "bookinfo/productpage-v1",
        destination: "bookinfo/reviews-v1",
        rps: 3,
        requests: 90,
        successRate: (60 * 1 + 30 * 0.5) / 90,
        p50: 4,
        p99: 9,
      },
      b.edges[1],
    ]);
  });

  it("is the graph itself for one replica", () => {
    expect(mergeGraphs([a])).toEqual({ ...a, nodes: [...a.nodes].sort((x, y) => x.id.localeCompare(y.id)) });
  });
});
