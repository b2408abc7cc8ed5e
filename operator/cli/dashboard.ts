// `weft dashboard`: the service graph weftd serves on :15014 (/dashboard). With --discovery-address (local mode, or
// any reachable weftd) that is the URL. In a cluster a browser can't carry the kubeconfig's credentials, so the CLI
// serves 127.0.0.1:<port> itself and forwards the dashboard's GETs to a running weftd pod through the API server's
// pod proxy, as proxy-status reaches it; it runs until Ctrl-C. Then it prints the URL, and opens a browser if
// there is a display and xdg-open (or `open` on macOS). Each replica scrapes only the proxies connected to it, so
// the graph (and its event stream) is every running replica's, merged (dashboard/merge.ts); the page itself comes
// from one.
import { spawn } from "node:child_process";
import { createServer, request as httpRequest, type Server, type ServerResponse } from "node:http";
import { request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import type { Values } from "../api/contract.js";
import type { dashboardRole } from "../api/tool-roles.js";
import type { KubeConfig } from "@kubernetes/client-node";
import { DASHBOARD_PATH, GRAPH_EVENTS_PATH, GRAPH_PATH, type Graph } from "../discovery/dashboard/contract.js";
import { mergeGraphs } from "../discovery/dashboard/merge.js";
import { apiOptions, baseUrl, discoveryPods, getJson, MONITORING_PORT, viaPodProxy } from "./tools/reach.js";

/** How often the merged event stream sends the graph: the replicas' own scrape interval. */
const EVENTS_INTERVAL_MS = 2000;

type Flags = Values<typeof dashboardRole>;

export async function runDashboard(v: Flags): Promise<number> {
  const address = v["discovery-address"];
  if (address) {
    const base = baseUrl(address);
    await getJson<Graph>(`${base}${GRAPH_PATH}`); // weftd answers, and serves the graph
    show(`${base}${DASHBOARD_PATH}`, !v.browser);
    return 0;
  }
  const server = await forwarder(v);
  show(`http://127.0.0.1:${(server.address() as AddressInfo).port}${DASHBOARD_PATH}`, !v.browser);
  process.stdout.write("Forwarding to weftd through the API server; Ctrl-C stops.\n");
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  server.close();
  server.closeAllConnections();
  return 0;
}

function show(url: string, printOnly: boolean): void {
  process.stdout.write(`${url}\n`);
  if (printOnly) return;
  const opener =
    process.platform === "darwin" ? "open" : process.env.DISPLAY || process.env.WAYLAND_DISPLAY ? "xdg-open" : "";
  if (!opener) return;
  const child = spawn(opener, [url], { stdio: "ignore", detached: true });
  child.on("error", () => undefined); // no opener installed: the printed URL is the answer
  child.unref();
}

/** 127.0.0.1:<port> → a running weftd pod's :15014, GETs under /dashboard only, streamed (the event stream too). */
async function forwarder(v: Flags): Promise<Server> {
  const { loadKubeConfig } = await import("../runtime/kube.js");
  const kc = loadKubeConfig(v.kubeconfig);
  const pod = (await discoveryPods(kc, v.namespace))[0];
  if (!pod)
    throw new Error(
      `no running weftd pod in namespace ${v.namespace}: pass -n <the mesh's namespace>, or --discovery-address host:15014`,
    );
  const server = kc.getCurrentCluster()?.server ?? "";
  const target = `${server}/api/v1/namespaces/${encodeURIComponent(pod.namespace)}/pods/${encodeURIComponent(pod.name)}:${MONITORING_PORT}/proxy`;
  const options = await apiOptions(kc);
  const proxy = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://local").pathname;
    if (req.method !== "GET" || (path !== DASHBOARD_PATH && !path.startsWith(`${DASHBOARD_PATH}/`))) {
      res.writeHead(req.method === "GET" ? 404 : 405).end();
      return;
    }
    if (path === GRAPH_PATH || path === GRAPH_EVENTS_PATH) {
      void (path === GRAPH_PATH ? serveGraph(kc, v.namespace, res) : streamGraph(kc, v.namespace, res));
      return;
    }
    const url = new URL(`${target}${path}`);
    const upstream = (url.protocol === "https:" ? httpsRequest : httpRequest)(
      url,
      { ...options, method: "GET", headers: { ...options.headers, accept: req.headers.accept ?? "*/*" } },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on("error", (err) => {
      if (!res.headersSent) res.writeHead(502).end(`weftd pod ${pod.name} through the API server: ${err.message}\n`);
      else res.destroy();
    });
    res.on("close", () => upstream.destroy());
    upstream.end();
  });
  await new Promise<void>((resolve, reject) => {
    proxy.once("error", reject);
    proxy.listen(v.port, "127.0.0.1", resolve);
  });
  return proxy;
}

/** Every running replica's graph, merged; a replica that doesn't answer is left out (and named in `replica`). */
async function mergedGraph(kc: KubeConfig, namespace: string): Promise<Graph> {
  const pods = await discoveryPods(kc, namespace);
  if (pods.length === 0) throw new Error(`no running weftd pod in namespace ${namespace}`);
  const answers = await Promise.all(pods.map((p) => viaPodProxy<Graph>(kc, p, GRAPH_PATH).catch(() => undefined)));
  const graphs = answers.filter((g): g is Graph => g !== undefined);
  if (graphs.length === 0) throw new Error(`no weftd pod in ${namespace} answered through the API server`);
  const merged = mergeGraphs(graphs);
  const missing = pods.filter((_, i) => answers[i] === undefined).map((p) => `${p.name} (no answer)`);
  return missing.length ? { ...merged, replica: [merged.replica, ...missing].join(", ") } : merged;
}

async function serveGraph(kc: KubeConfig, namespace: string, res: ServerResponse): Promise<void> {
  try {
    const body = JSON.stringify(await mergedGraph(kc, namespace));
    res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" }).end(body);
  } catch (err) {
    res.writeHead(502).end(`${(err as Error).message}\n`);
  }
}

/** The merged graph as server-sent events, every couple of seconds until the page goes. */
async function streamGraph(kc: KubeConfig, namespace: string, res: ServerResponse): Promise<void> {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", connection: "keep-alive" });
  res.write(`retry: ${EVENTS_INTERVAL_MS}\n\n`);
  let open = true;
  res.on("close", () => (open = false));
  while (open) {
    const started = Date.now();
    try {
      res.write(`event: graph\ndata: ${JSON.stringify(await mergedGraph(kc, namespace))}\n\n`);
    } catch {
      // No replica answered this time: the page keeps the last graph, and the next round tries again.
    }
    await new Promise((r) => setTimeout(r, Math.max(0, EVENTS_INTERVAL_MS - (Date.now() - started))));
  }
}
