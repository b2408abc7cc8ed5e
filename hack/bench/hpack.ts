// npm run bench:hpack — the HPACK codec (proxy/engine/h2/hpack.ts) alone: decoding the request heads of h2load and
// of a gRPC client, and encoding the response heads (and gRPC trailers) the engine sends back. "first" is a head's
// first block on a connection (literals, added to the dynamic table: on repeat, the decoder adds them again and
// evicts); "repeat" is every later one (the dynamic table hits). Prints ns per operation (median of the rounds) and the
// heap bytes each allocates. A benchmark prints figures; it asserts nothing.
//   env: BENCH_ITERATIONS (default 200000 per round), BENCH_ROUNDS (default 5)
import { ITERATIONS, ROUNDS, measure } from "./micro.js";
import { HpackDecoder, HpackEncoder } from "../../proxy/engine/h2/hpack.js";

const REQUESTS = {
  // What h2load sends (nghttp2's order).
  "h2load request": [":method", "GET", ":path", "/", ":scheme", "http", ":authority", "127.0.0.1:8080"].concat([
    "user-agent",
    "h2load nghttp2/1.59.0",
  ]),
  // grpc-go's unary call.
  "gRPC request": [":method", "POST", ":scheme", "http", ":path", "/grpc.testing.BenchmarkService/UnaryCall"]
    .concat([":authority", "echo.default.svc.cluster.local:50051", "content-type", "application/grpc"])
    .concat(["user-agent", "grpc-go/1.68.0", "te", "trailers", "grpc-timeout", "9999843u"]),
};

const RESPONSES = {
  "response head": [":status", "200", "content-type", "text/plain", "content-length", "6"].concat([
    "date",
    "Wed, 02 Dec 2026 11:00:00 GMT",
    "server",
    "envoy",
    "x-envoy-upstream-service-time",
    "3",
  ]),
  "gRPC response head": [
    ":status",
    "200",
    "content-type",
    "application/grpc",
    "date",
    "Wed, 02 Dec 2026 11:00:00 GMT",
  ].concat(["server", "envoy", "x-envoy-upstream-service-time", "1"]),
  "gRPC trailers": ["grpc-status", "0", "grpc-message", ""],
};

/** Keeps results alive so the work can't be optimised away. */
let sink: unknown;

function cases(): [string, () => void][] {
  const out: [string, () => void][] = [];
  for (const [name, fields] of Object.entries(REQUESTS)) {
    const encoder = new HpackEncoder();
    const first = encoder.encode(fields);
    const repeat = encoder.encode(fields);
    const fresh = new HpackDecoder();
    const warm = new HpackDecoder();
    warm.decode(first);
    out.push([`decode ${name}, first (${first.length} octets)`, () => (sink = fresh.decode(first))]);
    out.push([`decode ${name}, repeat (${repeat.length} octets)`, () => (sink = warm.decode(repeat))]);
  }
  for (const [name, fields] of Object.entries(RESPONSES)) {
    const encoder = new HpackEncoder();
    const first = new HpackEncoder().encode(fields).length;
    encoder.encode(fields);
    const repeat = encoder.encode(fields).length;
    out.push([`encode ${name}, first (${first} octets)`, () => (sink = new HpackEncoder().encode(fields))]);
    out.push([`encode ${name}, repeat (${repeat} octets)`, () => (sink = encoder.encode(fields))]);
  }
  return out;
}

process.stdout.write(`HPACK, per header block (median of ${ROUNDS} rounds of ${ITERATIONS}):\n`);
for (const [label, fn] of cases()) {
  const { ns, bytes } = measure(fn);
  process.stdout.write(
    `  ${label.padEnd(52)} ${ns.toFixed(0).padStart(6)} ns  ${bytes.toFixed(0).padStart(6)} bytes allocated\n`,
  );
}
if (sink === Symbol()) process.stdout.write("\n");
