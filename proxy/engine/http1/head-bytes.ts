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

/**
 * `startLine` CRLF, each `name: value` CRLF of the flat header list (then `name`/`value` when given: a header added
 * without copying the list), CRLF.
 */
export function serializeHead(startLine: string, headers: readonly string[], name?: string, value?: string): Buffer {
  let length = startLine.length + 4;
  for (let i = 0; i < headers.length; i++) length += (headers[i] as string).length + 2;
  if (name !== undefined) length += name.length + (value as string).length + 4;
  if (length > slab.length - used) {
    slab = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, length));
    used = 0;
  }
  const b = slab;
  const start = used;
  let at = put(startLine, start);
  b[at++] = 13;
  b[at++] = 10;
  for (let i = 0; i < headers.length; i += 2) at = line(headers[i] as string, headers[i + 1] as string, at);
  if (name !== undefined) at = line(name, value as string, at);
  b[at++] = 13;
  b[at++] = 10;
  used = at;
  return b.subarray(start, at);
}

function line(name: string, value: string, at: number): number {
  const b = slab;
  at = put(name, at);
  b[at++] = 58; // ':'
  b[at++] = 32;
  at = put(value, at);
  b[at++] = 13;
  b[at++] = 10;
  return at;
}
