// HPACK (RFC 7541), the header compression of the engine's own HTTP/2 codec: a strict decoder for the header blocks
// of untrusted clients, and an encoder for the responses. Pure: bytes in, fields out, and back; no I/O.
// Fields are flat arrays [name0, value0, name1, value1, ...] of latin1 strings (one char per octet).
import { HUFFMAN_EOS, HUFFMAN_PADDING, huffmanDecode, huffmanEncode, huffmanLength } from "./huffman.js";
import { DynamicTable, ENTRY_OVERHEAD, STATIC_COUNT, STATIC_NAMES, STATIC_VALUES } from "./hpack-table.js";

/**
 * A COMPRESSION_ERROR (RFC 7540 §4.3): the connection must end with GOAWAY COMPRESSION_ERROR. `message` names the
 * defect.
 */
export class HpackError extends Error {
  override readonly name = "HpackError";
}

/** The protocol's initial SETTINGS_HEADER_TABLE_SIZE, both sides' table size until SETTINGS say otherwise. */
const DEFAULT_TABLE_SIZE = 4096;
/** The encoder's table is never larger, whatever the peer allows (as nghttp2's): memory per connection is bounded. */
const ENCODER_TABLE_LIMIT = 4096;
/** Integers beyond this are an overflow: nothing in a header block (lengths, indexes, sizes) comes near it. */
const MAX_INTEGER = 2 ** 31 - 1;
/** Scratch buffers above this size are allocated for the one call, not kept for the connection's life. */
const SCRATCH_KEEP = 4096;

/** Node's Buffer methods without the encoding dispatch of toString/write (undocumented, present since Node 0.x). */
type Latin1Buffer = Buffer & {
  latin1Slice(start: number, end: number): string;
  latin1Write(text: string, offset: number, length: number): number;
};

export class HpackDecoder {
  private readonly maxTableSize: number;
  private readonly maxStringBytes: number;
  private readonly table: DynamicTable;
  /** Huffman output, then sliced into a string. */
  private scratch = Buffer.allocUnsafe(256) as Latin1Buffer;
  /** Read position in the block being decoded. */
  private pos = 0;

  /**
   * maxTableSize: the SETTINGS_HEADER_TABLE_SIZE this endpoint advertised (default 4096): a dynamic table size update
   * above it is a COMPRESSION_ERROR.
   * maxStringBytes: a literal (name or value) longer than this (after Huffman decoding) is a COMPRESSION_ERROR
   * (default 64 KiB), so a client can't make the decoder allocate without bound.
   */
  constructor(opts: { maxTableSize?: number; maxStringBytes?: number } = {}) {
    this.maxTableSize = opts.maxTableSize ?? DEFAULT_TABLE_SIZE;
    this.maxStringBytes = opts.maxStringBytes ?? 64 * 1024;
    // Never smaller than the client's table: a client indexes at the protocol's 4096 until it has our SETTINGS (and
    // then signals a smaller size with an update). A larger table decodes the same (indexes count from the newest).
    this.table = new DynamicTable(Math.max(this.maxTableSize, DEFAULT_TABLE_SIZE));
  }

  /**
   * Decodes one complete header block in buf[start, end) into flat [name, value, ...], as received (no lowercasing,
   * no character checks). Throws HpackError on any defect; the connection is then unusable (the table may be half
   * updated), as COMPRESSION_ERROR requires.
   */
  decode(buf: Buffer, start = 0, end = buf.length): string[] {
    if (!(start >= 0 && start <= end && end <= buf.length)) throw new RangeError("decode: bad range");
    const fields: string[] = [];
    const table = this.table;
    let fieldSeen = false;
    this.pos = start;
    while (this.pos < end) {
      const b = buf[this.pos]!;
      if (b >= 0x80) {
        // §6.1 indexed field
        const index = this.integer(buf, end, 0x7f);
        if (index === 0) throw new HpackError("indexed field with index 0");
        if (index <= STATIC_COUNT) fields.push(STATIC_NAMES[index]!, STATIC_VALUES[index]!);
        else {
          const slot = table.slot(this.dynamic(index));
          fields.push(table.names[slot]!, table.values[slot]!);
        }
      } else if (b >= 0x40 || b < 0x20) {
        // §6.2.1 literal with incremental indexing (01), §6.2.2 without indexing (0000), §6.2.3 never indexed (0001)
        const index = this.integer(buf, end, b >= 0x40 ? 0x3f : 0x0f);
        const name = index === 0 ? this.string(buf, end) : this.name(index);
        const value = this.string(buf, end);
        if (b >= 0x40) table.add(name, value);
        fields.push(name, value);
      } else {
        // §6.3 dynamic table size update: only before the block's first field (§4.2)
        if (fieldSeen) throw new HpackError("dynamic table size update after a field");
        const size = this.integer(buf, end, 0x1f);
        if (size > this.maxTableSize)
          throw new HpackError(`dynamic table size update to ${size} above ${this.maxTableSize}`);
        table.resize(size);
        continue;
      }
      fieldSeen = true;
    }
    return fields;
  }

