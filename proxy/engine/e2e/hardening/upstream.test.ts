// Upstream responses held to the request rules: a malformed head is a 502 and is never passed through; malformed
// chunked framing mid-body resets the client without passing the bad bytes on. HTTP/1.0 clients get HTTP/1.0.
import { runCase, startRig, type Rig } from "./setup.js";

const GET = "GET /x HTTP/1.1\r\nHost: allowed\r\n\r\n";
const ok = (head: string, body = "ok") => `HTTP/1.1 200 OK\r\n${head}\r\n\r\n${body}`;

/** [name, the backend's raw response, client status, a string that must not reach the client] */
type Case = [string, string, number, string?];

const CASES: Case[] = [
  ["a bare LF in a header line", ok("X-A: a\nSet-Cookie: evil=1\r\nContent-Length: 2"), 502, "evil"],
  ["LF-only line ends", "HTTP/1.1 200 OK\nSet-Cookie: evil=1\nContent-Length: 2\n\nok", 502, "evil"],
  ["a bare CR in a header value", ok("X-A: a\rSet-Cookie: evil=1\r\nContent-Length: 2"), 502, "evil"],
  ["NUL in a header value", ok("X-A: a\0evil\r\nContent-Length: 2"), 502, "evil"],
  ["obs-fold", ok("X-A: a\r\n Set-Cookie: evil=1\r\nContent-Length: 2"), 502, "evil"],
  ["an invalid header name", ok("X A: evil\r\nContent-Length: 2"), 502, "evil"],
  [
    "Transfer-Encoding and Content-Length",
    ok("Content-Length: 2\r\nTransfer-Encoding: chunked", "2\r\nok\r\n0\r\n\r\n"),
    502,
  ],
  ["two different Content-Lengths", ok("Content-Length: 2\r\nContent-Length: 3"), 502],
  ["a coding other than chunked", ok("Transfer-Encoding: gzip"), 502],
  ["Transfer-Encoding in HTTP/1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", 502],
  ["a two-digit status", "HTTP/1.1 20 OK\r\nContent-Length: 2\r\n\r\nok", 502],
  ["HTTP/2 in the status line", "HTTP/2 200 OK\r\nContent-Length: 2\r\n\r\nok", 502],
  [
    "101 header fields",
    ok(`${Array.from({ length: 101 }, (_, i) => `X-${i}: v`).join("\r\n")}\r\nContent-Length: 2`),
    502,
  ],
  ["a 101 nobody asked for", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: evil\r\n\r\n", 502, "evil"],
  [
    "a bare LF in chunk framing",
    ok("Transfer-Encoding: chunked", "2\nok\r\n0\r\n\r\nHTTP/1.1 200 OK\r\nSet-Cookie: evil=1\r\n\r\n"),
    0,
    "evil",
  ],
  [
    "a bare LF in a trailer",
    ok("Transfer-Encoding: chunked", "2\r\nok\r\n0\r\nX-T: a\nSet-Cookie: evil=1\r\n\r\n"),
    0,
    "evil",
  ],
  ["an interim 100 before the response", `HTTP/1.1 100 Continue\r\n\r\n${ok("Content-Length: 2")}`, 200],
  ["chunk extensions pass", ok("Transfer-Encoding: chunked", "2;a=b\r\nok\r\n0\r\n\r\n"), 200],
];

describe("upstream responses", () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig();
  });
  afterAll(() => rig.stop());

  const rows = CASES.map(([name, response, status, banned]) => ({ name, response, status, banned }));
  it.each(rows)("$name", async ({ response, status, banned }) => {
    rig.backend.responses.push(response);
    const o = await runCase(rig, GET);
    expect(o.reply.status).toBe(status);
    if (status === 0) expect(o.reply.closed).toBe(true);
    if (banned) expect(o.reply.text).not.toContain(banned);
    expect(o.forwarded).toHaveLength(1);
    expect(o.malformed).toEqual([]);
  });

  it("answers an HTTP/1.0 client in HTTP/1.0, de-chunking a chunked upstream response, then closes", async () => {
    rig.backend.responses.push(ok("Transfer-Encoding: chunked", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
    const o = await runCase(rig, "GET /x HTTP/1.0\r\nHost: allowed\r\n\r\n");
    expect(o.reply.closed).toBe(true);
    expect(o.reply.text).toMatch(/^HTTP\/1\.0 200 OK\r\n/);
    expect(o.reply.text.toLowerCase()).not.toContain("transfer-encoding");
    expect(o.reply.text.endsWith("\r\n\r\nhello world")).toBe(true);
  });
});
