// Differential fuzzing of the request codec (RequestParser and BodyDecoder, the code the connection runs) against the reference
// parser written from RFC 9112's grammar: random mutations of valid requests. The codec must never throw, must
// finish, and must never accept a request the reference rejects; when it accepts, both agree on the method, target,
// authority, body and where the request ends. Bytes also arrive split at random points, as they would from a socket.
//   FUZZ_SEED=<n> replays a run; FUZZ_RUNS=<n> changes its length (default 100,000).
import type { RequestHead } from "../../http/head.js";
import { BodyDecoder, RequestParser } from "../../http1/request.js";
import { referenceParse } from "./reference.js";

const RUNS = Number(process.env.FUZZ_RUNS ?? 100_000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VALID = [
  "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET /x/y?q=1&r=%20 HTTP/1.1\r\nHost: a.example:8080\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n",
  "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
  "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
  'POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1;q="a b"\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n',
  "GET http://b.example/abs?x HTTP/1.1\r\nHost: ignored\r\n\r\n",
  "GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n",
  "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
  "PUT /u HTTP/1.1\r\nHost: [::1]:80\r\nContent-Length: 0\r\nExpect: 100-continue\r\n\r\n",
  "\r\nDELETE /d HTTP/1.1\r\nhost:a\r\nx:\r\n\r\n",
];
const PIECES = [
  "\r",
  "\n",
  "\r\n",
  "\0",
  " ",
  "\t",
  ":",
  ";",
  "=",
  '"',
  "\\",
  "0",
  "f",
  "1",
  "a",
  "#",
  "@",
  "?",
  "/",
  "\x7f",
  "\x85",
  "\xa0",
  "\xff",
  "Transfer-Encoding: chunked\r\n",
  "Content-Length: 5\r\n",
  "Content-Length: 0\r\n",
  "Host: b\r\n",
  "Transfer-Encoding: gzip, chunked\r\n",
  "transfer-encoding : chunked\r\n",
  " chunked",
  "0\r\n\r\n",
  "\r\n\r\n",
  "GET / HTTP/1.1\r\n",
  "HTTP/1.0",
  "HTTP/1.2",
  "ffffffffffffffff",
  "00000000000000005",
  "http://",
  "/../",
  "%00",
  "\r\n ",
  "\n\n",
];

function mutate(rnd: () => number, s: string): string {
  const n = 1 + Math.floor(rnd() * 4);
  for (let k = 0; k < n; k++) {
    const at = Math.floor(rnd() * (s.length + 1));
    const op = Math.floor(rnd() * 6);
    const piece = PIECES[Math.floor(rnd() * PIECES.length)] as string;
    if (op === 0) s = s.slice(0, at) + piece + s.slice(at);
    else if (op === 1) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(rnd() * 3));
    else if (op === 2) s = s.slice(0, at) + piece + s.slice(at + piece.length);
    else if (op === 3) s = s.slice(0, at) + String.fromCharCode(Math.floor(rnd() * 256)) + s.slice(at + 1);
    else if (op === 4) s = s.slice(0, at);
    else s = s.slice(0, at) + s.slice(at, at + 20) + s.slice(at);
  }
  return s;
}

type ParseResult = { head: RequestHead; body: Buffer; end: number } | { status: number } | undefined;

/**
 * The codec over bytes that arrive in pieces, as the connection runs it: the head's buffer grows until it parses;
 * a body not whole in it then goes through a BodyDecoder, the rest of that buffer and each later piece as it comes.
 */
function codec(bytes: Buffer, splits: number[]): ParseResult {
  const p = new RequestParser({ maxHeadBytes: 60 * 1024, maxHeaders: 100 });
  let from = 0;
  // Empty lines before the request line are the connection's to skip (RFC 9112 §2.2).
  while (bytes[from] === 13 && bytes[from + 1] === 10) from += 2;
  const cuts = [...splits, bytes.length].filter((c) => c >= from);
  for (let i = 0; i < cuts.length; i++) {
    const r = p.parse(bytes.subarray(from, cuts[i]));
    if (!r) continue;
    if ("status" in r) return r;
    if (r.body) return { head: r.head, body: r.body, end: r.end + from };
    const decoder = new BodyDecoder(r.head);
    const parts: Buffer[] = [];
    let piece = bytes.subarray(from, cuts[i]);
    let at = from; // where `piece` starts in `bytes`
    let start = r.end;
    for (let j = i; ;) {
      let end: number;
      try {
        const buf = piece;
        end = decoder.decode(buf, start, (a, b) => parts.push(buf.subarray(a, b)));
      } catch {
        return { status: 400 };
      }
      if (end >= 0) return { head: r.head, body: Buffer.concat(parts), end: at + end };
      if (++j >= cuts.length) return undefined;
      at = cuts[j - 1] as number;
      piece = bytes.subarray(at, cuts[j]);
      start = 0;
    }
  }
  return undefined;
}

describe("HTTP/1.1 request codec, fuzzed against the RFC 9112 reference parser", () => {
  it(`accepts nothing the reference rejects, over ${RUNS} mutated requests (seed ${SEED})`, () => {
    const rnd = mulberry32(SEED);
    const stats = { accepted: 0, rejected: 0, incomplete: 0, stricter: 0 };
    for (let i = 0; i < RUNS; i++) {
      const text = mutate(rnd, VALID[Math.floor(rnd() * VALID.length)] as string);
      const bytes = Buffer.from(text, "latin1");
      const splits = Array.from({ length: Math.floor(rnd() * 3) }, () => Math.floor(rnd() * bytes.length)).sort(
        (a, b) => a - b,
      );
      const where = `seed ${SEED}, run ${i}, input ${JSON.stringify(text)}`;
      let got: ParseResult;
      try {
        got = codec(bytes, splits);
      } catch (err) {
        throw new Error(`codec threw ${(err as Error).message} (${where})`);
      }
      const ref = referenceParse(text);
      if (!got) stats.incomplete++;
      else if ("status" in got) {
        stats.rejected++;
        if (ref.kind === "ok") stats.stricter++;
      } else {
        stats.accepted++;
        if (ref.kind !== "ok")
          throw new Error(
            `codec accepted what the reference rejects (${ref.kind === "error" ? ref.reason : ref.kind}) (${where})`,
          );
        const mine = {
          method: got.head.method,
          target: got.head.target,
          host: got.head.host,
          minor: got.head.minor,
          body: got.body.toString("latin1"),
          consumed: got.end,
        };
        const theirs = {
          method: ref.method,
          target: ref.target,
          host: ref.host,
          minor: ref.minor,
          body: ref.body,
          consumed: ref.consumed,
        };
        if (JSON.stringify(mine) !== JSON.stringify(theirs))
          throw new Error(
            `codec and reference disagree: ${JSON.stringify(mine)} vs ${JSON.stringify(theirs)} (${where})`,
          );
      }
    }
    process.stdout.write(`fuzz seed ${SEED}: ${JSON.stringify(stats)}\n`);
    // The corpus keeps both sides exercised: a mutation run that accepted or rejected nothing tested nothing.
    expect(stats.accepted).toBeGreaterThan(RUNS / 50);
    expect(stats.rejected).toBeGreaterThan(RUNS / 4);
  });
});
