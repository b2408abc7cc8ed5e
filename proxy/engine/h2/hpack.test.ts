// HPACK codec: RFC 7541 Appendix C vectors, the decoding errors a client can provoke, seeded random round trips
// through one encoder/decoder pair, and interop with nghttp2 (node:http2) both ways over a loopback socket.
import { seededRandom as random } from "../../../test/support/random.js";
import http2 from "node:http2";
import net from "node:net";
import { HpackDecoder, HpackEncoder, HpackError } from "./hpack.js";
import { HUFFMAN_CODES, HUFFMAN_LENGTHS } from "./huffman.js";

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ""), "hex");
const bytes = (...parts: (number | string | Buffer)[]): Buffer =>
  Buffer.concat(
    parts.map((p) => (typeof p === "number" ? Buffer.from([p]) : typeof p === "string" ? Buffer.from(p, "latin1") : p)),
  );

/** §5.1 integer with an N-bit prefix, written independently of the encoder. */
function integer(flags: number, bits: number, value: number): number[] {
  const max = 2 ** bits - 1;
  if (value < max) return [flags | value];
  const out = [flags | max];
  for (value -= max; value >= 128; value = Math.floor(value / 128)) out.push((value % 128) + 128);
  return [...out, value];
}

/** The dynamic table, newest first, read through indexed fields (which leave it unchanged). */
function dynamicTable(decoder: HpackDecoder): string[] {
  const entries: string[] = [];
  for (let index = 62; ; index++) {
    try {
      entries.push(...decoder.decode(Buffer.from(integer(0x80, 7, index))));
    } catch (err) {
      expect(err).toBeInstanceOf(HpackError);
      return entries;
    }
  }
}

/** The requests of C.3 and C.4. */
const requests = [
  [":method", "GET", ":scheme", "http", ":path", "/", ":authority", "www.example.com"],
  [":method", "GET", ":scheme", "http", ":path", "/", ":authority", "www.example.com", "cache-control", "no-cache"],
  [
    ...[":method", "GET", ":scheme", "https", ":path", "/index.html", ":authority", "www.example.com"],
    ...["custom-key", "custom-value"],
  ],
];

describe("RFC 7541 Appendix C", () => {
  test("C.2: one field of each representation", () => {
    const d = new HpackDecoder();
    expect(d.decode(hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"))).toEqual([
      "custom-key",
      "custom-header",
    ]);
    expect(dynamicTable(d)).toEqual(["custom-key", "custom-header"]);
    const d2 = new HpackDecoder();
    expect(d2.decode(hex("040c 2f73 616d 706c 652f 7061 7468"))).toEqual([":path", "/sample/path"]);
    expect(d2.decode(hex("1008 7061 7373 776f 7264 0673 6563 7265 74"))).toEqual(["password", "secret"]);
    expect(d2.decode(hex("82"))).toEqual([":method", "GET"]);
    expect(dynamicTable(d2)).toEqual([]);
  });

  const requestTables = [
    [":authority", "www.example.com"],
    ["cache-control", "no-cache", ":authority", "www.example.com"],
    ["custom-key", "custom-value", "cache-control", "no-cache", ":authority", "www.example.com"],
  ];
  test.each([
    [
      "C.3 (raw)",
      [
        "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
        "8286 84be 5808 6e6f 2d63 6163 6865",
        "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
      ],
    ],
    [
      "C.4 (Huffman)",
      [
        "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
        "8286 84be 5886 a8eb 1064 9cbf",
        "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
      ],
    ],
  ])("%s: three requests on one connection", (_name, blocks) => {
    const d = new HpackDecoder();
    blocks.forEach((block, i) => {
      expect(d.decode(hex(block))).toEqual(requests[i]);
      expect(dynamicTable(d)).toEqual(requestTables[i]);
    });
  });

  const date1 = "Mon, 21 Oct 2013 20:13:21 GMT";
  const date2 = "Mon, 21 Oct 2013 20:13:22 GMT";
  const url = "https://www.example.com";
  const cookie = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";
  const responses = [
    [":status", "302", "cache-control", "private", "date", date1, "location", url],
    [":status", "307", "cache-control", "private", "date", date1, "location", url],
    [
      ...[":status", "200", "cache-control", "private", "date", date2, "location", url],
      ...["content-encoding", "gzip", "set-cookie", cookie],
    ],
  ];
  const responseTables = [
    ["location", url, "date", date1, "cache-control", "private", ":status", "302"],
    [":status", "307", "location", url, "date", date1, "cache-control", "private"],
    ["set-cookie", cookie, "content-encoding", "gzip", "date", date2],
  ];
  test.each([
    [
      "C.5 (raw)",
      [
        "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120" +
          "474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
        "4803 3330 37c1 c0bf",
        "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738" +
          "666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33" +
          "3630 303b 2076 6572 7369 6f6e 3d31",
      ],
    ],
    [
      "C.6 (Huffman)",
      [
        "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718" +
          "63c7 8f0b 97c8 e9ae 82ae 43d3",
        "4883 640e ffc1 c0bf",
        "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7" +
          "b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
      ],
    ],
  ])("%s: three responses with a 256-octet table, evicting", (_name, blocks) => {
    const d = new HpackDecoder({ maxTableSize: 256 });
    // The decoder starts at the protocol's 4096 (see HpackDecoder); the peer signals 256 first, as §4.2 requires.
    expect(d.decode(Buffer.from(integer(0x20, 5, 256)))).toEqual([]);
    blocks.forEach((block, i) => {
      expect(d.decode(hex(block))).toEqual(responses[i]);
      expect(dynamicTable(d)).toEqual(responseTables[i]);
    });
  });
});

