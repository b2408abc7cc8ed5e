import { RequestBody } from "./http/body.js";
import { requestId, upstreamRequest } from "./upstream-head.js";
import type { RequestHead } from "./http/head.js";

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("x-request-id", () => {
  it("is a random version 4 UUID, a new one for each request", () => {
    const ids = Array.from({ length: 20_000 }, () => requestId());
    for (const id of ids) expect(id).toMatch(V4);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("is added when the request has none, and a caller's is kept", () => {
    const head = (headers: string[]) =>
      ({ method: "GET", path: "/", headers, host: "h", chunked: false }) as RequestHead;
    const opts = { path: "/", levels: [], host: undefined, requestId: true, tracing: false };
    const added = upstreamRequest(head([]), RequestBody.of(Buffer.alloc(0)), opts).headers;
    expect(added[added.indexOf("x-request-id") + 1]).toMatch(V4);
    const kept = upstreamRequest(head(["x-request-id", "abc"]), RequestBody.of(Buffer.alloc(0)), opts).headers;
    expect(kept.filter((h) => h === "x-request-id")).toHaveLength(1);
    expect(kept[kept.indexOf("x-request-id") + 1]).toBe("abc");
  });
});
