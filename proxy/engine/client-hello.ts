// The TLS inspector's reading of a connection's first bytes (Envoy's tls_inspector): a TLS ClientHello, with the ALPN
// protocols it offers and the server name it asks for (SNI), or not TLS at all. The bytes are the client's, so every
// length is checked against what is there, nothing is trusted to be well formed, and each byte is looked at once as
// it arrives: a hello dribbled in many reads of many tiny records costs what its length does.

export type Hello =
  /** The ClientHello isn't complete yet: read more. */
  | { kind: "more" }
  /** A ClientHello: `alpn` in the client's order (empty when it offers none); `sni` lower-cased, when it sends one. */
  | { kind: "tls"; alpn: string[]; sni?: string }
  /** Not TLS (or not a ClientHello Envoy could parse): the raw_buffer chains. */
  | { kind: "raw" }
  /** Larger than `max` before the ClientHello ends (Envoy: client_hello_too_large): the connection is closed. */
  | { kind: "too-large" };

/** Envoy's default max_client_hello_size. */
export const MAX_CLIENT_HELLO = 64 * 1024;
const HANDSHAKE = 0x16;
const CLIENT_HELLO = 1;
const ALPN_EXTENSION = 16;
const SERVER_NAME_EXTENSION = 0;
/** A TLS record's body is at most 2^14 bytes (plus expansion for protected records, which a ClientHello isn't). */
const MAX_RECORD = 16384;
/** RFC 6066's and BoringSSL's limit on a host_name (TLSEXT_MAXLEN_host_name). */
const MAX_HOST_NAME = 255;
const RAW: Hello = { kind: "raw" };
const TOO_LARGE: Hello = { kind: "too-large" };
const MORE: Hello = { kind: "more" };

/** Envoy's tls_inspector counters (TLS_INSPECTOR_COUNTERS) for a verdict. */
export function helloStats(hello: Hello): string[] {
  if (hello.kind === "more") return [];
  if (hello.kind === "too-large") return ["client_hello_too_large"];
  if (hello.kind === "raw") return ["tls_not_found"];
  return ["tls_found", hello.alpn.length ? "alpn_found" : "alpn_not_found", hello.sni ? "sni_found" : "sni_not_found"];
}

/** Reads the ClientHello at the start of `buf` (TLS records of type handshake, the message possibly split across them). */
export function readClientHello(buf: Buffer, max = MAX_CLIENT_HELLO): Hello {
  return new ClientHelloReader(max).push(buf);
}

/**
 * A connection's first bytes, given as they are read: the record layer is taken apart byte by byte, the handshake
 * message kept as slices of the reads, and parsed once, when whole. Memory: the reads themselves (at most `max` bytes
 * before a verdict, plus the last read).
 */
export class ClientHelloReader {
  private readonly reads: Buffer[] = [];
  private total = 0;
  private readonly header = Buffer.alloc(5);
  private headerHave = 0;
  /** Bytes of the current record's body still to come; 0: a record header is next. */
  private body = 0;
  /** The handshake message's type and length, then its body as slices of the reads. */
  private readonly head = Buffer.alloc(4);
  private readonly pieces: Buffer[] = [];
  private have = 0;
  private size = -1;
  private verdict: Hello | undefined;

  constructor(private readonly max = MAX_CLIENT_HELLO) {}

  /** Every byte read so far, to give back to the connection. */
  get bytes(): Buffer {
    return this.reads.length === 1 ? this.reads[0]! : Buffer.concat(this.reads);
  }

  /** The verdict once `chunk` is added (the same one from then on). */
  push(chunk: Buffer): Hello {
    if (this.verdict) return this.verdict;
    if (!chunk.length) return MORE;
    this.reads.push(chunk);
    const start = this.total;
    this.total += chunk.length;
    for (let i = 0; i < chunk.length;) {
      if (this.body === 0) {
        const b = chunk[i++]!;
        const n = this.headerHave++;
        if ((n === 0 && b !== HANDSHAKE) || (n === 1 && b !== 3)) return (this.verdict = RAW);
        this.header[n] = b;
        if (this.headerHave < 5) continue;
        this.headerHave = 0;
        this.body = this.header.readUInt16BE(3);
        if (this.body === 0 || this.body > MAX_RECORD) return (this.verdict = RAW);
        if (start + i + this.body > this.max) return (this.verdict = TOO_LARGE);
        continue;
      }
      const n = Math.min(this.body, chunk.length - i);
      const v = this.message(chunk.subarray(i, i + n));
      i += n;
      this.body -= n;
      if (v) return (this.verdict = v);
    }
    return this.total >= this.max ? (this.verdict = TOO_LARGE) : MORE;
  }