describe("decoding errors", () => {
  const huffmanA = 0x1f; // 'a' is 00011, then 111 of padding
  test.each([
    ["index 0", bytes(0x80), /index 0/],
    ["an index past the static table, the dynamic one empty", bytes(0xbe), /past the table/],
    ["an index past both tables", Buffer.from(integer(0x80, 7, 5000)), /past the table/],
    ["a literal's name index past the tables", bytes(0x7f, 0x10, 0x01, 0x61), /past the table/],
    ["a truncated integer", bytes(0xff), /truncated integer/],
    ["a truncated integer (continuation bit set)", bytes(0xff, 0x80), /truncated integer/],
    ["an integer over 2^31", bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0x0f), /integer overflow/],
    ["an integer of 6 continuation octets", bytes(0xff, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00), /integer overflow/],
    ["a literal without its name", bytes(0x40), /truncated string/],
    ["a name shorter than its length", bytes(0x40, 0x05, "ab"), /truncated string/],
    ["a literal without its value", bytes(0x00, 0x01, "a"), /truncated string/],
    ["a value shorter than its length", bytes(0x04, 0x03, "ab"), /truncated string/],
    ["a string length truncated", bytes(0x04, 0x7f), /truncated integer/],
    ["Huffman padding over 7 bits", bytes(0x00, 0x82, huffmanA, 0xff, 0x01, "v"), /padding/],
    ["Huffman padding of a whole octet", bytes(0x04, 0x81, 0xff), /padding/],
    ["Huffman padding not EOS's prefix", bytes(0x00, 0x81, 0x1e, 0x01, "v"), /padding/],
    ["Huffman padding of 0s", bytes(0x04, 0x81, 0x18), /padding/],
    ["EOS in a Huffman string", bytes(0x04, 0x84, 0xff, 0xff, 0xff, 0xff), /EOS/],
    ["EOS after a symbol", bytes(0x04, 0x85, 0x1f, 0xff, 0xff, 0xff, 0xff), /EOS/],
    ["a size update after a field", bytes(0x82, 0x20), /after a field/],
    ["a size update after a literal", bytes(0x04, 0x01, "/", 0x3f, 0x01), /after a field/],
    ["a size update above the advertised size", Buffer.from(integer(0x20, 5, 4097)), /above 4096/],
  ])("%s", (_name, block, message) => {
    expect(() => new HpackDecoder().decode(block)).toThrow(HpackError);
    expect(() => new HpackDecoder().decode(block)).toThrow(message);
  });

  test("size updates: two at the block's start, down to 0 and back, are fine", () => {
    const d = new HpackDecoder();
    expect(d.decode(bytes(0x40, 0x01, "a", 0x01, "b"))).toEqual(["a", "b"]);
    expect(d.decode(bytes(0x20, ...integer(0x20, 5, 4096)))).toEqual([]); // the entry went with the update to 0
    expect(() => d.decode(bytes(0xbe))).toThrow(/past the table/);
    expect(new HpackDecoder({ maxTableSize: 100 }).decode(Buffer.from(integer(0x20, 5, 100)))).toEqual([]);
    expect(() => new HpackDecoder({ maxTableSize: 100 }).decode(Buffer.from(integer(0x20, 5, 101)))).toThrow(
      /above 100/,
    );
  });

  test("maxStringBytes bounds raw and Huffman literals, after decoding", () => {
    const d = new HpackDecoder({ maxStringBytes: 10 });
    expect(d.decode(bytes(0x00, 0x0a, "aaaaaaaaaa", 0x00))).toEqual(["aaaaaaaaaa", ""]);
    expect(() => d.decode(bytes(0x00, 0x0b, "aaaaaaaaaaa", 0x00))).toThrow(/above the limit/);
    expect(() => d.decode(bytes(0x00, 0x01, "a", 0x0b, "aaaaaaaaaaa"))).toThrow(/above the limit/);
    // 'a' is 5 bits: 7 octets hold 11 of them (55 bits + 1 of padding), 10 fit in 50 bits (7 octets, 6 of padding).
    const huffman = (n: number): number[] => {
      const out: number[] = [];
      let bits = 0n;
      for (let i = 0; i < n; i++) bits = (bits << 5n) | 3n;
      const length = Math.ceil((n * 5) / 8);
      bits = (bits << BigInt(length * 8 - n * 5)) | ((1n << BigInt(length * 8 - n * 5)) - 1n);
      for (let i = length - 1; i >= 0; i--) out.push(Number((bits >> BigInt(i * 8)) & 0xffn));
      return [0x80 | length, ...out];
    };
    expect(d.decode(bytes(0x00, ...huffman(10), 0x00))).toEqual(["aaaaaaaaaa", ""]);
    expect(() => d.decode(bytes(0x00, ...huffman(11), 0x00))).toThrow(/above the limit/);
    expect(() => new HpackDecoder().decode(bytes(0x00, ...integer(0, 7, 70000), Buffer.alloc(70000)))).toThrow(
      /above the limit/,
    );
  });
});

