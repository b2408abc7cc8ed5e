// Well-known names are read as their constants in whatever case they arrive; anything else, however close, as itself.
import { KNOWN_NAMES } from "./header-names.js";
import { parseResponseHead } from "./parse.js";

/** A value each name's own checks take (framing, host). */
const VALUES: Record<string, string> = { "content-length": "0", "transfer-encoding": "chunked" };
/** Each name as the parser reads it, one head per name (a head can't repeat host, or have both framings). */
const names = (spelled: string[]) =>
  spelled.map(
    (n) => parseResponseHead(`HTTP/1.1 200 OK\r\n${n}: ${VALUES[n.toLowerCase()] ?? "v"}`).headers[0] as string,
  );

const mixed = (s: string) => [...s].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join("");

describe("interned header names", () => {
  it("reads every well-known name, in lower, upper and mixed case, as the lower-case name", () => {
    const spelled = KNOWN_NAMES.flatMap((n) => [n, n.toUpperCase(), mixed(n)]);
    expect(names(spelled)).toEqual(KNOWN_NAMES.flatMap((n) => [n, n, n]));
    // The same string the engine compares with, not a copy: "content-length" framing still applies.
    expect(parseResponseHead("HTTP/1.1 200 OK\r\nCONTENT-LENGTH: 7").contentLength).toBe(7);
  });

  it("reads names that differ by one character, or by length, as themselves", () => {
    const near = ["content_length", "content-lengths", "content-lengt", "x-b3-spanid2", "hosT~", "te-", "via^", "x"];
    expect(names(near)).toEqual(near.map((n) => n.toLowerCase()));
    // "^" and "~" differ in the 0x20 bit only, as letters' cases do: never taken for one another.
    expect(names(["accept-ranges", "accept~ranges", "accept^ranges"])).toEqual([
      "accept-ranges",
      "accept~ranges",
      "accept^ranges",
    ]);
  });
});
