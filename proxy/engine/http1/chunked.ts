// Chunked transfer coding (RFC 9112 §7.1), strictly: hex sizes, chunk extensions parsed by their grammar, CRLF
// everywhere (a bare CR or LF is an error), and trailer fields held to the same rules as header fields.
//
// Bounds: a chunk size may have any number of leading zeros, and its value may be up to 2^53 - 1 (Number's safe
// integers); a larger value is an error rather than a silently wrong number. A size line (size and extensions) is at
// most MAX_CHUNK_LINE bytes; the trailer section at most MAX_HEAD_BYTES bytes and MAX_HEADERS fields.
import { MAX_HEAD_BYTES, MAX_HEADERS, ParseError, isTchar } from "./syntax.js";

export const MAX_CHUNK_LINE = 4096;

const enum S {
  Size,
  AfterSize,
  ExtName0,
  ExtName,
  AfterName,
  Val0,
  ValToken,
  Quoted,
  QuotedEsc,
  ValEnd,
  AfterVal,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerStart,
  TrailerName,
  TrailerValue,
  TrailerLf,
  FinalLf,
  Done,
}

const hex = (c: number): number =>
  c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
const ows = (c: number): boolean => c === 32 || c === 9;
/** qdtext and quoted-pair's second byte: HTAB, SP, VCHAR, obs-text (RFC 9110 §5.6.4), without DQUOTE and "\". */
const qdtext = (c: number): boolean =>
  c === 9 || c === 32 || c === 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) || c >= 0x80;
const fieldVchar = (c: number): boolean => c === 9 || c === 32 || (c >= 0x21 && c !== 0x7f);

/** Finds the end of a chunked body without copying it, validating every byte of the framing. */
export class ChunkedScanner {
  private state = S.Size;
  private size = 0;
  private digits = 0;
  private remaining = 0;
  private lineBytes = 0;
  private trailerBytes = 0;
  private trailers = 0;

  reset(): void {
    this.state = S.Size;
    this.size = 0;
    this.digits = 0;
    this.remaining = 0;
    this.lineBytes = 0;
    this.trailerBytes = 0;
    this.trailers = 0;
  }

  /** The size of the chunk being read (its size line complete), for limits. */
  get chunkSize(): number {
    return this.size;
  }

  get done(): boolean {
    return this.state === S.Done;
  }

  /**
   * Scans buf[start, end). Returns the index just past the body's end, or -1 when more bytes are needed. Throws
   * ParseError on malformed framing. `onData` receives the ranges of chunk data (to decode the body).
   */
  scan(buf: Uint8Array, start: number, end: number, onData?: (from: number, to: number) => void): number {
    let i = start;
    while (i < end) {
      const st = this.state;
      if (st === S.Data) {
        const n = Math.min(this.remaining, end - i);
        if (onData && n > 0) onData(i, i + n);
        this.remaining -= n;
        i += n;
        if (this.remaining === 0) this.state = S.DataCr;
        continue;
      }
      if (st === S.Done) return i;
      const c = buf[i] as number;
      i++;
      if (st <= S.SizeLf && ++this.lineBytes > MAX_CHUNK_LINE) throw new ParseError("chunk size line too long");
      if (st >= S.TrailerStart && ++this.trailerBytes > MAX_HEAD_BYTES) throw new ParseError("trailers too large");
      this.step(st, c);
    }
    return this.state === S.Done ? i : -1;
  }

