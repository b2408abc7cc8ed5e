// gRPC-Web's wire format (grpc/grpc doc/PROTOCOL-WEB.md), as Envoy's grpc_web filter reads and writes it: base64
// request bodies (application/grpc-web-text) decoded strictly, response frames base64-encoded one frame at a time, and
// the trailers sent as a last frame (flag 0x80) of "name:value\r\n" lines. Pure: bytes in, bytes out.

/** The content-types of a gRPC-Web request (Envoy's list: no +json, no other subtype). */
export const GRPC_WEB_TYPES: ReadonlySet<string> = new Set([
  "application/grpc-web",
  "application/grpc-web+proto",
  "application/grpc-web-text",
  "application/grpc-web-text+proto",
]);

export const isTextType = (t: string | undefined): boolean =>
  t === "application/grpc-web-text" || t === "application/grpc-web-text+proto";

/** The flag of a gRPC-Web trailers frame. */
const TRAILERS = 0x80;

const ALPHABET = new Uint8Array(256);
for (let i = 0; i < 64; i++)
  ALPHABET["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".charCodeAt(i)] = 1;
const PAD = 61; // "="
const inAlphabet = (c: number | undefined): boolean => c !== undefined && ALPHABET[c] === 1;

/**
 * A base64 request body, decoded as it arrives, four characters at a time (what is left waits for the next bytes).
 * Strict, as Envoy's Base64::decode: only the base64 alphabet, padding only to end a group of four, and the body's
 * length a multiple of four; anything else is an error (Node's own decoder skips what it doesn't know, which would let
 * other bytes through as if they weren't there).
 */
export class Base64Decoder {
  private rest: Buffer | undefined;

  /** The decoded bytes of the whole groups so far; undefined: not base64. */
  push(chunk: Buffer): Buffer | undefined {
    const data = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    const whole = data.length - (data.length % 4);
    this.rest = whole < data.length ? Buffer.from(data.subarray(whole)) : undefined;
    return decodeGroups(data, whole);
  }

  /** The body ended: false if it left a partial group. */
  end(): boolean {
    return this.rest === undefined;
  }
}

/** Decodes data[0, end) (a multiple of four), each padded group ending a run that Node decodes. */
function decodeGroups(data: Buffer, end: number): Buffer | undefined {
  const out: Buffer[] = [];
  let run = 0;
  for (let g = 0; g < end; g += 4) {
    const c = data[g + 2];
    const d = data[g + 3];
    if (!inAlphabet(data[g]) || !inAlphabet(data[g + 1])) return undefined;
    const padded = c === PAD || d === PAD;
    if (padded ? d !== PAD || (c !== PAD && !inAlphabet(c)) : !inAlphabet(c) || !inAlphabet(d)) return undefined;
    if (padded) {
      out.push(Buffer.from(data.toString("latin1", run, g + 4), "base64"));
      run = g + 4;
    }
  }
  if (run < end) out.push(Buffer.from(data.toString("latin1", run, end), "base64"));
  return out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out);
}

/**
 * A gRPC response body to base64, each frame (its 5-byte prefix and message) encoded on its own, padded at its end,
 * as Envoy writes application/grpc-web-text: a client can decode each frame as it completes. Streams: a frame's
 * bytes are encoded as they come, three at a time, so nothing but two bytes is held whatever a message's size.
 */
export class FrameBase64 {
  /** Bytes of the current frame's prefix read so far, and the prefix. */
  private prefixAt = 0;
  private readonly prefix = Buffer.alloc(5);
  /** Message bytes of the current frame still to come (after its prefix). */
  private left = 0;
  /** Up to two bytes waiting for a third. */
  private carry: Buffer | undefined;

  push(chunk: Buffer): Buffer {
    const out: string[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.left === 0) {
        const n = Math.min(5 - this.prefixAt, chunk.length - at);
        chunk.copy(this.prefix, this.prefixAt, at, at + n);
        this.emit(chunk.subarray(at, at + n), out);
        this.prefixAt += n;
        at += n;
        if (this.prefixAt < 5) break;
        this.prefixAt = 0;
        this.left = this.prefix.readUInt32BE(1);
        if (this.left === 0) this.frameEnd(out);
        continue;
      }
      const n = Math.min(this.left, chunk.length - at);
      this.emit(chunk.subarray(at, at + n), out);
      this.left -= n;
      at += n;
      if (this.left === 0) this.frameEnd(out);
    }
    return Buffer.from(out.join(""), "latin1");
  }

  private emit(bytes: Buffer, out: string[]): void {
    const data = this.carry ? Buffer.concat([this.carry, bytes]) : bytes;
    const whole = data.length - (data.length % 3);
    if (whole) out.push(data.toString("base64", 0, whole));
    this.carry = whole < data.length ? Buffer.from(data.subarray(whole)) : undefined;
  }

  private frameEnd(out: string[]): void {
    if (this.carry) out.push(this.carry.toString("base64"));
    this.carry = undefined;
  }
}

/** The trailers as gRPC-Web's last frame: flag 0x80, the length, then "name:value\r\n" per field (Envoy's layout). */
export function trailersFrame(trailers: readonly string[]): Buffer {
  let text = "";
  for (let i = 0; i < trailers.length; i += 2) text += `${trailers[i] as string}:${trailers[i + 1] as string}\r\n`;
  const body = Buffer.from(text, "latin1");
  const frame = Buffer.allocUnsafe(5 + body.length);
  frame[0] = TRAILERS;
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, 5);
  return frame;
}

/** grpc-message's percent-encoding (PROTOCOL-HTTP2.md): bytes outside printable ASCII, and "%", as %XX. */
export function grpcMessage(bytes: Buffer): string {
  let out = "";
  for (const b of bytes)
    out +=
      b >= 0x20 && b <= 0x7e && b !== 0x25
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  return out;
}
