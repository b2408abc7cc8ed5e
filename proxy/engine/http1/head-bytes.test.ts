import { joinAfter, serializeHead, withFields } from "./head-bytes.js";

describe("serializeHead", () => {
  it("lays out the start line, each field and the blank line, with an added field last", () => {
    const head = serializeHead("POST /up HTTP/1.1", ["host", "a.example", "x-n", "1"], "transfer-encoding", "chunked");
    expect(head.toString("latin1")).toBe(
      "POST /up HTTP/1.1\r\nhost: a.example\r\nx-n: 1\r\ntransfer-encoding: chunked\r\n\r\n",
    );
  });

  it("writes Latin-1 bytes as they are, short values and long ones alike", () => {
    const long = `café ${"x".repeat(200)} é`;
    const head = serializeHead("HTTP/1.1 200 OK", ["x-short", "é", "x-long", long]);
    expect(head).toEqual(Buffer.from(`HTTP/1.1 200 OK\r\nx-short: é\r\nx-long: ${long}\r\n\r\n`, "latin1"));
  });

  it("never changes a head already handed out, across many more heads and slabs (a pending write holds it)", () => {
    const first = serializeHead("GET /first HTTP/1.1", ["host", "h"]);
    const copy = Buffer.from(first);
    const later: Buffer[] = [];
    for (let i = 0; i < 3000; i++)
      later.push(serializeHead(`GET /${i} HTTP/1.1`, ["host", "h", "x-i", "v".repeat(i % 90)]));
    const huge = serializeHead("GET / HTTP/1.1", ["x-big", "b".repeat(100_000)]);
    expect(first).toEqual(copy);
    expect(later[2999]?.toString("latin1")).toBe(
      `GET /2999 HTTP/1.1\r\nhost: h\r\nx-i: ${"v".repeat(2999 % 90)}\r\n\r\n`,
    );
    expect(huge.length).toBe("GET / HTTP/1.1\r\nx-big: \r\n\r\n".length + 100_000);
  });
});

describe("withFields", () => {
  const raw = (lines: string[]) => Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
  it("drops the upstream's server lines, whatever their case, keeps the rest in order, and names the proxy last", () => {
    const head = raw(["HTTP/1.1 200 OK", "Server: nginx/1.22.1", "Date: x", "SERVER: again", "Content-Length: 2"]);
    expect(withFields(head, ["server", "istio-envoy"]).toString("latin1")).toBe(
      "HTTP/1.1 200 OK\r\nDate: x\r\nContent-Length: 2\r\nserver: istio-envoy\r\n\r\n",
    );
  });
  it("sets several fields at once, each one's old lines dropped", () => {
    const head = raw(["HTTP/1.1 200 OK", "X-Envoy-Upstream-Service-Time: 9", "Server: a", "Vary: x"]);
    expect(withFields(head, ["server", "envoy", "x-envoy-upstream-service-time", "3"]).toString("latin1")).toBe(
      "HTTP/1.1 200 OK\r\nVary: x\r\nserver: envoy\r\nx-envoy-upstream-service-time: 3\r\n\r\n",
    );
  });
  it("adds the line to a head without one, and leaves look-alike names alone", () => {
    const head = raw(["HTTP/1.1 204 No Content", "Server-Timing: db;dur=1", "X-Server: y"]);
    expect(withFields(head, ["server", "envoy"]).toString("latin1")).toBe(
      "HTTP/1.1 204 No Content\r\nServer-Timing: db;dur=1\r\nX-Server: y\r\nserver: envoy\r\n\r\n",
    );
    expect(withFields(raw(["HTTP/1.1 200 OK"]), ["server", "e"]).toString("latin1")).toBe(
      "HTTP/1.1 200 OK\r\nserver: e\r\n\r\n",
    );
  });
});

describe("joinAfter", () => {
  it("puts the body right after the last head written, one buffer; else leaves it to the caller", () => {
    const head = serializeHead("HTTP/1.1 200 OK", ["content-length", "2"]);
    const joined = joinAfter(head, Buffer.from("ok"));
    expect(joined?.toString("latin1")).toBe("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    const older = serializeHead("HTTP/1.1 200 OK", []);
    serializeHead("HTTP/1.1 204 No Content", []);
    expect(joinAfter(older, Buffer.from("x"))).toBeUndefined();
    expect(joinAfter(Buffer.from("HTTP/1.1 200 OK\r\n\r\n"), Buffer.from("x"))).toBeUndefined();
  });
});
