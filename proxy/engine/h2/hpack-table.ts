// HPACK's tables (RFC 7541 §2.3): the static table of Appendix A, and the dynamic table as a ring of entries that
// the decoder and the encoder (hpack.ts) each keep for one direction of a connection.

/** §4.1: an entry's size is its name's and value's octets plus 32. */
export const ENTRY_OVERHEAD = 32;

// prettier-ignore
const STATIC: readonly (readonly [string, string])[] = [
  [":authority", ""], [":method", "GET"], [":method", "POST"], [":path", "/"], [":path", "/index.html"],
  [":scheme", "http"], [":scheme", "https"], [":status", "200"], [":status", "204"], [":status", "206"],
  [":status", "304"], [":status", "400"], [":status", "404"], [":status", "500"], ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"], ["accept-language", ""], ["accept-ranges", ""], ["accept", ""],
  ["access-control-allow-origin", ""], ["age", ""], ["allow", ""], ["authorization", ""], ["cache-control", ""],
  ["content-disposition", ""], ["content-encoding", ""], ["content-language", ""], ["content-length", ""],
  ["content-location", ""], ["content-range", ""], ["content-type", ""], ["cookie", ""], ["date", ""], ["etag", ""],
  ["expect", ""], ["expires", ""], ["from", ""], ["host", ""], ["if-match", ""], ["if-modified-since", ""],
  ["if-none-match", ""], ["if-range", ""], ["if-unmodified-since", ""], ["last-modified", ""], ["link", ""],
  ["location", ""], ["max-forwards", ""], ["proxy-authenticate", ""], ["proxy-authorization", ""], ["range", ""],
  ["referer", ""], ["refresh", ""], ["retry-after", ""], ["server", ""], ["set-cookie", ""],
  ["strict-transport-security", ""], ["transfer-encoding", ""], ["user-agent", ""], ["vary", ""], ["via", ""],
  ["www-authenticate", ""],
];
/** Static table (Appendix A) names and values by HPACK index (1-61; 0 unused). */
export const STATIC_NAMES = ["", ...STATIC.map((e) => e[0])];
export const STATIC_VALUES = ["", ...STATIC.map((e) => e[1])];
export const STATIC_COUNT = STATIC.length;

/**
 * The dynamic table (§2.3.2, §4): a ring of entries, newest at head - 1. `inserted` counts every entry ever added,
 * so the encoder can name an entry by its insertion number, stable across evictions.
 */
export class DynamicTable {
  names: string[] = new Array<string>(16).fill("");
  values: string[] = new Array<string>(16).fill("");
  mask = 15;
  head = 0;
  count = 0;
  size = 0;
  inserted = 0;

  constructor(public capacity: number) {}

  /** Slot of the i-th newest entry (0-based; i < count). */
  slot(i: number): number {
    return (this.head - 1 - i) & this.mask;
  }

  /** §4.4: evicts until the entry fits; one larger than the table empties it and is not added (false). */
  add(name: string, value: string): boolean {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    while (this.count > 0 && this.size + size > this.capacity) this.evict();
    if (size > this.capacity) return false;
    if (this.count > this.mask) this.grow();
    this.names[this.head] = name;
    this.values[this.head] = value;
    this.head = (this.head + 1) & this.mask;
    this.count++;
    this.size += size;
    this.inserted++;
    return true;
  }

  /** §4.3: a new maximum size evicts down to it. */
  resize(capacity: number): void {
    this.capacity = capacity;
    while (this.size > capacity) this.evict();
  }

  /** Drops the oldest entry. */
  protected evict(): void {
    const slot = (this.head - this.count) & this.mask;
    this.size -= this.names[slot]!.length + this.values[slot]!.length + ENTRY_OVERHEAD;
    this.names[slot] = this.values[slot] = ""; // not kept alive
    this.count--;
  }

  private grow(): void {
    const length = this.names.length * 2;
    const names = new Array<string>(length).fill("");
    const values = new Array<string>(length).fill("");
    for (let i = 0; i < this.count; i++) {
      const slot = this.slot(this.count - 1 - i); // oldest first
      names[i] = this.names[slot]!;
      values[i] = this.values[slot]!;
    }
    this.names = names;
    this.values = values;
    this.head = this.count;
    this.mask = length - 1;
  }
}
