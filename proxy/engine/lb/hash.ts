// xxHash32 (the 32-bit sibling of the xxHash Envoy uses), over a string's UTF-8 bytes. Pure JS, no allocation
// for ASCII input.
const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;
const P4 = 0x27d4eb2f;
const P5 = 0x165667b1;

const rotl = (x: number, r: number) => (x << r) | (x >>> (32 - r));

export function xxhash32Bytes(b: Uint8Array, seed = 0): number {
  const len = b.length;
  let i = 0;
  let h: number;
  const u32 = (at: number) =>
    ((b[at] as number) |
      ((b[at + 1] as number) << 8) |
      ((b[at + 2] as number) << 16) |
      ((b[at + 3] as number) << 24)) >>>
    0;
  if (len >= 16) {
    let v1 = (seed + P1 + P2) | 0;
    let v2 = (seed + P2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - P1) | 0;
    const limit = len - 16;
    while (i <= limit) {
      v1 = Math.imul(rotl((v1 + Math.imul(u32(i), P2)) | 0, 13), P1);
      v2 = Math.imul(rotl((v2 + Math.imul(u32(i + 4), P2)) | 0, 13), P1);
      v3 = Math.imul(rotl((v3 + Math.imul(u32(i + 8), P2)) | 0, 13), P1);
      v4 = Math.imul(rotl((v4 + Math.imul(u32(i + 12), P2)) | 0, 13), P1);
      i += 16;
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = (seed + P5) | 0;
  }
  h = (h + len) | 0;
  while (i + 4 <= len) {
    h = Math.imul(rotl((h + Math.imul(u32(i), P3)) | 0, 17), P4);
    i += 4;
  }
  while (i < len) {
    h = Math.imul(rotl((h + Math.imul(b[i] as number, P5)) | 0, 11), P1);
    i++;
  }
  h ^= h >>> 15;
  h = Math.imul(h, P2);
  h ^= h >>> 13;
  h = Math.imul(h, P3);
  h ^= h >>> 16;
  return h >>> 0;
}

const scratch = new Uint8Array(256);

export function xxhash32(s: string, seed = 0): number {
  if (s.length <= scratch.length) {
    let ascii = true;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 127) {
        ascii = false;
        break;
      }
      scratch[i] = c;
    }
    if (ascii) return xxhash32Bytes(scratch.subarray(0, s.length), seed);
  }
  return xxhash32Bytes(Buffer.from(s, "utf8"), seed);
}
