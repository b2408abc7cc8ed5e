// The dashboard's routes on weftd's :15014: the page, its style and script, the graph as JSON and as server-sent
// events. All GET (the monitoring server answers 405 to anything else), all read-only.
import type { ServerResponse } from "node:http";
import {
  DASHBOARD_PATH,
  DASHBOARD_SCRIPT_PATH,
  DASHBOARD_STYLE_PATH,
  GRAPH_EVENTS_PATH,
  GRAPH_PATH,
} from "./contract.js";
import type { GraphFeed } from "./feed.js";
import { DASHBOARD_CSP, DASHBOARD_CSS, DASHBOARD_HTML, DASHBOARD_JS } from "./page.js";

const HEADERS = {
  "content-security-policy": DASHBOARD_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

const FILES: Record<string, { type: string; body: string }> = {
  [DASHBOARD_PATH]: { type: "text/html; charset=utf-8", body: DASHBOARD_HTML },
  [DASHBOARD_SCRIPT_PATH]: { type: "text/javascript; charset=utf-8", body: DASHBOARD_JS },
  [DASHBOARD_STYLE_PATH]: { type: "text/css; charset=utf-8", body: DASHBOARD_CSS },
};

/** Answers a dashboard path; false for any other path. */
export function serveDashboard(pathname: string, feed: GraphFeed, res: ServerResponse): boolean {
  const file = FILES[pathname];
  if (file) {
    res.writeHead(200, { ...HEADERS, "content-type": file.type });
    res.end(file.body);
  } else if (pathname === GRAPH_PATH) {
    feed.graph().then(
      (g) => {
        res.writeHead(200, { ...HEADERS, "content-type": "application/json" });
        res.end(JSON.stringify(g));
      },
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  } else if (pathname === GRAPH_EVENTS_PATH) {
    if (!feed.subscribe(res)) res.writeHead(503, HEADERS).end("too many dashboards are watching\n");
  } else return false;
  return true;
}