describe("Huffman", () => {
  test("the code table: RFC 7541 Appendix B spot checks and a complete prefix code", () => {
    const spots: [number, number, number][] = [
      [0, 0x1ff8, 13],
      [10, 0x3ffffffc, 30],
      [32, 0x14, 6],
      [48, 0x0, 5],
      [97, 0x3, 5],
      [127, 0xffffffc, 28],
      [128, 0xfffe6, 20],
      [255, 0x3ffffee, 26],
      [256, 0x3fffffff, 30],
    ];
    for (const [symbol, code, length] of spots)
      expect([HUFFMAN_CODES[symbol], HUFFMAN_LENGTHS[symbol]]).toEqual([code, length]);
    expect([...HUFFMAN_LENGTHS].reduce((sum, l) => sum + 2 ** -l, 0)).toBe(1); // Kraft: no gaps, no overlaps
  });

  test("every symbol decodes, at every bit alignment", () => {
    const d = new HpackDecoder();
    for (let shift = 0; shift < 8; shift++) {
      // `shift` '0's first (5 bits each: the rest start at bit 5 × shift mod 8), then all 256 symbols.
      const symbols = [...Array<number>(shift).fill(48), ...Array.from({ length: 256 }, (_, i) => i)];
      let bits = 0n;
      let count = 0;
      for (const s of symbols) {
        bits = (bits << BigInt(HUFFMAN_LENGTHS[s]!)) | BigInt(HUFFMAN_CODES[s]!);
        count += HUFFMAN_LENGTHS[s]!;
      }
      const pad = (8 - (count % 8)) % 8;
      bits = (bits << BigInt(pad)) | ((1n << BigInt(pad)) - 1n);
      const octets = Buffer.from(bits.toString(16).padStart(((count + pad) / 8) * 2, "0"), "hex");
      const block = Buffer.concat([bytes(0x00, 0x01, "x"), Buffer.from(integer(0x80, 7, octets.length)), octets]);
      expect(d.decode(block)).toEqual(["x", Buffer.from(symbols).toString("latin1")]);
    }
  });
});