  /** The dynamic table position (0 = newest) of an HPACK index past the static table. */
  private dynamic(index: number): number {
    const i = index - STATIC_COUNT - 1;
    if (i >= this.table.count) throw new HpackError(`index ${index} past the table (${this.table.count} dynamic)`);
    return i;
  }

  private name(index: number): string {
    return index <= STATIC_COUNT ? STATIC_NAMES[index]! : this.table.names[this.table.slot(this.dynamic(index))]!;
  }

  /** §5.1: an integer with the given prefix mask (2^N - 1), its first octet at this.pos (< end). */
  private integer(buf: Buffer, end: number, prefix: number): number {
    let p = this.pos;
    let value = buf[p++]! & prefix;
    if (value === prefix) {
      for (let scale = 1; ; scale *= 128) {
        if (p >= end) throw new HpackError("truncated integer");
        const b = buf[p++]!;
        value += (b & 0x7f) * scale;
        if (b < 0x80) break;
        if (scale === 2 ** 28) throw new HpackError("integer overflow (too many octets)");
      }
      if (value > MAX_INTEGER) throw new HpackError("integer overflow");
    }
    this.pos = p;
    return value;
  }

  /** §5.2: a string literal at this.pos. */
  private string(buf: Buffer, end: number): string {
    if (this.pos >= end) throw new HpackError("truncated string");
    const huffman = buf[this.pos]! >= 0x80;
    const length = this.integer(buf, end, 0x7f);
    const start = this.pos;
    if (length > end - start) throw new HpackError("truncated string");
    this.pos = start + length;
    if (huffman) return this.huffman(buf, start, start + length);
    if (length > this.maxStringBytes) throw new HpackError(`string of ${length} octets, above the limit`);
    return (buf as Latin1Buffer).latin1Slice(start, start + length);
  }

  /** A Huffman-coded string literal's octets, decoded into scratch and sliced. */
  private huffman(buf: Buffer, start: number, end: number): string {
    // Codes are at least 5 bits long. Writes past the end of `out` (a string over the limit) are dropped.
    const most = Math.min(Math.floor(((end - start) * 8) / 5), this.maxStringBytes) + 2;
    let out = this.scratch;
    if (most > out.length) out = Buffer.allocUnsafe(Math.max(most, SCRATCH_KEEP)) as Latin1Buffer;
    if (most <= SCRATCH_KEEP) this.scratch = out;
    const n = huffmanDecode(buf, start, end, out);
    if (n === HUFFMAN_EOS) throw new HpackError("EOS in a Huffman string");
    if (n === HUFFMAN_PADDING) throw new HpackError("Huffman padding longer than 7 bits or not all 1s");
    if (n > this.maxStringBytes) throw new HpackError(`string of ${n} octets, above the limit`);
    return out.latin1Slice(0, n);
  }
}

/** How the encoder treats a field that is not in the tables. */
const INDEX = 0; // literal with incremental indexing (if small enough)
const VOLATILE = 1; // a value that changes: without indexing (but its name indexed once, for name references)
const NEVER = 2; // sensitive: never indexed (§7.1.3), so no intermediary indexes it either

/**
 * What an encoder knows of a name: its first static index (0: none), its policy, the insertion number of its newest
 * dynamic entry (-1: none), and the values it can index fully: static ones as -index, dynamic ones by insertion number
 * (`values` is KNOWN's, shared, until the name has a dynamic entry: `own`).
 */
