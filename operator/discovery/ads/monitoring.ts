// :15014: /debug/syncz (every proxy's sync state, JSON), /debug/proxy-status (the same, with the replica), /metrics (Prometheus), /ready, and /debug/summary,
// /debug/configz (config version and warnings), /debug/memz (memory), and the service graph under /dashboard.
import { GraphFeed, type FeedOptions } from "../dashboard/feed.js";
import { serveDashboard } from "../dashboard/routes.js";
import { createServer } from "node:http";
import type { Server } from "node:http";
import type { SnapshotGenerator } from "./generator.js";
import type { XdsMetrics } from "./metrics.js";
import { summarise } from "./summary.js";
import type { SyncTracker } from "./tracker.js";
import type { Rejection } from "../sources/admission.js";
import { WEFT_VERSION } from "../../api/version.js";
import { PROXY_STATUS_PATH, SYNCZ_PATH, type ProxyStatusResponse, type SynczProxy } from "./syncz.js";

export interface MonitoringSources {
  tracker: SyncTracker;
  metrics: XdsMetrics;
  generator: SnapshotGenerator;
  /** Problems with the config itself (parse errors, rejected objects, unknown hosts). */
  configWarnings(): string[];
  /** Objects the source rejected at the door. */
  rejected?(): readonly Rejection[];
  /** This replica's name, for /debug/proxy-status. */
  replica: string;
  /** The service graph's scrape interval and window (tests shorten them). */
  graph?: FeedOptions;
}

export function monitoringServer(src: MonitoringSources): Server {
  const syncz = (): SynczProxy[] => src.tracker.view().map(({ connection: _c, ...p }) => p);
  const feed = new GraphFeed(src.tracker, src.replica, src.graph);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const json = (value: unknown): void => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(value, null, 2));
    };
    if (req.method !== "GET") {
      res.writeHead(405).end();
    } else if (serveDashboard(url.pathname, feed, res)) {
      return;
    } else if (url.pathname === SYNCZ_PATH) {
      json(syncz());
    } else if (url.pathname === PROXY_STATUS_PATH) {
      json({ replica: src.replica, version: WEFT_VERSION, proxies: syncz() } satisfies ProxyStatusResponse);
    } else if (url.pathname === "/debug/summary") {
      json(summarise(src.tracker.view()));
    } else if (url.pathname === "/debug/configz") {
      src.generator.checkRules(); // snapshots made since the last push are checked too
      json({
        version: src.generator.version,
        warnings: [...src.configWarnings(), ...src.generator.warnings],
        rejected: src.rejected?.() ?? [],
        failedSnapshots: src.generator.failures(),
      });
    } else if (url.pathname === "/debug/memz") {
      const mib = (n: number): number => Math.round(n / 1048576);
      const m = process.memoryUsage();
      json({
        rssMiB: mib(m.rss),
        heapUsedMiB: mib(m.heapUsed),
        heapTotalMiB: mib(m.heapTotal),
        externalMiB: mib(m.external),
        arrayBuffersMiB: mib(m.arrayBuffers),
      });
    } else if (url.pathname === "/metrics") {
      src.metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { "content-type": src.metrics.registry.contentType });
          res.end(text);
        },
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    } else if (url.pathname === "/ready") {
      res.writeHead(200).end("ok\n");
    } else {
      res.writeHead(404).end();
    }
  });
  server.on("close", () => feed.stop());
  return server;
}