describe("encoder", () => {
  test("a typical response: static and dynamic table hits, volatile values left out of the table", () => {
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    const response = (length: string, time: string) => [
      ...[":status", "200", "content-type", "application/grpc", "content-length", length],
      ...["date", "Wed, 02 Dec 2026 11:00:00 GMT", "server", "envoy", "x-envoy-upstream-service-time", time],
      ...["grpc-status", "0"],
    ];
    const first = e.encode(response("6", "3"));
    expect(first[0]).toBe(0x88); // :status 200, from the static table
    expect(d.decode(first)).toEqual(response("6", "3"));
    const second = e.encode(response("123", "12"));
    expect(d.decode(second)).toEqual(response("123", "12"));
    // content-type, server and grpc-status indexed; content-length, date and the service time by name only.
    expect(second.length).toBeLessThan(40);
    expect(dynamicTable(d)).toEqual([
      "grpc-status",
      "0",
      "x-envoy-upstream-service-time",
      "3",
      "server",
      "envoy",
      "content-type",
      "application/grpc",
    ]);
  });

  test("reproduces C.4's Huffman-coded requests octet for octet (same indexing, Huffman when shorter)", () => {
    const e = new HpackEncoder();
    expect(e.encode(requests[0]!).toString("hex")).toBe("828684418cf1e3c2e5f23a6ba0ab90f4ff");
    expect(e.encode(requests[1]!).toString("hex")).toBe("828684be5886a8eb10649cbf");
    expect(e.encode(requests[2]!).toString("hex")).toBe("828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf");
  });

  test("Huffman only when shorter", () => {
    const e = new HpackEncoder(0);
    e.encode([]);
    expect(e.encode(["x-a", "\xe9\xe9"]).toString("hex")).toBe("0003782d6102e9e9"); // 2 × 23 bits
    expect(e.encode(["x-a", ""]).toString("hex")).toBe("0003782d6100");
    expect(e.encode(["x-a", "0"]).toString("hex")).toBe("0003782d610130"); // 5 bits: one octet either way
    expect(e.encode(["x-a", "00"]).toString("hex")).toBe("0003782d61023030"); // 10 bits: 2 octets either way
  });

  test("sensitive fields are never indexed (§7.1.3)", () => {
    const e = new HpackEncoder();
    for (const name of ["authorization", "cookie", "set-cookie", "proxy-authorization"]) {
      const block = e.encode([name, "secret"]);
      expect(block[0]! & 0xf0).toBe(0x10);
      expect(e.encode([name, "secret"])).toEqual(block);
    }
  });

  test("table size changes are signalled at the next block's start, the smallest one too", () => {
    const e = new HpackEncoder(0);
    const d = new HpackDecoder();
    const block = e.encode(["x-a", "b"]);
    expect([...block.subarray(0, 2)]).toEqual([0x20, 0x00]); // update to 0, then a literal without indexing
    expect(d.decode(block)).toEqual(["x-a", "b"]);
    expect(e.encode(["x-a", "b"])).toEqual(block.subarray(1));
    e.setMaxTableSize(100);
    e.setMaxTableSize(50);
    e.setMaxTableSize(4096);
    const next = e.encode(["x-a", "b"]);
    expect([...next.subarray(0, 5)]).toEqual([0x3f, 50 - 31, ...integer(0x20, 5, 4096)]);
    expect(d.decode(next)).toEqual(["x-a", "b"]);
    e.setMaxTableSize(8192); // above what the encoder uses: nothing to signal
    expect(e.encode(["x-a", "b"])).toEqual(Buffer.from([0xbe]));
  });

  test("fields must come in pairs", () => {
    expect(() => new HpackEncoder().encode(["a"])).toThrow(RangeError);
  });
});

