// An HTTP/1 head laid out as bytes in a shared slab, never built as a string: concatenating a head allocates a
// cons string per piece, then the socket flattens it and encodes it again (~1.4 KB of garbage per upstream head,
// the engine's largest allocation per request). Here a head is one Buffer view into the slab. A slab is only ever
// appended to: a region handed out stays as written while anything (a pending write, a retry's saved head) holds
// its view; a full slab is left to those views and a new one started.

/** Bytes per slab: some hundreds of heads, so a new slab (off the JS heap) is made every few hundred requests. */
const SLAB_BYTES = 64 * 1024;
/** Longer strings are copied by Buffer#write (one C++ call); shorter ones byte by byte, which is cheaper. */
const COPY_IN_JS = 48;

let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let used = 0;

/** Writes `s` (Latin-1: header text never holds more) at `at`; returns the offset after it. */
function put(s: string, at: number): number {
  const n = s.length;
  if (n > COPY_IN_JS) return at + slab.write(s, at, n, "latin1");
  const b = slab;
  for (let i = 0; i < n; i++) b[at + i] = s.charCodeAt(i);
  return at + n;
}

/** A slab with `length` bytes free from `used`. */
function reserve(length: number): Buffer {
  if (length > slab.length - used) {
    slab = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, length));
    used = 0;
  }
  return slab;
}

/**
 * An upstream's head as it came (`raw`, its blank line included) with fields set: for each `name, value` pair of
 * `fields` (names lower-case), its lines dropped whatever their case and `name: value` added last. The HCM's server
 * header and the router's x-envoy-upstream-service-time cost a copy of the bytes this way, where serializing the head
 * anew would build its header list and every line again.
 */
export function withFields(raw: Buffer, fields: readonly string[]): Buffer {
  let length = raw.length;
  for (let i = 0; i < fields.length; i++) length += (fields[i] as string).length + 2;
  const b = reserve(length);
  const start = used;
  let at = start;
  const end = raw.length - 2; // the blank line's CRLF
  let from = 0; // the run of bytes not yet copied
  let line = raw.indexOf(10) + 1; // after the status line
  while (line > 0 && line < end) {
    let next = line;
    while (next < end && raw[next] !== 13) next++;
    next += 2;
    if (namedIn(raw, line, fields)) {
      at += raw.copy(b, at, from, line);
      from = next;
    }
    line = next;
  }
  at += raw.copy(b, at, from, end);
  for (let i = 0; i < fields.length; i += 2) at = fieldLine(b, fields[i] as string, fields[i + 1] as string, at);
  b[at++] = 13;
  b[at++] = 10;
  used = at;
  return b.subarray(start, at);
}

/** Whether the line at `i` is a field one of `fields`' names names (any case, then a colon). */
function namedIn(raw: Buffer, i: number, fields: readonly string[]): boolean {
  for (let f = 0; f < fields.length; f += 2) {
    const name = fields[f] as string;
    const n = name.length;
    if (raw[i + n] !== 58) continue;
    let k = 0;
    while (k < n && ((raw[i + k] as number) | 0x20) === name.charCodeAt(k)) k++;
    if (k === n) return true;
  }
  return false;
}

/**
 * `head` with `body` after it, in one buffer, when `head` is the slab's last region and `body` fits after it (a
 * response head and its first bytes leave in one write, copied once); else undefined.
 */
export function joinAfter(head: Buffer, body: Buffer): Buffer | undefined {
  if (head.buffer !== slab.buffer || head.byteOffset + head.length !== used || body.length > slab.length - used)
    return undefined;
  used += body.copy(slab, used);
  return Buffer.from(slab.buffer, head.byteOffset, head.length + body.length);
}

/**
 * `startLine` CRLF, each `name: value` CRLF of the flat header list (then `name`/`value` when given: a header added
 * without copying the list), CRLF.
 */
export function serializeHead(startLine: string, headers: readonly string[], name?: string, value?: string): Buffer {
  let length = startLine.length + 4;
  for (let i = 0; i < headers.length; i++) length += (headers[i] as string).length + 2;
  if (name !== undefined) length += name.length + (value as string).length + 4;
  const b = reserve(length);
  const start = used;
  let at = put(startLine, start);
  b[at++] = 13;
  b[at++] = 10;
  for (let i = 0; i < headers.length; i += 2) at = fieldLine(b, headers[i] as string, headers[i + 1] as string, at);
  if (name !== undefined) at = fieldLine(b, name, value as string, at);
  b[at++] = 13;
  b[at++] = 10;
  used = at;
  return b.subarray(start, at);
}

function fieldLine(b: Buffer, name: string, value: string, at: number): number {
  at = put(name, at);
  b[at++] = 58; // ':'
  b[at++] = 32;
  at = put(value, at);
  b[at++] = 13;
  b[at++] = 10;
  return at;
}
