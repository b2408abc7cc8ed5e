// Spans leave in batches, off the request path: a request only appends its finished span to a bounded queue.
// A batch is POSTed when BATCH spans wait, or FLUSH_MS after the first one; one report is in flight at a time.
// A full queue drops the span and counts it (tracing.<provider>.spans_dropped): never blocks, never grows.
// Counters, Envoy's names for its Zipkin tracer: spans_sent, reports_sent, reports_failed, reports_dropped,
// reports_skipped_no_cluster, timer_flushed; and spans_dropped.
import { Agent, request } from "node:http";
import type { Counters } from "../counters.js";
import type { TracerConfig } from "../config/tracing.js";
import { otlpJson, zipkinJson, type FinishedSpan, type LocalEndpoint } from "./encode.js";

export const MAX_QUEUE = 4096;
const BATCH = 64;
const FLUSH_MS = 1000;

export interface ExportDeps {
  /** The collector cluster's address now (it follows config swaps), or undefined. */
  resolve(cluster: string): { address: string; port: number } | undefined;
  counters: Counters;
  local: LocalEndpoint;
}

export const TRACING_COUNTERS = [
  "spans_sent",
  "spans_dropped",
  "reports_sent",
  "reports_failed",
  "reports_dropped",
  "reports_skipped_no_cluster",
  "timer_flushed",
] as const;

export class SpanExporter {
  private queue: FinishedSpan[] = [];
  private inFlight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private soon = false;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });

  constructor(
    readonly cfg: TracerConfig,
    private readonly deps: ExportDeps,
  ) {
    deps.counters.declare("tracing", cfg.kind, TRACING_COUNTERS);
  }

  add(span: FinishedSpan): void {
    if (this.queue.length >= MAX_QUEUE) return this.deps.counters.inc("tracing", this.cfg.kind, "spans_dropped");
    this.queue.push(span);
    if (this.queue.length >= BATCH) {
      if (!this.soon && !this.inFlight) {
        this.soon = true;
        setImmediate(() => {
          this.soon = false;
          void this.flush();
        });
      }
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.deps.counters.inc("tracing", this.cfg.kind, "timer_flushed");
        void this.flush();
      }, FLUSH_MS);
      this.timer.unref();
    }
  }

  /** Sends what is queued, a batch at a time; resolves when the queue is empty or a report failed. */
  flush(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    if (!this.queue.length) return Promise.resolve();
    const p = this.sendAll().finally(() => (this.inFlight = undefined));
    this.inFlight = p;
    return p;
  }

  private async sendAll(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue.splice(0, BATCH * 4);
      if (!(await this.report(batch))) return;
    }
  }

  private report(batch: FinishedSpan[]): Promise<boolean> {
    const { cfg, deps } = this;
    const c = deps.counters;
    const to = deps.resolve(cfg.cluster);
    if (!to) {
      c.inc("tracing", cfg.kind, "reports_skipped_no_cluster");
      return Promise.resolve(false);
    }
    const local = cfg.serviceName ? { ...deps.local, serviceName: cfg.serviceName } : deps.local;
    const body = cfg.kind === "zipkin" ? zipkinJson(batch, local) : otlpJson(batch, local);
    const host =
      cfg.authority || (to.address.includes(":") ? `[${to.address}]:${to.port}` : `${to.address}:${to.port}`);
    return new Promise((resolve) => {
      const req = request(
        {
          host: to.address,
          port: to.port,
          method: "POST",
          path: cfg.path,
          agent: this.agent,
          timeout: cfg.timeoutMs,
          headers: { host, "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.on("end", () => {
            const ok = res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300;
            c.inc("tracing", cfg.kind, ok ? "reports_sent" : "reports_failed");
            if (ok) c.inc("tracing", cfg.kind, "spans_sent", batch.length);
            resolve(ok);
          });
          res.on("error", () => resolve(false));
        },
      );
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", () => {
        c.inc("tracing", cfg.kind, "reports_dropped");
        resolve(false);
      });
      req.end(body);
    });
  }

  /** Sends what is left (bounded by the report timeout) and closes the connection. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
    this.agent.destroy();
  }
}

/** One exporter per distinct provider, kept across config swaps so queued spans survive them. */
export class Tracers {
  private readonly byKey = new Map<string, SpanExporter>();
  private readonly byConfig = new WeakMap<TracerConfig, SpanExporter>();

  constructor(private readonly deps: ExportDeps) {}

  exporter(cfg: TracerConfig): SpanExporter {
    let e = this.byConfig.get(cfg);
    if (e) return e;
    const key = `${cfg.kind}|${cfg.cluster}|${cfg.path}|${cfg.authority}|${cfg.serviceName}|${cfg.timeoutMs}`;
    e = this.byKey.get(key);
    if (!e) this.byKey.set(key, (e = new SpanExporter(cfg, this.deps)));
    this.byConfig.set(cfg, e);
    return e;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.byKey.values()].map((e) => e.stop()));
  }
}