describe("round trips", () => {
  test("random header lists through one encoder and decoder, with table size changes", () => {
    const rand = random(7541);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
    const text = (length: number, from: number, to: number): string =>
      String.fromCharCode(...Array.from({ length }, () => from + Math.floor(rand() * (to - from + 1))));
    const names = [
      ...[":status", ":method", ":path", ":authority", "content-type", "content-length", "date", "server", "cookie"],
      ...["authorization", "set-cookie", "x-envoy-upstream-service-time", "grpc-status", "grpc-message", "accept"],
      ...["x-custom", "x-trace", "user-agent", "accept-encoding", "x-request-id", "etag", "vary"],
    ];
    const values = ["", "200", "201", "GET", "POST", "gzip, deflate", "application/grpc", "text/html", "0", "envoy"];
    const value = (): string => {
      const r = rand();
      if (r < 0.3) return pick(values);
      if (r < 0.6) return text(Math.floor(rand() * 40), 0x20, 0x7e);
      if (r < 0.75) return text(1 + Math.floor(rand() * 300), 0x80, 0xff);
      if (r < 0.85) return text(Math.floor(rand() * 30), 0x00, 0xff);
      if (r < 0.95) return text(100 + Math.floor(rand() * 5000), 0x61, 0x7a);
      return String(Math.floor(rand() * 1e9));
    };
    const e = new HpackEncoder();
    const d = new HpackDecoder();
    const blocks: [Buffer, string[]][] = [];
    for (let block = 0; block < 600; block++) {
      if (block % 50 === 10) e.setMaxTableSize(0);
      if (block % 50 === 20) e.setMaxTableSize(100);
      if (block % 50 === 30) e.setMaxTableSize(4096);
      if (block % 50 === 40) [256, 0, 4096].forEach((n) => e.setMaxTableSize(n));
      const fields: string[] = [];
      for (let n = Math.floor(rand() * 20); n > 0; n--)
        fields.push(rand() < 0.8 ? pick(names) : text(1 + Math.floor(rand() * 30), 0x21, 0x7e), value());
      const encoded = e.encode(fields);
      blocks.push([encoded, fields]);
      expect(d.decode(encoded)).toEqual(fields);
    }
    // The blocks are the caller's to keep: none was written over by a later encode.
    const again = new HpackDecoder();
    for (const [encoded, fields] of blocks) expect(again.decode(encoded)).toEqual(fields);
    expect(blocks.reduce((sum, [encoded]) => sum + encoded.length, 0)).toBeGreaterThan(64 * 1024);
  });

  test("random and mutated blocks: a result or an HpackError, nothing else", () => {
    const rand = random(7540);
    const e = new HpackEncoder();
    const valid = [
      e.encode([":status", "200", "content-type", "text/plain", "x-a", "caf\xe9", "date", "Wed, 02 Dec 2026"]),
      e.encode([":status", "200", "content-type", "text/plain", "x-a", "caf\xe9", "x-long", "z".repeat(300)]),
    ];
    let errors = 0;
    for (let i = 0; i < 20000; i++) {
      let block: Buffer;
      if (i % 2 === 0)
        block = Buffer.from(Array.from({ length: Math.floor(rand() * 40) }, () => Math.floor(rand() * 256)));
      else {
        block = Buffer.from(valid[i % 4 === 1 ? 0 : 1]!);
        for (let k = 1 + Math.floor(rand() * 3); k > 0; k--)
          block[Math.floor(rand() * block.length)] = Math.floor(rand() * 256);
      }
      const d = new HpackDecoder({ maxStringBytes: 256 });
      try {
        d.decode(block);
        d.decode(block); // again, on the table the first left
      } catch (err) {
        if (!(err instanceof HpackError)) throw err;
        errors++;
      }
    }
    expect(errors).toBeGreaterThan(1000);
  });

  test("decodes buf[start, end) only: a string running past end is truncated", () => {
    const block = new HpackEncoder().encode(["x-a", "b", "x-c", "d"]);
    const framed = Buffer.concat([Buffer.from("junk"), block, Buffer.from("junk")]);
    expect(new HpackDecoder().decode(framed, 4, 4 + block.length)).toEqual(["x-a", "b", "x-c", "d"]);
    expect(() => new HpackDecoder().decode(framed, 4, 4 + block.length - 1)).toThrow(/truncated string/);
    expect(() => new HpackDecoder().decode(framed, 4, 3)).toThrow(RangeError);
  });

  test("a large table on the decoder's side grows its ring and evicts oldest first", () => {
    const d = new HpackDecoder({ maxTableSize: 65536 });
    d.decode(Buffer.from(integer(0x20, 5, 65536)));
    for (let i = 0; i < 3000; i++) d.decode(bytes(0x40, 0x01, "n", ...integer(0, 7, String(i).length), String(i)));
    // 3000 entries of 34-37 octets: the newest 65536 octets' worth stay, i.e. 1771 of them.
    const table = dynamicTable(d);
    expect(table.slice(0, 2)).toEqual(["n", "2999"]);
    expect(table.length / 2).toBe(1771);
    expect(table.slice(-2)).toEqual(["n", "1229"]);
  });
});