interface Name {
  index: number;
  policy: number;
  newest: number;
  values: Map<string, number>;
  own: boolean;
}
/** The static table's names and the known policies; an encoder copies an entry when it first meets its name. */
const KNOWN = new Map<string, Name>();
for (let i = STATIC_COUNT; i >= 1; i--) {
  const known = KNOWN.get(STATIC_NAMES[i]!) ?? { index: 0, policy: INDEX, newest: -1, values: new Map(), own: false };
  known.index = i; // the lowest wins: the loop goes down
  known.values.set(STATIC_VALUES[i]!, -i);
  KNOWN.set(STATIC_NAMES[i]!, known);
}
for (const [policy, names] of [
  [VOLATILE, ":path age content-length content-range date etag expires grpc-message grpc-timeout if-modified-since"],
  [VOLATILE, "if-none-match last-modified location traceparent tracestate x-b3-parentspanid x-b3-spanid x-b3-traceid"],
  [VOLATILE, "x-envoy-upstream-service-time x-request-id"],
  [NEVER, "authorization cookie proxy-authorization set-cookie"],
] as const)
  for (const name of names.split(" "))
    KNOWN.set(name, { index: 0, newest: -1, values: new Map(), own: false, ...KNOWN.get(name), policy });
/** A name neither known nor in the table (never modified). */
const UNKNOWN: Name = { index: 0, policy: INDEX, newest: -1, values: new Map(), own: false };

/** The encoder's table also finds entries by name and value: one map lookup for the name, one for the value. */
class EncoderTable extends DynamicTable {
  /** The known names met (a bounded set), and the others while they have entries in the table. */
  private readonly byName = new Map<string, Name>();

  find(name: string): Name {
    const found = this.byName.get(name);
    if (found !== undefined) return found;
    const known = KNOWN.get(name);
    if (known === undefined) return UNKNOWN;
    const copy = { index: known.index, policy: known.policy, newest: -1, values: known.values, own: false };
    this.byName.set(name, copy);
    return copy;
  }

  /** The HPACK index of the entry with insertion number n (still in the table). */
  index(n: number): number {
    return STATIC_COUNT + this.inserted - n;
  }

  override add(name: string, value: string): boolean {
    if (!super.add(name, value)) return false;
    const n = this.inserted - 1;
    let entry = this.find(name);
    if (entry === UNKNOWN) {
      entry = { index: 0, policy: INDEX, newest: n, values: new Map(), own: true };
      this.byName.set(name, entry);
    } else if (!entry.own) {
      entry.values = new Map(entry.values);
      entry.own = true;
    }
    entry.newest = n;
    entry.values.set(value, n);
    return true;
  }

  protected override evict(): void {
    const slot = (this.head - this.count) & this.mask;
    const name = this.names[slot]!;
    const n = this.inserted - this.count;
    const entry = this.byName.get(name)!;
    if (entry.values.get(this.values[slot]!) === n) entry.values.delete(this.values[slot]!);
    // Eviction goes oldest first: when the newest of a name goes, so have all the others.
    if (entry.newest === n) {
      entry.newest = -1;
      if (!KNOWN.has(name)) this.byName.delete(name);
    }
    super.evict();
  }
}

/**
 * Blocks are written into a shared slab and handed out as views of it, as Buffer.allocUnsafe hands out views of its
 * pool: no octet is written twice, so a block is the caller's to keep (and no copy is made: 1/5 of an encode).
 */
const SLAB_SIZE = 16 * 1024;
let slab = Buffer.allocUnsafeSlow(SLAB_SIZE) as Latin1Buffer;
let slabUsed = 0;

export class HpackEncoder {
  private readonly table = new EncoderTable(DEFAULT_TABLE_SIZE);
  /** The smallest table size since the last block, to signal at the start of the next (-1: no change). */
  private updateMin = -1;

  /** The peer's SETTINGS_HEADER_TABLE_SIZE (default 4096). */
  constructor(maxTableSize = DEFAULT_TABLE_SIZE) {
    this.setMaxTableSize(maxTableSize);
  }