  /** A record body's bytes, added to the handshake message; the verdict once that is whole. */
  private message(piece: Buffer): Hello | undefined {
    let at = 0;
    while (this.have < 4 && at < piece.length) {
      if (this.have === 0 && piece[at] !== CLIENT_HELLO) return RAW;
      this.head[this.have++] = piece[at++]!;
    }
    if (this.have < 4) return undefined;
    if (this.size < 0) {
      this.size = this.head.readUIntBE(1, 3);
      if (4 + this.size > this.max) return TOO_LARGE;
    }
    const use = piece.subarray(at, at + (4 + this.size - this.have));
    if (use.length) this.pieces.push(use);
    this.have += use.length;
    if (this.have < 4 + this.size) return undefined;
    const ext = helloExtensions(this.pieces.length === 1 ? this.pieces[0]! : Buffer.concat(this.pieces));
    if (!ext) return RAW;
    return ext.sni === undefined ? { kind: "tls", alpn: ext.alpn } : { kind: "tls", alpn: ext.alpn, sni: ext.sni };
  }
}

/**
 * The ALPN protocols and server name of a ClientHello body, or undefined when BoringSSL (Envoy's inspector) would not
 * take it as one: a length past its end, an extension twice, a malformed server name. A malformed ALPN list is no
 * protocols, as Envoy's onALPN leaves it for the TLS stack to refuse.
 */
function helloExtensions(b: Buffer): { alpn: string[]; sni?: string } | undefined {
  let at = 2 + 32; // legacy_version, random
  if (b.length < at + 1) return undefined;
  at += 1 + b[at]!; // session id
  if (b.length < at + 2) return undefined;
  const suites = b.readUInt16BE(at);
  if (suites < 2 || suites % 2) return undefined;
  at += 2 + suites;
  if (b.length < at + 1) return undefined;
  const compression = b[at]!;
  if (compression < 1) return undefined;
  at += 1 + compression;
  if (at > b.length) return undefined;
  if (at === b.length) return { alpn: [] }; // no extensions
  if (b.length < at + 2) return undefined;
  const end = at + 2 + b.readUInt16BE(at);
  if (end !== b.length) return undefined;
  at += 2;
  let alpn: string[] = [];
  let sni: string | undefined;
  const seen = new Set<number>();
  while (at < end) {
    if (end < at + 4) return undefined;
    const type = b.readUInt16BE(at);
    const len = b.readUInt16BE(at + 2);
    at += 4;
    if (end < at + len || seen.has(type)) return undefined;
    seen.add(type);
    if (type === ALPN_EXTENSION) alpn = protocolList(b.subarray(at, at + len)) ?? [];
    else if (type === SERVER_NAME_EXTENSION) {
      sni = hostName(b.subarray(at, at + len));
      if (sni === undefined) return undefined;
    }
    at += len;
  }
  return sni === undefined ? { alpn } : { alpn, sni };
}

/**
 * ServerNameList (RFC 6066 §3) as BoringSSL reads it: exactly one name, a host_name (type 0) of 1 to 255 bytes
 * without NUL, ASCII lower-cased (Envoy's requested server name); undefined when it isn't that.
 */
function hostName(b: Buffer): string | undefined {
  if (b.length < 5 || b.readUInt16BE(0) !== b.length - 2 || b[2] !== 0) return undefined;
  const len = b.readUInt16BE(3);
  if (len === 0 || len > MAX_HOST_NAME || 5 + len !== b.length || b.includes(0, 5)) return undefined;
  let name = "";
  for (let at = 5; at < b.length; at++) {
    const c = b[at]!;
    name += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c + 0x20 : c);
  }
  return name;
}

/** ProtocolNameList (RFC 7301 §3.1): a 2-byte length, then names of 1 to 255 bytes, each after its 1-byte length. */
function protocolList(b: Buffer): string[] | undefined {
  if (b.length < 2 || b.readUInt16BE(0) !== b.length - 2) return undefined;
  const out: string[] = [];
  for (let at = 2; at < b.length;) {
    const len = b[at]!;
    if (len === 0 || at + 1 + len > b.length) return undefined;
    out.push(b.toString("latin1", at + 1, at + 1 + len));
    at += 1 + len;
  }
  return out.length ? out : undefined;
}
