// The service graph's contract: weftd's :15014 serves it, the page and `weft dashboard` read it. Typed once. Pure.

/** The page. */
export const DASHBOARD_PATH = "/dashboard";
/** Its script (a file of its own, so the page's Content-Security-Policy can forbid inline script). */
export const DASHBOARD_SCRIPT_PATH = "/dashboard/app.js";
/** Its style. */
export const DASHBOARD_STYLE_PATH = "/dashboard/app.css";
/** The graph, JSON. */
export const GRAPH_PATH = "/dashboard/graph";
/** The graph again every time it changes, as server-sent events (`event: graph`). */
export const GRAPH_EVENTS_PATH = "/dashboard/events";

/** A workload, `<namespace>/<name>`, with Istio's labels. */
export interface GraphNode {
  id: string;
  name: string;
  namespace: string;
  /** The proxies of this workload that are connected to this replica (node ids). */
  proxies: NodeProxy[];
}

export interface NodeProxy {
  node: string;
  /** SYNCED / STALE / NOT SENT / NACKED for CDS, LDS, EDS, RDS (istioctl's words). */
  sync: Record<string, string>;
  engine?: string;
  /** The last NACKs it sent, newest first. */
  nacks: { type: string; version: string; error: string; at: string }[];
  /** Why its metrics could not be read, if they could not. */
  scrapeError?: string;
}

/** Calls from one workload to another over the window, as the caller's proxy reported them (reporter=source). */
export interface GraphEdge {
  source: string;
  destination: string;
  /** Requests per second. */
  rps: number;
  /** Share of requests that were not 5xx (Kiali's and Istio's "success"); undefined with no requests. */
  successRate?: number;
  /** Milliseconds, from the histogram's buckets; undefined with no requests. */
  p50?: number;
  p99?: number;
  /** Requests in the window. */
  requests: number;
}

export interface Graph {
  /** When the newest scrape in it was taken (ISO). */
  at: string;
  /** The window the rates are over, in seconds. */
  windowSeconds: number;
  replica: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
}