// ---- Interop with nghttp2 (node:http2) over a loopback socket: its encoder against this decoder, this encoder
// against its decoder. Both sides of each connection are in this process; nothing else is started.

interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

/** Splits complete frames off `buf`; returns them and what is left. */
function readFrames(buf: Buffer): [Frame[], Buffer] {
  const frames: Frame[] = [];
  while (buf.length >= 9 && buf.length >= 9 + buf.readUIntBE(0, 3)) {
    const length = buf.readUIntBE(0, 3);
    frames.push({
      type: buf[3]!,
      flags: buf[4]!,
      stream: buf.readUInt32BE(5) & 0x7fffffff,
      payload: buf.subarray(9, 9 + length),
    });
    buf = buf.subarray(9 + length);
  }
  return [frames, buf];
}

function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

const PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const [HEADERS, SETTINGS, CONTINUATION] = [1, 4, 9];
const [END_STREAM, END_HEADERS, PADDED, PRIORITY] = [0x1, 0x4, 0x8, 0x20];

/**
 * A raw HTTP/2 peer on 127.0.0.1: answers SETTINGS, hands each complete header block (HEADERS + CONTINUATION,
 * without padding and priority) to `onBlock`, and sends what that returns.
 */
async function rawPeer(onBlock: (stream: number, block: Buffer, settings: Map<number, number>) => Buffer[]) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let buf: Buffer = Buffer.alloc(0);
    let pending: Buffer[] = [];
    const settings = new Map<number, number>();
    socket.write(frame(SETTINGS, 0, 0));
    socket.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.subarray(0, 24).toString("latin1") === PREFACE) buf = buf.subarray(24);
      const [frames, rest] = readFrames(buf);
      buf = rest;
      for (const f of frames) {
        if (f.type === SETTINGS && !(f.flags & 1)) {
          for (let i = 0; i + 6 <= f.payload.length; i += 6)
            settings.set(f.payload.readUInt16BE(i), f.payload.readUInt32BE(i + 2));
          socket.write(frame(SETTINGS, 1, 0));
        }
        if (f.type !== HEADERS && f.type !== CONTINUATION) continue;
        let payload = f.payload;
        if (f.type === HEADERS) {
          const pad = f.flags & PADDED ? payload[0]! : 0;
          payload = payload.subarray(f.flags & PADDED ? 1 : 0, payload.length - pad);
          if (f.flags & PRIORITY) payload = payload.subarray(5);
        }
        pending.push(payload);
        if (f.flags & END_HEADERS) {
          for (const out of onBlock(f.stream, Buffer.concat(pending), settings)) socket.write(out);
          pending = [];
        }
      }
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  const close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  return { port, close };
}