  private step(st: S, c: number): void {
    switch (st) {
      case S.Size: {
        const d = hex(c);
        if (d >= 0) {
          this.size = this.size * 16 + d;
          if (this.size > Number.MAX_SAFE_INTEGER) throw new ParseError("chunk size too large");
          this.digits++;
          return;
        }
        if (this.digits === 0) throw new ParseError("malformed chunk size");
        return this.afterSize(c);
      }
      case S.AfterSize:
      case S.AfterName:
      case S.AfterVal:
        // BWS is allowed only before ";" or "=": "5 \r\n" is not a chunk size line.
        if (ows(c)) return;
        if (c === 61 && st === S.AfterName) return void (this.state = S.Val0);
        if (c !== 59) throw new ParseError("malformed chunk extension");
        this.state = S.ExtName0;
        return;
      case S.ExtName0:
        if (ows(c)) return;
        if (!isTchar(c)) throw new ParseError("malformed chunk extension");
        this.state = S.ExtName;
        return;
      case S.ExtName:
        if (isTchar(c)) return;
        if (c === 61) return void (this.state = S.Val0);
        if (ows(c)) return void (this.state = S.AfterName);
        return this.afterSize(c);
      case S.Val0:
        if (ows(c)) return;
        if (c === 34) return void (this.state = S.Quoted);
        if (!isTchar(c)) throw new ParseError("malformed chunk extension value");
        this.state = S.ValToken;
        return;
      case S.ValToken:
        if (isTchar(c)) return;
        if (ows(c)) return void (this.state = S.AfterVal);
        return this.afterSize(c);
      case S.Quoted:
        if (c === 34) this.state = S.ValEnd;
        else if (c === 92) this.state = S.QuotedEsc;
        else if (!qdtext(c)) throw new ParseError("malformed chunk extension quoted string");
        return;
      case S.ValEnd:
        return this.afterSize(c);
      case S.QuotedEsc:
        if (!qdtext(c) && c !== 34 && c !== 92) throw new ParseError("malformed chunk extension quoted pair");
        this.state = S.Quoted;
        return;
      case S.SizeLf:
        if (c !== 10) throw new ParseError("chunk size line not ended by CRLF");
        this.lineBytes = 0;
        if (this.size === 0) this.state = S.TrailerStart;
        else {
          this.remaining = this.size;
          this.state = S.Data;
        }
        return;
      case S.DataCr:
        if (c !== 13) throw new ParseError("chunk data not followed by CRLF");
        this.state = S.DataLf;
        return;
      case S.DataLf:
        if (c !== 10) throw new ParseError("chunk data not followed by CRLF");
        this.state = S.Size;
        this.size = 0;
        this.digits = 0;
        return;
      case S.TrailerStart:
        if (c === 13) return void (this.state = S.FinalLf);
        if (!isTchar(c)) throw new ParseError("malformed trailer field");
        if (++this.trailers > MAX_HEADERS) throw new ParseError("too many trailer fields");
        this.state = S.TrailerName;
        return;
      case S.TrailerName:
        if (c === 58) this.state = S.TrailerValue;
        else if (!isTchar(c)) throw new ParseError("malformed trailer field name");
        return;
      case S.TrailerValue:
        if (c === 13) this.state = S.TrailerLf;
        else if (!fieldVchar(c)) throw new ParseError("invalid byte in trailer field value");
        return;
      case S.TrailerLf:
        if (c !== 10) throw new ParseError("trailer field not ended by CRLF");
        this.state = S.TrailerStart;
        return;
      case S.FinalLf:
        if (c !== 10) throw new ParseError("chunked body not ended by CRLF");
        this.state = S.Done;
        return;
      default:
        throw new ParseError("chunked scanner in an impossible state");
    }
  }

  /** After a size, an extension name or value: more extensions, or the CR that ends the line. */
  private afterSize(c: number): void {
    if (c === 59) this.state = S.ExtName0;
    else if (c === 13) this.state = S.SizeLf;
    else if (ows(c)) this.state = S.AfterSize;
    else throw new ParseError("malformed chunk size line");
  }
}

/** The data of a complete chunked body. Throws ParseError if it is malformed or incomplete. */
export function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  const end = new ChunkedScanner().scan(body, 0, body.length, (a, b) => parts.push(body.subarray(a, b)));
  if (end < 0) throw new ParseError("incomplete chunked body");
  return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
}

const CRLF = Buffer.from("\r\n", "latin1");

/** One chunk of a chunked body, framed. */
export function encodeChunk(data: Buffer): Buffer[] {
  return [Buffer.from(`${data.length.toString(16)}\r\n`, "latin1"), data, CRLF];
}