  /** The peer changed SETTINGS_HEADER_TABLE_SIZE: the next block starts with a dynamic table size update (§4.2). */
  setMaxTableSize(n: number): void {
    if (!(n >= 0)) throw new RangeError(`setMaxTableSize: bad size ${n}`);
    const size = Math.min(n, ENCODER_TABLE_LIMIT);
    if (size === this.table.capacity && this.updateMin < 0) return; // the table this side uses is unchanged
    this.updateMin = this.updateMin < 0 ? size : Math.min(this.updateMin, size);
    this.table.resize(size);
  }

  /**
   * Encodes flat [name, value, ...] (names lowercase, values checked by the caller) into a header block: a Buffer of
   * exact length, the caller's to keep (never written again).
   */
  encode(fields: readonly string[]): Buffer {
    if (fields.length % 2 !== 0) throw new RangeError("encode: fields must be name, value pairs");
    // No field takes more than its octets and 16 (its integers); writes need no bound checks then.
    let bound = 12;
    for (let i = 0; i < fields.length; i++) bound += fields[i]!.length + 8;
    let out = slab;
    let start = slabUsed;
    if (bound > SLAB_SIZE - start) {
      start = 0;
      if (bound > SLAB_SIZE / 8) out = Buffer.allocUnsafe(bound) as Latin1Buffer;
      else out = slab = Buffer.allocUnsafeSlow(SLAB_SIZE) as Latin1Buffer;
    }
    const table = this.table;
    let p = start;
    if (this.updateMin >= 0) {
      if (this.updateMin < table.capacity) p = writeInteger(out, p, 0x20, 0x1f, this.updateMin);
      p = writeInteger(out, p, 0x20, 0x1f, table.capacity);
      this.updateMin = -1;
    }
    for (let i = 0; i < fields.length; i += 2) {
      const name = fields[i]!;
      const value = fields[i + 1]!;
      const entry = table.find(name);
      const hit = entry.values.get(value);
      if (hit !== undefined) {
        p = writeInteger(out, p, 0x80, 0x7f, hit < 0 ? -hit : table.index(hit));
        continue;
      }
      const policy = entry.policy;
      const nameIndex = entry.index || (entry.newest < 0 ? 0 : table.index(entry.newest));
      // Indexed when it may repeat and leaves room for others (nghttp2's bound: 3/4 of the table).
      const indexed =
        (policy === INDEX || (policy === VOLATILE && nameIndex === 0)) &&
        (name.length + value.length + ENTRY_OVERHEAD) * 4 <= table.capacity * 3;
      if (indexed) {
        p = writeInteger(out, p, 0x40, 0x3f, nameIndex);
        table.add(name, value);
      } else p = writeInteger(out, p, policy === NEVER ? 0x10 : 0, 0x0f, nameIndex);
      if (nameIndex === 0) p = writeString(out, p, name);
      p = writeString(out, p, value);
    }
    if (out === slab) slabUsed = p;
    return out.subarray(start, p);
  }
}

/** §5.1: writes `value` with an N-bit prefix (mask 2^N - 1) in an octet that starts with `flags`. */
function writeInteger(out: Buffer, p: number, flags: number, prefix: number, value: number): number {
  if (value < prefix) {
    out[p++] = flags | value;
    return p;
  }
  out[p++] = flags | prefix;
  for (value -= prefix; value >= 0x80; value >>>= 7) out[p++] = (value & 0x7f) | 0x80;
  out[p++] = value;
  return p;
}

/** §5.2: a string literal, Huffman-coded when that is shorter. */
function writeString(out: Latin1Buffer, p: number, text: string): number {
  const length = text.length;
  if (length < 0x7f) {
    // One octet of length either way: code after it, giving up as soon as the code is no shorter than raw.
    const end = huffmanEncode(out, p + 1, text, p + length);
    if (end > p + 1) {
      out[p] = 0x80 | (end - p - 1);
      return end;
    }
    out[p++] = length;
  } else {
    const coded = huffmanLength(text);
    if (coded < length) return huffmanEncode(out, writeInteger(out, p, 0x80, 0x7f, coded), text, Infinity);
    p = writeInteger(out, p, 0, 0x7f, length);
  }
  // Short strings are quicker by hand than through the native call.
  if (length > 32) return p + out.latin1Write(text, p, length);
  for (let i = 0; i < length; i++) out[p++] = text.charCodeAt(i);
  return p;
}
