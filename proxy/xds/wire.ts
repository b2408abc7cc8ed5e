// Protobuf's wire format, read and written without protobufjs: what the sidecar's agent needs to speak ADS and the
// CA's API and to decode Envoy's resources (wire-decode.ts). protobufjs' reflection of Envoy's types (a Type and a
// Field object per field, codecs generated per type) cost the agent about 5 MB of heap; this costs it a table.

/** Wire types (the low 3 bits of a tag). */
export const VARINT = 0;
export const FIXED64 = 1;
export const LEN = 2;
export const FIXED32 = 5;

export class WireReader {
  pos: number;
  readonly end: number;

  constructor(
    readonly buf: Buffer,
    start = 0,
    end = buf.length,
  ) {
    this.pos = start;
    this.end = end;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  private byte(): number {
    if (this.pos >= this.end) throw new Error("truncated message");
    return this.buf[this.pos++] as number;
  }

  /** A varint's low 32 bits, unsigned. */
  uint32(): number {
    return this.varint64()[0];
  }

  /** A varint as [low 32 bits, high 32 bits], both unsigned. */
  varint64(): [number, number] {
    let lo = 0;
    let hi = 0;
    let b: number;
    let i = 0;
    do {
      b = this.byte();
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (7 * i - 32);
      i++;
      if (i > 10) throw new Error("malformed varint");
    } while (b & 0x80);
    return [lo >>> 0, hi >>> 0];
  }

  fixed32(): number {
    if (this.pos + 4 > this.end) throw new Error("truncated message");
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  fixed64(): [number, number] {
    const lo = this.fixed32();
    return [lo, this.fixed32()];
  }

  float(): number {
    const v = this.fixed32();
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(v);
    return b.readFloatLE(0);
  }

  double(): number {
    if (this.pos + 8 > this.end) throw new Error("truncated message");
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A length-delimited field's bytes (a view, not a copy). */
  bytes(): Buffer {
    const length = this.uint32();
    if (this.pos + length > this.end) throw new Error("truncated message");
    const out = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }

  string(): string {
    return this.bytes().toString("utf8");
  }

  /** A reader over the next length-delimited field. */
  sub(): WireReader {
    const b = this.bytes();
    return new WireReader(this.buf, b.byteOffset - this.buf.byteOffset, b.byteOffset - this.buf.byteOffset + b.length);
  }

  skip(wireType: number): void {
    switch (wireType) {
      case VARINT:
        this.varint64();
        return;
      case FIXED64:
        this.pos += 8;
        break;
      case LEN:
        this.bytes();
        return;
      case FIXED32:
        this.pos += 4;
        break;
      default:
        throw new Error(`invalid wire type ${wireType} at offset ${this.pos}`);
    }
    if (this.pos > this.end) throw new Error("truncated message");
  }
}

/** A 64-bit integer from its two halves, as a decimal string (protobufjs' `longs: String`). */
export function longString([lo, hi]: [number, number], signed: boolean): string {
  if (hi === 0) return String(lo);
  const v = (BigInt(hi) << 32n) | BigInt(lo);
  return String(signed ? BigInt.asIntN(64, v) : v);
}

/** Builds a message field by field, in the order written (write fields by number, as protobufjs does). */
export class WireWriter {
  private readonly parts: Buffer[] = [];

  private varint(n: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(n));
    const out: number[] = [];
    while (v > 0x7fn) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    this.parts.push(Buffer.from(out));
  }

  private tag(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  /** A varint field (int32, int64, uint32, uint64, bool, enum), when set. */
  uint(field: number, value: number | bigint | boolean | undefined | null): this {
    if (value === undefined || value === null) return this;
    this.tag(field, VARINT);
    this.varint(typeof value === "boolean" ? Number(value) : value);
    return this;
  }

  bytes(field: number, value: Uint8Array | undefined | null): this {
    if (value === undefined || value === null) return this;
    this.tag(field, LEN);
    this.varint(value.length);
    this.parts.push(Buffer.from(value.buffer, value.byteOffset, value.length));
    return this;
  }

  /** A string field, when set (an empty string is written, as protobufjs writes a set field). */
  string(field: number, value: string | undefined | null): this {
    return value === undefined || value === null ? this : this.bytes(field, Buffer.from(value, "utf8"));
  }

  strings(field: number, values: readonly string[] | undefined): this {
    for (const v of values ?? []) this.string(field, v);
    return this;
  }

  /** A message field, when set: `write` fills it. */
  message<T>(field: number, value: T | undefined | null, write: (w: WireWriter, v: T) => void): this {
    if (value === undefined || value === null) return this;
    const inner = new WireWriter();
    write(inner, value);
    return this.bytes(field, inner.finish());
  }

  /** A repeated message field (a map's entries too: key = 1, value = 2). */
  each<T>(field: number, values: Iterable<T>, write: (w: WireWriter, v: T) => void): this {
    for (const v of values) this.message(field, v, write);
    return this;
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}
