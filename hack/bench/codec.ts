// npm run bench:codec — the HTTP/1 codec's per-request work, alone: parse the request head from bytes, build and
// serialise the upstream head (request id, x-forwarded-proto), parse the upstream's response head, serialise the
// response head, and the four together as one proxied request. Prints ns per operation (median of the rounds) and
// the heap bytes each allocates. A benchmark
// prints figures; it asserts nothing.
//   env: BENCH_ITERATIONS (default 200000 per round), BENCH_ROUNDS (default 5)
import { RequestBody } from "../../proxy/engine/http/body.js";
import { ITERATIONS, ROUNDS, measure } from "./micro.js";
import { parseResponseHead } from "../../proxy/engine/http1/parse.js";
import { serializeHead } from "../../proxy/engine/http1/head-bytes.js";
import { RequestParser } from "../../proxy/engine/http1/request.js";
import { upstreamRequest, type HeadOptions } from "../../proxy/engine/upstream-head.js";
import { MAX_HEAD_BYTES, MAX_HEADERS } from "../../proxy/engine/http1/syntax.js";

const REQUESTS = {
  "wrk GET": "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
  "browser GET": [
    "GET /productpage?u=normal HTTP/1.1",
    "Host: bookinfo.example.com",
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
    "Accept-Language: en-GB,en;q=0.9",
    "Accept-Encoding: gzip, deflate, br",
    "Connection: keep-alive",
    "Cookie: session=8f14e45fceea167a5a36dedd4bea2543; theme=dark",
    "Upgrade-Insecure-Requests: 1",
    "Sec-Fetch-Dest: document",
    "Sec-Fetch-Mode: navigate",
    "Cache-Control: max-age=0",
    "",
    "",
  ].join("\r\n"),
} as const;

const RESPONSE =
  "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Wed, 02 Dec 2026 11:00:00 GMT\r\nContent-Type: text/plain\r\n" +
  "Content-Length: 6\r\nConnection: keep-alive\r\n\r\n";

const OPTIONS: HeadOptions = { path: "/", levels: [], host: undefined, requestId: true, tracing: false };
const LIMITS = { maxHeadBytes: MAX_HEAD_BYTES, maxHeaders: MAX_HEADERS };

/** Keeps results alive so the work can't be optimised away. */
let sink: unknown;

function parseRequest(parser: RequestParser, bytes: Buffer) {
  parser.reset();
  const r = parser.parse(bytes);
  if (!r || "status" in r) throw new Error("the request does not parse");
  return r.head;
}

function cases(name: keyof typeof REQUESTS): [string, () => void][] {
  const bytes = Buffer.from(REQUESTS[name], "latin1");
  const parser = new RequestParser(LIMITS);
  const head = parseRequest(parser, bytes);
  const empty = Buffer.alloc(0);
  const response = RESPONSE.slice(0, -4); // the text parseResponseHead gets: the head without its CRLFCRLF
  const parsedResponse = parseResponseHead(response);
  const upstreamHead = () => {
    const up = upstreamRequest(head, RequestBody.of(empty), OPTIONS);
    return serializeHead(`${up.method} ${up.path} HTTP/1.1`, up.headers);
  };
  const responseHead = () => serializeHead("HTTP/1.1 200 OK", parsedResponse.headers);
  return [
    [`${name}: parse the request head`, () => (sink = parseRequest(parser, bytes))],
    [`${name}: build and serialise the upstream head`, () => (sink = upstreamHead())],
    ["parse the response head", () => (sink = parseResponseHead(response))],
    ["serialise the response head", () => (sink = responseHead())],
    [
      `${name}: the four, one proxied request`,
      () => {
        parseRequest(parser, bytes);
        sink = upstreamHead();
        sink = parseResponseHead(response);
        sink = responseHead();
      },
    ],
  ];
}

const seen = new Set<string>();
process.stdout.write(`HTTP/1 codec, per operation (median of ${ROUNDS} rounds of ${ITERATIONS}):\n`);
for (const name of Object.keys(REQUESTS) as (keyof typeof REQUESTS)[])
  for (const [label, fn] of cases(name)) {
    if (seen.has(label)) continue;
    seen.add(label);
    const { ns, bytes } = measure(fn);
    process.stdout.write(
      `  ${label.padEnd(52)} ${ns.toFixed(0).padStart(6)} ns  ${bytes.toFixed(0).padStart(6)} bytes allocated\n`,
    );
  }
if (sink === Symbol()) process.stdout.write("\n");
