// The Bookinfo apps (samples/bookinfo/apps) on their own: reviews v2 asks ratings through its "sidecar" (here
// ratings itself, which ignores the Host), with the trace headers and end-user carried along.
import type { Server } from "node:http";
import { handlerFor, renderPage } from "../../samples/bookinfo/apps/apps.js";
import { serve } from "../../samples/bookinfo/apps/http.js";

describe("Bookinfo apps", () => {
  const servers: Server[] = [];
  let seen: Record<string, string | string[] | undefined> = {};
  afterAll(() => servers.forEach((s) => s.close()));

  it("reviews v2 shows black stars from ratings, carrying the trace headers and end-user", async () => {
    const ratings = handlerFor({ app: "ratings", version: "v1", proxy: "" });
    servers.push(await serve((req, url) => ((seen = req.headers), ratings(req, url)), "127.0.40.1", 9080));
    servers.push(
      await serve(handlerFor({ app: "reviews", version: "v2", proxy: "127.0.40.1:9080" }), "127.0.40.2", 9080),
    );
    const res = await fetch("http://127.0.40.2:9080/reviews/0", {
      headers: { "x-request-id": "r1", traceparent: "00-abc-def-01", "end-user": "jason", cookie: "no" },
    });
    const body = (await res.json()) as { podname: string; reviews: { rating: { stars: number; color: string } }[] };
    expect(body.podname).toBe("reviews-v2");
    expect(body.reviews.map((r) => r.rating)).toEqual([
      { stars: 5, color: "black" },
      { stars: 4, color: "black" },
    ]);
    expect(seen).toMatchObject({
      host: "ratings:9080",
      "x-request-id": "r1",
      traceparent: "00-abc-def-01",
      "end-user": "jason",
    });
    expect(seen["cookie"]).toBeUndefined();
  });

  it("the product page names the reviews version and the star colour, or says what is unavailable", () => {
    const page = renderPage("jason", "{}", {
      podname: "reviews-v3",
      reviews: [{ reviewer: "R", text: "t", rating: { stars: 4, color: "red" } }],
    });
    expect(page).toContain("Reviews served by: <b>reviews-v3</b>");
    expect(page).toContain("(red stars)");
    expect(page).toContain("Signed in as <b>jason</b>");
    const down = renderPage(undefined, undefined, {
      podname: "reviews-v2",
      reviews: [{ reviewer: "R", text: "t", rating: { error: "Ratings service is currently unavailable" } }],
    });
    expect(down).toContain("Ratings service is currently unavailable");
    expect(down).toContain("product details are currently unavailable");
    expect(renderPage(undefined, "{}", undefined)).toContain("product reviews are currently unavailable");
  });

  it("the product page shows the details as a list and never echoes markup from the query", () => {
    const page = renderPage(
      '<script>alert("x")</script>',
      '{"id":0,"author":"William Shakespeare","pages":200}',
      undefined,
    );
    expect(page).toContain("<dt>author</dt><dd>William Shakespeare</dd>");
    expect(page).not.toContain("<dt>id</dt>");
    expect(page).not.toContain("<script>");
    expect(page).toContain("&#60;script&#62;");
  });
});
