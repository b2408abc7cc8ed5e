// The head parsers on their own: what a status line, a request line and a header field may be, and what they read.
// (The byte rules before them, bare CR/LF and control characters, are HeadScanner's: e2e/hardening.)
import { ParseError, parseRequestHead, parseResponseHead } from "./parse.js";
import { serializeHead } from "./head-bytes.js";

const status = (line: string) => parseResponseHead(`${line}\r\nContent-Length: 0`);

describe("the status line", () => {
  it.each([
    ["HTTP/1.1 200 OK", 200, 1],
    ["HTTP/1.0 404 Not Found", 404, 0],
    ["HTTP/1.1 503", 503, 1],
    ["HTTP/1.1 204 ", 204, 1],
    ["HTTP/1.1 599 What: ever", 599, 1],
  ])("%s reads as %d, HTTP/1.%d", (line, code, minor) => {
    expect(status(line)).toMatchObject({ status: code, minor });
  });

  it.each([
    "HTTP/1.1 20 OK",
    "HTTP/1.1 2000 OK",
    "HTTP/1.1 099 Low",
    "HTTP/1.1 600 High",
    "HTTP/1.2 200 OK",
    "HTTP/2 200 OK",
    "http/1.1 200 OK",
    "HTTP/1.1  200 OK",
    "HTTP/1.1 2x0 OK",
    "HTTP/1.1",
    "",
  ])("%j is malformed", (line) => {
    expect(() => status(line)).toThrow(new ParseError("malformed status line"));
  });
});

describe("header fields", () => {
  it("lower-cases names that aren't already, trims optional whitespace, keeps order and repeats", () => {
    const head = parseResponseHead(
      "HTTP/1.1 200 OK\r\nX-Trace:\t a b \t\r\nset-cookie: a=1\r\nSet-Cookie: b=2\r\nEmpty:\r\nContent-Length: 2",
    );
    expect(head.headers).toEqual([
      "x-trace",
      "a b",
      "set-cookie",
      "a=1",
      "set-cookie",
      "b=2",
      "empty",
      "",
      "content-length",
      "2",
    ]);
    expect(head.contentLength).toBe(2);
  });

  it.each([
    ["a space before the colon", "X-A : b"],
    ["no colon", "X-A b"],
    ["an empty name", ": b"],
    ["obs-fold", "X-A: a\r\n b"],
    ["a separator in the name", "X(A): b"],
  ])("rejects %s", (_what, line) => {
    expect(() => parseResponseHead(`HTTP/1.1 200 OK\r\n${line}`)).toThrow(/malformed header field name/);
  });

  it.each(["+5", "-1", "0x5", "5 5", "1e3", "", "1234567890123456"])("rejects Content-Length %j", (v) => {
    expect(() => parseResponseHead(`HTTP/1.1 200 OK\r\nContent-Length: ${v}`)).toThrow(/invalid content-length/);
  });

  it.each([
    ["keep-alive", 0, true],
    ["close", 1, false],
    ["Keep-Alive", 0, true],
    ["upgrade, close", 1, false],
    ["TE", 0, false],
    ["TE", 1, true],
  ])("Connection: %s in HTTP/1.%d: keep-alive %s", (v, minor, keep) => {
    expect(parseResponseHead(`HTTP/1.${minor} 200 OK\r\nConnection: ${v}\r\nContent-Length: 0`).keepAlive).toBe(keep);
  });

  it("reads back what serializeHead writes", () => {
    const headers = ["host", "a.example", "x-many", "1,2", "cookie", "k=v; k2=v2", "accept", "*/*"];
    const head = parseRequestHead(serializeHead("GET /p?q=1 HTTP/1.1", headers).toString("latin1").slice(0, -4));
    expect(head).toMatchObject({ method: "GET", path: "/p", query: "q=1", host: "a.example", headers });
  });
});

describe("the request line", () => {
  it("reads a request without header fields but Host, and an absolute-form target's authority as the host", () => {
    expect(parseRequestHead("GET / HTTP/1.1\r\nHost: h")).toMatchObject({ target: "/", host: "h", keepAlive: true });
    expect(parseRequestHead("GET http://other:81/x HTTP/1.1\r\nHost: h")).toMatchObject({
      host: "other:81",
      path: "/x",
    });
  });

  it.each(["GET  / HTTP/1.1", "GET / HTTP/1.1 ", "GET /", "GET / HTTP/2.0", "G(T / HTTP/1.1"])("rejects %j", (line) => {
    expect(() => parseRequestHead(`${line}\r\nHost: h`)).toThrow(ParseError);
  });
});
