// The TLS inspector against arbitrary client bytes, cut into arbitrary reads: it never throws, its verdict doesn't
// depend on how the bytes were cut, it gives back exactly what it read, it decides by the time `max` bytes are in
// (bounded memory), and a well-formed ClientHello in any record split reads back as written. Time: a 64 KiB hello of
// one-byte records costs what its length does, however it arrives (it used to be re-read whole on every read).
import fc from "fast-check";
import { ClientHelloReader, MAX_CLIENT_HELLO, readClientHello, type Hello } from "./client-hello.js";
import {
  alpnExtension,
  extension,
  helloMessage,
  inRecords,
  sniExtension,
} from "../../test/support/engine/client-hello.js";

/** Feeds `bytes` to a reader cut at `cuts` (offsets, any order); the verdict after each read. */
function feed(bytes: Buffer, cuts: number[], max?: number): { verdicts: Hello[]; reader: ClientHelloReader } {
  const reader = new ClientHelloReader(max);
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const verdicts: Hello[] = [];
  let from = 0;
  for (const to of [...at, bytes.length]) {
    if (to <= from) continue;
    verdicts.push(reader.push(bytes.subarray(from, to)));
    from = to;
  }
  return { verdicts, reader };
}

/** A ClientHello message offering `alpn` and asking for `sni`, with `padding` bytes of an unknown extension. */
function clientHello(sni: string | undefined, alpn: string[], padding: number): Buffer {
  const exts = [
    ...(sni === undefined ? [] : [sniExtension(sni)]),
    ...(alpn.length ? [alpnExtension(...alpn)] : []),
    ...(padding ? [extension(21, Buffer.alloc(padding))] : []),
  ];
  return helloMessage(Buffer.concat(exts));
}

const label = fc.stringMatching(/^[a-zA-Z0-9-]{1,20}$/);
const hostName = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join("."));
const protocol = fc.stringMatching(/^[!-~]{1,30}$/);

describe("the TLS inspector's reader, on any bytes cut any way", () => {
  it("never throws, decides the same however the bytes are cut, and gives back every byte it read", () => {
    // Bytes that start like a ClientHello half the time, so the parser gets past its first checks.
    const start = fc.oneof(fc.constant(Buffer.alloc(0)), fc.constant(Buffer.from([0x16, 3, 1])));
    const bytes = fc
      .tuple(start, fc.uint8Array({ maxLength: 600 }))
      .map(([a, b]) => Buffer.concat([a, Buffer.from(b)]));
    fc.assert(
      fc.property(bytes, fc.array(fc.nat(), { maxLength: 20 }), fc.integer({ min: 16, max: 700 }), (b, cuts, max) => {
        const whole = readClientHello(b, max);
        const { verdicts, reader } = feed(b, cuts, max);
        expect(verdicts.at(-1) ?? { kind: "more" }).toEqual(whole);
        // Once decided it stays decided; until then it asks for more.
        const first = verdicts.findIndex((v) => v.kind !== "more");
        if (first >= 0) for (const v of verdicts.slice(first)) expect(v).toEqual(verdicts[first]);
        if (b.length) expect(reader.bytes.equals(b.subarray(0, reader.bytes.length))).toBe(true);
        if (whole.kind === "more") expect(reader.bytes.equals(b)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("decides by the time `max` bytes have come, whatever they are (memory is bounded)", () => {
    const records = fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 8 });
    const size = fc.oneof(fc.nat(1200), fc.integer({ min: 0, max: 0xffffff }));
    fc.assert(
      fc.property(size, fc.uint8Array({ minLength: 1, maxLength: 3000 }), records, (n, body, sizes) => {
        const message = Buffer.concat([Buffer.from([1, n >> 16, (n >> 8) & 255, n & 255]), Buffer.from(body)]);
        const stream = inRecords(message, sizes);
        const { verdicts, reader } = feed(
          stream,
          [...Array(40).keys()].map((i) => i * 97),
          1024,
        );
        if (stream.length >= 1024) expect(verdicts.at(-1)?.kind).not.toBe("more");
        expect(reader.bytes.length).toBeLessThanOrEqual(1024 + 97);
      }),
      { numRuns: 1000 },
    );
  });

  it("reads back any well-formed ClientHello, in any record split and any reads", () => {
    fc.assert(
      fc.property(
        fc.option(hostName, { nil: undefined }),
        fc.array(protocol, { maxLength: 5 }),
        fc.nat(3000),
        fc.array(fc.integer({ min: 1, max: 16384 }), { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (sni, alpn, padding, sizes, cuts) => {
          const { verdicts } = feed(inRecords(clientHello(sni, alpn, padding), sizes), cuts);
          const want = sni === undefined ? { kind: "tls", alpn } : { kind: "tls", alpn, sni: sni.toLowerCase() };
          expect(verdicts.at(-1)).toEqual(want);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("reads a 64 KiB hello of one-byte records, a byte per read, in time linear in its size", () => {
    const message = clientHello("shop.example.com", ["h2"], 10_500);
    const stream = inRecords(message, [1]);
    expect(stream.length).toBeLessThan(MAX_CLIENT_HELLO);
    expect(stream.length).toBeGreaterThan(60_000);
    const t = performance.now();
    // Read whole, then a byte per read: the worst a client can make of a hello's records and its TCP segments.
    expect(readClientHello(stream)).toEqual({ kind: "tls", alpn: ["h2"], sni: "shop.example.com" });
    const { verdicts } = feed(stream, [...stream.keys()]);
    expect(verdicts.at(-1)).toEqual({ kind: "tls", alpn: ["h2"], sni: "shop.example.com" });
    expect(performance.now() - t).toBeLessThan(2000); // was 0.8 s for one read of it whole, and ~1 s per read after
  });
});
