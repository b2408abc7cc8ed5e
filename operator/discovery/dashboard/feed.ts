// The service graph's I/O: weftd scrapes the Istio metrics of the proxies connected to it, every couple of seconds
// while someone is looking (a page on the event stream, or a graph request in the last minute), and keeps each
// proxy's scrapes over the window. Why discovery scrapes rather than agents push: weftd already knows every proxy
// and where it connects from, so it dials back only that host (proxy/xds/stats-target.ts), and its monitoring port
// stays read-only; a push endpoint would be a write path anyone who reaches :15014 could feed lies into.
import { request } from "node:http";
import type { ServerResponse } from "node:http";
import type { SyncTracker } from "../ads/tracker.js";
import type { Graph } from "./contract.js";
import { buildGraph, GRAPH_METRICS, type ProxyWindow, type Scrape } from "./graph.js";
import { parsePrometheus } from "./prom.js";

export interface FeedOptions {
  intervalMs?: number;
  windowMs?: number;
  /** GET a proxy's /stats/prometheus (tests replace it). */
  fetch?: (url: string) => Promise<string>;
}

const MAX_BODY = 8 * 1024 * 1024;
const MAX_SUBSCRIBERS = 32;
const CONCURRENCY = 8;
const IDLE_MS = 60_000;

/** A bounded GET: 2xx body up to 8 MiB within 3 s, else an error in one line. */
export function fetchMetrics(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: 3000 }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) req.destroy(new Error("metrics larger than 8 MiB"));
        else chunks.push(c);
      });
      res.on("end", () =>
        res.statusCode === 200
          ? resolve(Buffer.concat(chunks).toString("utf8"))
          : reject(new Error(`HTTP ${res.statusCode ?? "?"}`)),
      );
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("no answer in 3s")));
    req.on("error", reject);
    req.end();
  });
}

export class GraphFeed {
  private readonly history = new Map<string, { scrapes: Scrape[]; error?: string }>();
  private readonly subscribers = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | undefined;
  private lastAsked = 0;
  private running: Promise<void> | undefined;
  private latest: Graph | undefined;
  private readonly intervalMs: number;
  private readonly windowMs: number;
  private readonly fetch: (url: string) => Promise<string>;

  constructor(
    private readonly tracker: SyncTracker,
    private readonly replica: string,
    o: FeedOptions = {},
  ) {
    this.intervalMs = o.intervalMs ?? 2000;
    this.windowMs = o.windowMs ?? 30_000;
    this.fetch = o.fetch ?? fetchMetrics;
  }

  /** The graph now (scraping first if nobody was looking). */
  async graph(): Promise<Graph> {
    this.lastAsked = Date.now();
    this.wake();
    if (!this.latest) await this.round();
    return this.latest ?? this.build();
  }

  /** Streams the graph as server-sent events until the client goes. False when too many are already watching. */
  subscribe(res: ServerResponse): boolean {
    if (this.subscribers.size >= MAX_SUBSCRIBERS) return false;
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
    res.write(`retry: ${this.intervalMs}\n\n`);
    this.subscribers.add(res);
    res.on("close", () => this.subscribers.delete(res));
    if (this.latest) this.send(res, this.latest);
    this.wake();
    return true;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const s of this.subscribers) s.end();
    this.subscribers.clear();
  }

  private wake(): void {
    if (this.timer) return;
    const tick = (): void => {
      this.timer = undefined;
      if (this.subscribers.size === 0 && Date.now() - this.lastAsked > IDLE_MS) {
        this.latest = undefined; // nobody looks: stop scraping, and start the window afresh next time
        this.history.clear();
        return;
      }
      void this.round().finally(() => {
        this.timer ??= setTimeout(tick, this.intervalMs);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  /** One scrape of every proxy (at most CONCURRENCY at a time), then the graph to every subscriber. */
  private round(): Promise<void> {
    this.running ??= this.scrapeAll().finally(() => (this.running = undefined));
    return this.running;
  }

  private async scrapeAll(): Promise<void> {
    const proxies = this.tracker.view();
    const live = new Set(proxies.map((p) => p.node));
    for (const node of this.history.keys()) if (!live.has(node)) this.history.delete(node);
    const queue = [...proxies];
    const worker = async (): Promise<void> => {
      for (let p = queue.shift(); p; p = queue.shift()) {
        const h = this.history.get(p.node) ?? { scrapes: [] };
        this.history.set(p.node, h);
        const target = this.tracker.scrapeTarget(p.connection);
        if (!target || "error" in target) {
          h.error = target?.error ?? "not yet known";
          continue;
        }
        try {
          const text = await this.fetch(target.url);
          const at = Date.now();
          h.scrapes.push({ at, samples: parsePrometheus(text, GRAPH_METRICS).samples });
          while (h.scrapes.length > 2 && at - (h.scrapes[1] as Scrape).at >= this.windowMs) h.scrapes.shift();
          delete h.error;
        } catch (err) {
          h.error = `metrics from ${target.url}: ${(err as Error).message}`;
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    this.latest = this.build();
    for (const s of this.subscribers) this.send(s, this.latest);
  }

  private build(): Graph {
    const windows: ProxyWindow[] = this.tracker.view().map(({ connection, ...proxy }) => {
      const h = this.history.get(proxy.node);
      const s = h?.scrapes ?? [];
      return {
        proxy,
        nacks: this.tracker.recentNacks(connection),
        ...(s.length > 1 ? { oldest: s[0] } : {}),
        ...(s.length ? { newest: s[s.length - 1] } : {}),
        ...(h?.error ? { error: h.error } : {}),
      };
    });
    return buildGraph(windows, this.replica, Math.round(this.windowMs / 1000));
  }

  private send(res: ServerResponse, g: Graph): void {
    res.write(`event: graph\ndata: ${JSON.stringify(g)}\n\n`);
  }
}
