// HPACK's Huffman code (RFC 7541 Appendix B, §5.2), for hpack.ts: the table, and coding and decoding with it.
// The code is canonical (codes of one length are consecutive, in symbol order, after all shorter ones), so the
// lengths alone define it; the codes are derived from them.

/** Code lengths in bits of symbols 0-255 and EOS (256), from RFC 7541 Appendix B. */
// prettier-ignore
const LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, // 0x00
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, // 0x10
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, // 0x20
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, // 0x30
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, // 0x40
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, // 0x50
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, // 0x60
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, // 0x70
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 0x80
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 0x90
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 0xa0
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 0xb0
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 0xc0
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 0xd0
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 0xe0
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 0xf0
  30, // EOS
];

const EOS = 256;

/** Code length in bits of each symbol (0-255, and EOS at 256). */
export const HUFFMAN_LENGTHS = Uint8Array.from(LENGTHS);
/** Code of each symbol, right-aligned (its low HUFFMAN_LENGTHS[s] bits). */
export const HUFFMAN_CODES = new Uint32Array(257);
{
  const order = [...LENGTHS.keys()].sort((a, b) => LENGTHS[a]! - LENGTHS[b]! || a - b);
  let code = 0;
  let length = LENGTHS[order[0]!]!;
  for (const s of order) {
    code *= 2 ** (LENGTHS[s]! - length);
    length = LENGTHS[s]!;
    HUFFMAN_CODES[s] = code++;
  }
}

// Decoding walks a state machine a byte at a time, like nghttp2's (which goes a nibble at a time): a state is an
// internal node of the code tree (a full binary tree with 257 leaves has 256 of them; the root is 0), i.e. the bits
// read since the last complete symbol. HUFFMAN_DECODE[state << 8 | byte] says where those 8 bits lead: the next
// state, and the 0-2 symbols they complete. 256 × 256 entries (256 KiB), built from the tree at load (~ms).

/** Set in a HUFFMAN_DECODE entry when the byte reaches EOS: a decoding error (§5.2). */
const HUFFMAN_FAIL = 1 << 26;
/** An entry's layout: next state in bits 0-7, first symbol in 8-15, second in 16-23, how many (0-2) in 24-25. */
const HUFFMAN_DECODE = new Uint32Array(256 * 256);
/**
 * 1 for the states a string may end in: the padding read since the last symbol is a prefix of EOS (all 1s) and
 * shorter than 8 bits (§5.2), i.e. the root and the first 7 nodes down the all-ones path.
 */
const HUFFMAN_ACCEPT = new Uint8Array(256);
{
  // The tree: child[node * 2 + bit] is an internal node (>= 0) or a leaf, ~symbol (< 0).
  const child = new Int16Array(256 * 2);
  let nodes = 1;
  for (let s = 0; s <= EOS; s++) {
    let node = 0;
    for (let i = LENGTHS[s]! - 1; i >= 0; i--) {
      const slot = node * 2 + ((HUFFMAN_CODES[s]! >>> i) & 1);
      if (i === 0) child[slot] = ~s;
      else node = child[slot] || (child[slot] = nodes++);
    }
  }
  for (let state = 0; state < 256; state++)
    for (let byte = 0; byte < 256; byte++) {
      let node = state;
      let entry = 0;
      for (let i = 7; i >= 0 && entry < HUFFMAN_FAIL; i--) {
        const next = child[node * 2 + ((byte >>> i) & 1)]!;
        if (next >= 0) node = next;
        else if (~next === EOS) entry = HUFFMAN_FAIL;
        else {
          entry += (~next << (entry >>> 24 === 0 ? 8 : 16)) + (1 << 24);
          node = 0;
        }
      }
      HUFFMAN_DECODE[(state << 8) | byte] = entry | (entry < HUFFMAN_FAIL ? node : 0);
    }
  for (let node = 0, depth = 0; depth < 8; depth++) {
    HUFFMAN_ACCEPT[node] = 1;
    node = child[node * 2 + 1]!;
  }
}

/** huffmanDecode's results for an EOS in the string, and for padding that is too long or not EOS's prefix (§5.2). */
export const HUFFMAN_EOS = -1;
export const HUFFMAN_PADDING = -2;

/**
 * Decodes buf[start, end) into out from 0, returning the length (writes past out's end are dropped: the caller
 * sizes out for what it accepts), or HUFFMAN_EOS, HUFFMAN_PADDING.
 */
export function huffmanDecode(buf: Buffer, start: number, end: number, out: Buffer): number {
  let n = 0;
  let state = 0;
  for (let i = start; i < end; i++) {
    const entry = HUFFMAN_DECODE[(state << 8) | buf[i]!]!;
    if (entry >= HUFFMAN_FAIL) return HUFFMAN_EOS;
    // Both symbol slots are stored (the low 8 bits of each), whether the entry has them or not: no branch.
    out[n] = entry >>> 8;
    out[n + 1] = entry >>> 16;
    n += entry >>> 24;
    state = entry & 0xff;
  }
  return HUFFMAN_ACCEPT[state] === 1 ? n : HUFFMAN_PADDING;
}

/** The length in octets of text's code (chars above 0xff taken as their low 8 bits, as latin1 writes them). */
export function huffmanLength(text: string): number {
  let bits = 0;
  for (let i = 0; i < text.length; i++) bits += HUFFMAN_LENGTHS[text.charCodeAt(i) & 0xff]!;
  return (bits + 7) >>> 3;
}

/** Codes text into out at p, returning the end; -1 instead of writing at `limit` or past it. */
export function huffmanEncode(out: Buffer, p: number, text: string, limit: number): number {
  let acc = 0; // the pending bits: its low `pending` bits, fewer than 8 between symbols
  let pending = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i) & 0xff;
    let length = HUFFMAN_LENGTHS[c]!;
    let code = HUFFMAN_CODES[c]!;
    if (length > 24) {
      // Two steps, so that the bits pending stay within acc's 32.
      acc = (acc << (length - 16)) | (code >>> 16);
      for (pending += length - 16; pending >= 8; pending -= 8) {
        if (p >= limit) return -1;
        out[p++] = acc >>> (pending - 8);
      }
      length = 16;
      code &= 0xffff;
    }
    acc = (acc << length) | code;
    for (pending += length; pending >= 8; pending -= 8) {
      if (p >= limit) return -1;
      out[p++] = acc >>> (pending - 8);
    }
  }
  // Padding: the most significant bits of EOS, all 1s.
  if (pending > 0) {
    if (p >= limit) return -1;
    out[p++] = (acc << (8 - pending)) | (0xff >>> pending);
  }
  return p;
}