describe("interop with nghttp2 (node:http2)", () => {
  test("decodes the header blocks of a node:http2 client, dynamic table and Huffman in use", async () => {
    const d = new HpackDecoder();
    const decoded: string[][] = [];
    const peer = await rawPeer((_stream, block) => {
      decoded.push(d.decode(block));
      return [];
    });
    const authority = `127.0.0.1:${peer.port}`;
    const latin1 = Array.from({ length: 128 }, (_, i) => "eeeeeeeeeeeeeeee" + String.fromCharCode(0x80 + i)).join("");
    const printable = "x\t" + String.fromCharCode(...Array.from({ length: 95 }, (_, i) => 0x20 + i));
    const requests: Record<string, string>[] = [
      { ":method": "GET", ":path": "/", "user-agent": "h2load nghttp2/1.59.0" },
      { ":method": "GET", ":path": "/", "user-agent": "h2load nghttp2/1.59.0" },
      { ":method": "POST", ":path": "/pkg.Service/Method", "content-type": "application/grpc", te: "trailers" },
      { ":method": "POST", ":path": "/pkg.Service/Method", "content-type": "application/grpc", te: "trailers" },
      { ":method": "GET", ":path": "/a", "x-latin1": latin1, "x-printable": printable, "x-empty": "" },
      { ":method": "GET", ":path": "/b", "x-long": "abcdefghij".repeat(2500), authorization: "Bearer xyz" },
      { ":method": "GET", ":path": "/c", "x-latin1": latin1, "x-many": "v".repeat(300) },
    ];
    const client = http2.connect(`http://${authority}`);
    client.on("error", () => {});
    try {
      for (const headers of requests) client.request(headers, { endStream: true }).on("error", () => {});
      for (let i = 0; i < 200 && decoded.length < requests.length; i++) await new Promise((r) => setTimeout(r, 10));
      expect(decoded.length).toBe(requests.length);
      requests.forEach((sent, i) => {
        const pairs = new Map<string, string>();
        const fields = decoded[i]!;
        for (let j = 0; j < fields.length; j += 2) pairs.set(fields[j]!, fields[j + 1]!);
        expect(Object.fromEntries(pairs)).toEqual({ ":scheme": "http", ":authority": authority, ...sent });
      });
      expect(dynamicTable(d).length).toBeGreaterThan(0);
    } finally {
      client.destroy();
      await peer.close();
    }
  });

  test("a node:http2 client decodes this encoder's responses, with a table size it set", async () => {
    let e: HpackEncoder | undefined;
    const responses: string[][] = [];
    const blocks: Buffer[] = [];
    const peer = await rawPeer((stream, _block, settings) => {
      e ??= new HpackEncoder(settings.get(0x1) ?? 4096);
      const n = (stream - 1) / 2;
      const fields = [
        ...[":status", n % 3 === 0 ? "200" : "503", "content-type", "application/grpc", "content-length", "0"],
        ...["date", "Wed, 02 Dec 2026 11:00:00 GMT", "server", "envoy", "x-envoy-upstream-service-time", String(n * 7)],
        ...["x-latin1", "caf\xe9 \xff" + "x".repeat(n * 40), "x-big", "y".repeat(n % 4 === 3 ? 200 : 1)],
        ...["set-cookie", `id=${n}`, "x-n", String(n), "x-request-id", `${n}-${n * 31}`],
      ];
      responses.push(fields);
      const block = e.encode(fields);
      blocks.push(block);
      return [frame(HEADERS, END_HEADERS | END_STREAM, stream, block)];
    });
    // A 256-octet table: this encoder must signal it, evict, and keep in step with nghttp2's decoder.
    const client = http2.connect(`http://127.0.0.1:${peer.port}`, { settings: { headerTableSize: 256 } });
    client.on("error", () => {});
    try {
      for (let n = 0; n < 12; n++) {
        const headers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
          const req = client.request({ ":path": `/${n}` }, { endStream: true });
          req.on("response", resolve).on("error", reject);
          req.resume();
        });
        const fields = responses[n]!;
        const expected: Record<string, string | string[]> = {};
        for (let j = 0; j < fields.length; j += 2) expected[fields[j]!] = fields[j + 1]!;
        expected["set-cookie"] = [expected["set-cookie"] as string];
        const got: Record<string | symbol, unknown> = { ...headers };
        expect(got[http2.sensitiveHeaders]).toEqual(["set-cookie"]); // sent never indexed
        delete got[http2.sensitiveHeaders];
        expect({ ...got, ":status": String(got[":status"]) }).toEqual(expected);
      }
      expect([...blocks[0]!.subarray(0, 3)]).toEqual(integer(0x20, 5, 256)); // the size update, first
    } finally {
      client.destroy();
      await peer.close();
    }
  });
});
