// IP addresses and CIDR ranges for RBAC and filter chain matches, without allocating per connection: an address is
// parsed into a scratch buffer, and a range compares its bytes there.
// An IPv4-mapped address (::ffff:a.b.c.d, as a dual-stack socket, bound to :: without IPV6_V6ONLY, reports an IPv4
// peer and its own address) is the IPv4 address it is, as Envoy's addressFromSockAddr makes it an Ipv4Instance when
// the socket isn't v6only: it is matched against IPv4 ranges. A range is of the family it is written in, as Envoy's
// CidrRange (parseInternetAddress keeps ::ffff:a.b.c.d an Ipv6Instance): ::ffff:0:0/96 or ::ffff:10.0.0.0/104 is an
// IPv6 range, which no IPv4 client matches (its address is IPv4 by then), and ::ffff:10.0.0.0/8 is ::/8, not 10/8.

/** A compiled envoy.config.core.v3.CidrRange. */
export interface Cidr {
  /** 4 or 16 */
  readonly family: number;
  readonly bytes: Uint8Array;
  readonly prefixLen: number;
}

const scratch = new Uint8Array(16);

/**
 * Parses `s` into `out`; returns 4 or 16 (bytes written), or 0 when `s` isn't an address. An IPv4-mapped address is
 * made the IPv4 address it is, unless `asWritten` (a range's address: the family it is written in).
 */
export function parseIp(s: string, out: Uint8Array = scratch, asWritten = false): number {
  if (s.indexOf(":") < 0) return parseV4(s, 0, s.length, out, 0) ? 4 : 0;
  if (!parseV6(s, out)) return 0;
  if (asWritten) return 16;
  // ::ffff:a.b.c.d → a.b.c.d
  for (let i = 0; i < 10; i++) if (out[i] !== 0) return 16;
  if (out[10] !== 0xff || out[11] !== 0xff) return 16;
  for (let i = 0; i < 4; i++) out[i] = out[12 + i] as number;
  return 4;
}

function parseV4(s: string, from: number, to: number, out: Uint8Array, at: number): boolean {
  let part = 0;
  let digits = 0;
  let n = 0;
  for (let i = from; i <= to; i++) {
    const c = i < to ? s.charCodeAt(i) : 46; // a final "."
    if (c === 46) {
      if (digits === 0 || part > 3) return false;
      out[at + part++] = n;
      n = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && n === 0) return false; // a leading zero: octal in some parsers, refused by Envoy's
      n = n * 10 + (c - 48);
      if (++digits > 3 || n > 255) return false;
    } else return false;
  }
  return part === 4;
}

function parseV6(s: string, out: Uint8Array): boolean {
  let end = s.length;
  const pct = s.indexOf("%"); // a zone: fe80::1%eth0
  if (pct >= 0) end = pct;
  let gap = -1;
  let at = 0;
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false;
    i = 2;
    gap = 0;
    if (end === 2) {
      out.fill(0);
      return true;
    }
  }
  while (i < end) {
    if (at >= 16) return false;
    // An embedded IPv4 address ends the text.
    let j = i;
    let hex = 0;
    let v = 0;
    let dot = false;
    for (; j < end; j++) {
      const c = s.charCodeAt(j);
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (c === 46) dot = true;
      if (d < 0) break;
      v = v * 16 + d;
      hex++;
    }
    if (dot) {
      if (at > 12 || !parseV4(s, i, end, out, at)) return false;
      at += 4;
      break;
    }
    if (hex === 0 || hex > 4) return false;
    out[at++] = v >> 8;
    out[at++] = v & 0xff;
    if (j === end) break;
    if (s.charCodeAt(j) !== 58) return false;
    i = j + 1;
    if (s.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = at;
      i++;
      if (i === end) break;
    } else if (i === end) return false;
  }
  if (gap < 0) return at === 16;
  if (at === 16) return false;
  const tail = at - gap;
  for (let k = 1; k <= tail; k++) out[16 - k] = out[gap + tail - k] as number;
  for (let k = gap; k < 16 - tail; k++) out[k] = 0;
  return true;
}

/** A CidrRange from its address and prefix length; a string naming what is wrong when it isn't one. */
export function cidr(address: string, prefixLen: number): Cidr | string {
  const bytes = new Uint8Array(16);
  const family = parseIp(address, bytes, true);
  if (family === 0) return `invalid address "${address}"`;
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > family * 8)
    return `invalid prefix length ${prefixLen} for "${address}"`;
  return { family, bytes: bytes.slice(0, family), prefixLen };
}

/** Whether the address `ip` (text) lies in `range`. */
export function inCidr(range: Cidr, ip: string): boolean {
  if (parseIp(ip) !== range.family) return false;
  let bits = range.prefixLen;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((scratch[i] as number) & mask) !== ((range.bytes[i] as number) & mask)) return false;
  }
  return true;
}

/** A range as text with its host bits cleared: 10.1.2.3/8 and 10.0.0.0/8 are one range (as Envoy masks them). */
export function cidrKey(c: Cidr): string {
  const bytes = [...c.bytes].map((b, i) => {
    const bits = c.prefixLen - i * 8;
    return bits >= 8 ? b : bits <= 0 ? 0 : b & ((0xff << (8 - bits)) & 0xff);
  });
  if (c.family === 4) return `${bytes.join(".")}/${c.prefixLen}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] as number) << 8) | (bytes[i + 1] as number)).toString(16));
  return `${groups.join(":")}/${c.prefixLen}`;
}
