// Telling HTTP/2 from HTTP/1 on a plaintext port that serves both (h2c with prior knowledge). A connection that
// starts with HTTP/2's preface is h2; one whose head is complete and never names `HTTP/` is not an HTTP/1 client
// either, so it gets no HTTP/1 400 (which an h2 client would read as a garbage frame): the connection
// is closed, as RFC 9113 §3.4 asks for an invalid preface. HTTP/1.x request lines, and first reads too short to
// tell, go on to the HTTP/1 codec.

/** True when the first bytes of a connection are neither HTTP/1 nor undecided: close it without an answer. A complete
 * head that nowhere names `HTTP/` (any case) is no HTTP/1 request at all, malformed or not; anything else is the
 * HTTP/1 codec's to answer. */
export function neitherHttp1NorUndecided(first: Buffer): boolean {
  let start = 0;
  while (first[start] === 13 && first[start + 1] === 10) start += 2; // empty lines before a request line are allowed
  const text = first.toString("latin1", start, Math.min(first.length, start + 4096)).toLowerCase(); // a head's start
  if (text.startsWith("pri * http/2.0")) return true; // a broken h2 preface (a whole one never gets here)
  const end = text.search(/\r?\n\r?\n/);
  if (end < 0) return false; // the head isn't complete yet: let the codec decide
  return !text.slice(0, end).includes("http/");
}
