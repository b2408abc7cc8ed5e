// The videos catalogue (the seed's walkthrough, written again): videos-web renders the playlists page from
// playlists-api, which reads the playlists from Redis and asks videos-api for every video in them; videos-api
// reads each video from Redis. Each app seeds its own keys when they are missing.
// FLAKY=true makes videos-api answer 500 to every third request it gets (per instance, counted from its start):
// a third of its requests fail, deterministically, so a test of retries can't flake. Istio's default retries
// (503 only) don't hide a 500; a VirtualService with `retries` and `retryOn: 5xx` does.
import { call, json, propagated, type Handler, type Reply } from "../../bookinfo/apps/http.js";
import type { Redis } from "./redis.js";

export interface AppContext {
  app: string;
  version: string;
  /** The sidecar's outbound listener (host:port), or "direct" in a pod. */
  proxy: string;
  redis: Redis;
  flaky: boolean;
}

interface Video {
  id: string;
  title: string;
  description: string;
}
interface Playlist {
  id: string;
  name: string;
  videos: string[];
}

export const VIDEOS: Video[] = [
  { id: "1", title: "Kubernetes in 10 minutes", description: "Pods, Deployments and Services." },
  { id: "2", title: "What is a service mesh?", description: "Sidecars, xDS and the data plane." },
  { id: "3", title: "Retries done right", description: "Attempts, per-try timeouts and budgets." },
  { id: "4", title: "Tracing a request", description: "Spans, parents and the trace context." },
  { id: "5", title: "Canary releases", description: "Weighted routes between versions." },
  { id: "6", title: "Redis for beginners", description: "Keys, values and persistence." },
];
export const PLAYLISTS: Playlist[] = [
  { id: "mesh", name: "Service mesh", videos: ["2", "3", "4"] },
  { id: "platform", name: "Platform basics", videos: ["1", "5", "6"] },
];

/** Writes the keys this app owns, unless they are there already. */
export async function seed(ctx: AppContext): Promise<void> {
  if (ctx.app === "videos-api") for (const v of VIDEOS) await ctx.redis.setIfAbsent(`video:${v.id}`, JSON.stringify(v));
  if (ctx.app === "playlists-api") await ctx.redis.setIfAbsent("playlists", JSON.stringify(PLAYLISTS));
}

function videosApi(ctx: AppContext): Handler {
  let requests = 0;
  return async (_req, url) => {
    const m = /^\/videos\/([\w-]+)$/.exec(url.pathname);
    if (!m) return { status: 404, body: "not found\n" };
    if (ctx.flaky && ++requests % 3 === 0) return { status: 500, body: "videos-api: flaky failure\n" };
    const v = await ctx.redis.get(`video:${m[1]}`);
    if (v === null) return { status: 404, body: "no such video\n" };
    return json(200, { ...(JSON.parse(v) as Video), servedBy: `videos-api-${ctx.version}` });
  };
}

function playlistsApi(ctx: AppContext): Handler {
  return async (req, url) => {
    if (url.pathname !== "/playlists") return { status: 404, body: "not found\n" };
    const lists = JSON.parse((await ctx.redis.get("playlists")) ?? "[]") as Playlist[];
    const headers = propagated(req);
    const out = [];
    for (const p of lists) {
      const videos = [];
      for (const id of p.videos) {
        const r = await call(ctx.proxy, "videos-api", `/videos/${id}`, headers);
        if (r.status !== 200)
          return { status: 500, body: `playlists-api: videos-api answered ${r.status} for video ${id}\n` };
        videos.push(JSON.parse(r.body) as Video & { servedBy: string });
      }
      out.push({ id: p.id, name: p.name, videos });
    }
    return json(200, out);
  };
}

const escape = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function videosWeb(ctx: AppContext): Handler {
  const theme = ctx.version === "v2" ? "background:#0f172a;color:#e2e8f0" : "background:#fff;color:#111";
  return async (req, url): Promise<Reply> => {
    if (url.pathname !== "/") return { status: 404, body: "not found\n" };
    const r = await call(ctx.proxy, "playlists-api", "/playlists", propagated(req));
    const head = `<!doctype html><html><head><meta charset="utf-8"><title>Videos</title></head><body style="font-family:sans-serif;${theme}">`;
    const footer = `<p><small>Served by videos-web-${ctx.version}</small></p></body></html>`;
    if (r.status !== 200)
      return {
        status: 502,
        type: "text/html",
        body: `${head}<h1>Something went wrong</h1><p>playlists-api answered ${r.status}: ${escape(r.body)}</p>${footer}`,
      };
    const lists = JSON.parse(r.body) as { name: string; videos: (Video & { servedBy: string })[] }[];
    const sections = lists
      .map(
        (p) =>
          `<h2>${escape(p.name)}</h2><ul>${p.videos
            .map((v) => `<li><b>${escape(v.title)}</b> — ${escape(v.description)} <small>(${v.servedBy})</small></li>`)
            .join("")}</ul>`,
      )
      .join("");
    return { status: 200, type: "text/html", body: `${head}<h1>Videos</h1>${sections}${footer}` };
  };
}

export function handlerFor(ctx: AppContext): Handler {
  if (ctx.app === "videos-api") return videosApi(ctx);
  if (ctx.app === "playlists-api") return playlistsApi(ctx);
  if (ctx.app === "videos-web") return videosWeb(ctx);
  throw new Error(`unknown app ${ctx.app} (videos-web, playlists-api, videos-api)`);
}
