// Telling HTTP/2 from HTTP/1 on a plaintext port that serves both (h2c with prior knowledge). A connection that
// starts with HTTP/2's preface is h2; one whose first line is complete and has no ` HTTP/1.` in it is not an
// HTTP/1 client either (it doesn't even name HTTP/1.x), so it gets no HTTP/1 400 (which an h2 client would read as a garbage frame): the connection
// is closed, as RFC 9113 §3.4 asks for an invalid preface. HTTP/1.x request lines, and first reads too short to
// tell, go on to the HTTP/1 codec.

/** Any attempt at an HTTP/1.x request line names its version; a malformed one still gets the codec's 400. */
const HTTP1 = " HTTP/1.";

/** True when the first bytes of a connection are neither HTTP/1 nor undecided: close it without an answer. */
export function neitherHttp1NorUndecided(first: Buffer): boolean {
  let start = 0;
  while (first[start] === 13 && first[start + 1] === 10) start += 2; // empty lines before a request line are allowed
  const lf = first.indexOf(10, start);
  if (lf < 0) return false; // the line isn't complete yet: let the codec decide
  return !first.toString("latin1", start, lf).includes(HTTP1);
}
