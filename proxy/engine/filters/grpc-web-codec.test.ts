// gRPC-Web's wire format: what a browser's client library decodes, whatever the chunking of the bytes.
import fc from "fast-check";
import { Base64Decoder, FrameBase64, grpcMessage, trailersFrame } from "./grpc-web-codec.js";

const frame = (flag: number, msg: Buffer) => {
  const f = Buffer.alloc(5 + msg.length);
  f[0] = flag;
  f.writeUInt32BE(msg.length, 1);
  msg.copy(f, 5);
  return f;
};

/** Pushes `data` split at `cuts` through `push`, concatenating what comes out. */
function split(data: Buffer, cuts: number[], push: (b: Buffer) => Buffer | undefined): Buffer | undefined {
  const at = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of [...at, data.length]) {
    const r = push(data.subarray(from, c));
    if (!r) return undefined;
    out.push(r);
    from = c;
  }
  return Buffer.concat(out);
}

describe("gRPC-Web request bodies (base64)", () => {
  it("decodes a body however its bytes are split, padded groups included", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 4 }), fc.array(fc.nat()), (parts, cuts) => {
        // Each part encoded on its own: padding may end any group, as a client writing message by message does.
        const text = Buffer.from(parts.map((p) => Buffer.from(p).toString("base64")).join(""), "latin1");
        const d = new Base64Decoder();
        expect(split(text, cuts, (b) => d.push(b))).toEqual(Buffer.concat(parts.map((p) => Buffer.from(p))));
        expect(d.end()).toBe(true);
      }),
    );
  });

  it.each([
    ["a character outside the alphabet", "QU*D"],
    ["whitespace (Node's decoder would skip it)", "QUJD QUJD"],
    ["padding that doesn't end a group", "Q=JD"],
    ["a third padding character", "Q==="],
    ["data after the padding in a group", "QQ=A"],
  ])("refuses %s", (_what, text) => {
    expect(new Base64Decoder().push(Buffer.from(text, "latin1"))).toBeUndefined();
  });

  it("refuses a body that ends in the middle of a group", () => {
    const d = new Base64Decoder();
    expect(d.push(Buffer.from("QUJDQQ", "latin1"))).toEqual(Buffer.from("ABC"));
    expect(d.end()).toBe(false);
  });
});

describe("gRPC-Web response bodies", () => {
  it("base64-encodes each frame on its own, however the frames arrive", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 5 }), fc.array(fc.nat()), (msgs, cuts) => {
        const frames = msgs.map((m) => frame(0, Buffer.from(m)));
        const e = new FrameBase64();
        const out = split(Buffer.concat(frames), cuts, (b) => e.push(b));
        expect(out?.toString("latin1")).toBe(frames.map((f) => f.toString("base64")).join(""));
      }),
    );
  });

  it("sends the trailers as a last frame of name:value lines, flag 0x80", () => {
    const f = trailersFrame(["grpc-status", "0", "grpc-message", "ok"]);
    expect(f).toEqual(frame(0x80, Buffer.from("grpc-status:0\r\ngrpc-message:ok\r\n")));
  });

  it("percent-encodes grpc-message as gRPC does: non-printable bytes and %", () => {
    expect(grpcMessage(Buffer.from("no healthy upstream"))).toBe("no healthy upstream");
    expect(grpcMessage(Buffer.from("100%\r\nd\u00e9j\u00e0"))).toBe("100%25%0D%0Ad%C3%A9j%C3%A0");
  });
});
