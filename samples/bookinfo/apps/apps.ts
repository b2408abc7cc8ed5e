// The Bookinfo services, as Istio's sample behaves: productpage calls details and reviews; reviews v2 (black
// stars) and v3 (red stars) call ratings, v1 shows no stars. Each answer names the version that served it.
// The calls' timeouts and retries are Istio's sample's (productpage.py, LibertyRestEndpoint.java), which the
// docs' numbers depend on: productpage → details 3 s; productpage → reviews 3 s, tried twice ("about 6 s" in the
// fault-injection task, "about 1 s" in the request-timeouts task); reviews-v2 → ratings 10 s, reviews-v3 2.5 s.
import type { IncomingMessage } from "node:http";
import { call, json, propagated, type Handler, type Headers, type Reply, type Upstream } from "./http.js";

export interface AppContext {
  app: string;
  version: string;
  /** host:port of the app's own sidecar outbound listener. */
  proxy: string;
}

const REVIEWS = [
  { reviewer: "Reviewer1", text: "An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!" },
  {
    reviewer: "Reviewer2",
    text: "Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.",
  },
];

/** Istio's sample's client timeouts (ms) and tries, per call. */
export const CALLS = {
  details: { timeoutMs: 3000, tries: 1 },
  reviews: { timeoutMs: 3000, tries: 2 },
  /** reviews → ratings, by the reviews version's star colour. */
  ratings: { black: 10_000, red: 2500 },
} as const;

const ok = (url: URL, prefix: string): boolean => url.pathname === "/health" || url.pathname.startsWith(prefix);

function details(): Handler {
  return (_req, url) =>
    ok(url, "/details/")
      ? json(200, {
          id: Number(url.pathname.split("/")[2] ?? 0),
          author: "William Shakespeare",
          year: 1595,
          type: "paperback",
          pages: 200,
          publisher: "PublisherA",
          language: "English",
          "ISBN-10": "1234567890",
          "ISBN-13": "123-1234567890",
        })
      : json(404, { error: "not found" });
}

function ratings(ctx: AppContext): Handler {
  return (_req, url) =>
    ok(url, "/ratings/")
      ? json(200, {
          id: Number(url.pathname.split("/")[2] ?? 0),
          ratings: { Reviewer1: 5, Reviewer2: 4 },
          version: `ratings-${ctx.version}`,
        })
      : json(404, { error: "not found" });
}

function reviews(ctx: AppContext): Handler {
  const color = ctx.version === "v2" ? "black" : ctx.version === "v3" ? "red" : undefined;
  return async (req, url) => {
    if (!ok(url, "/reviews/")) return json(404, { error: "not found" });
    const id = url.pathname.split("/")[2] ?? "0";
    const podname = `reviews-${ctx.version}`;
    if (!color) return json(200, { id, podname, reviews: REVIEWS });
    const r = await call(ctx.proxy, "ratings", `/ratings/${id}`, propagated(req), CALLS.ratings[color]);
    const stars = r.status === 200 ? (JSON.parse(r.body) as { ratings: Record<string, number> }).ratings : undefined;
    return json(200, {
      id,
      podname,
      reviews: REVIEWS.map((rv) => ({
        ...rv,
        rating: stars
          ? { stars: stars[rv.reviewer] ?? 0, color }
          : { error: "Ratings service is currently unavailable" },
      })),
    });
  };
}

interface ReviewsBody {
  podname?: string;
  reviews?: { reviewer: string; text: string; rating?: { stars?: number; color?: string; error?: string } }[];
}

const escapeHtml = (v: unknown) => String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The details service's JSON as Bookinfo shows it: a list of fields (the raw text if it isn't JSON). */
function detailsHtml(body: string): string {
  try {
    const fields = Object.entries(JSON.parse(body) as Record<string, unknown>).filter(([k]) => k !== "id");
    return `<dl>${fields.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join("")}</dl>`;
  } catch {
    return `<pre>${escapeHtml(body)}</pre>`;
  }
}

/** The product page: details and reviews, with the reviews version and star colour in plain sight. */
export function renderPage(
  user: string | undefined,
  detailsBody: string | undefined,
  reviews: ReviewsBody | undefined,
): string {
  const lines = [`<html><head><title>Simple Bookstore App</title></head><body>`, `<h2>The Comedy of Errors</h2>`];
  lines.push(user ? `<p>Signed in as <b>${escapeHtml(user)}</b></p>` : `<p>Not signed in</p>`);
  lines.push(
    detailsBody
      ? `<h4>Book Details</h4>${detailsHtml(detailsBody)}`
      : `<h4>Error fetching product details!</h4><p>Sorry, product details are currently unavailable for this book.</p>`,
  );
  if (!reviews)
    lines.push(
      `<h4>Error fetching product reviews!</h4><p>Sorry, product reviews are currently unavailable for this book.</p>`,
    );
  else {
    lines.push(`<h4>Book Reviews</h4><p>Reviews served by: <b>${reviews.podname ?? "?"}</b></p>`);
    for (const r of reviews.reviews ?? []) {
      const rating = r.rating?.error
        ? `<p>${r.rating.error}</p>`
        : r.rating?.stars !== undefined
          ? `<p><font color="${r.rating.color}">${"★".repeat(r.rating.stars)}${"☆".repeat(5 - r.rating.stars)}</font> (${r.rating.color} stars)</p>`
          : "";
      lines.push(`<blockquote><p>${r.text}</p><small>${r.reviewer}</small>${rating}</blockquote>`);
    }
  }
  lines.push(`</body></html>`);
  return lines.join("\n");
}

/** The signed-in user: `?u=NAME`, else a `user` cookie. */
export function userOf(req: IncomingMessage, url: URL): string | undefined {
  const q = url.searchParams.get("u");
  if (q) return q;
  const cookie = /(?:^|;\s*)user=([^;]+)/.exec(req.headers.cookie ?? "");
  return cookie?.[1];
}

function productpage(ctx: AppContext): Handler {
  return async (req, url): Promise<Reply> => {
    if (url.pathname === "/health") return json(200, { status: "Product page is healthy" });
    if (url.pathname !== "/productpage" && url.pathname !== "/") return json(404, { error: "not found" });
    const user = userOf(req, url);
    const headers: Headers = { ...propagated(req), ...(user ? { "end-user": user } : {}) };
    const [d, r] = await Promise.all([
      callWithTries(ctx.proxy, "details", "/details/0", headers, CALLS.details),
      callWithTries(ctx.proxy, "reviews", "/reviews/0", headers, CALLS.reviews),
    ]);
    const reviews = r.status === 200 ? (JSON.parse(r.body) as ReviewsBody) : undefined;
    return {
      status: 200,
      type: "text/html; charset=utf-8",
      body: renderPage(user, d.status === 200 ? d.body : undefined, reviews),
    };
  };
}

/** As productpage.py does: up to `tries` calls, until one answers 200; the last answer otherwise. */
async function callWithTries(
  proxy: string,
  service: string,
  path: string,
  headers: Headers,
  o: { timeoutMs: number; tries: number },
): Promise<Upstream> {
  let r = await call(proxy, service, path, headers, o.timeoutMs);
  for (let i = 1; i < o.tries && r.status !== 200; i++) r = await call(proxy, service, path, headers, o.timeoutMs);
  return r;
}

export function handlerFor(ctx: AppContext): Handler {
  switch (ctx.app) {
    case "productpage":
      return productpage(ctx);
    case "details":
      return details();
    case "reviews":
      return reviews(ctx);
    case "ratings":
      return ratings(ctx);
    default:
      throw new Error(`unknown Bookinfo app "${ctx.app}"`);
  }
}
