// The TLS inspector's reading of a connection's first bytes (Envoy's tls_inspector): a TLS ClientHello, with the ALPN
// protocols it offers and the server name it asks for (SNI), or not TLS at all. Pure; the bytes are the client's, so every length is checked against what
// is there, and nothing is trusted to be well formed.

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

/** Reads the ClientHello at the start of `buf` (TLS records of type handshake, the message possibly split across them). */
export function readClientHello(buf: Buffer, max = MAX_CLIENT_HELLO): Hello {
  if (buf.length === 0) return { kind: "more" };
  if (buf[0] !== HANDSHAKE) return { kind: "raw" };
  const parts: Buffer[] = [];
  let have = 0;
  let at = 0;
  for (;;) {
    if (buf.length < at + 5) return at + 5 > max ? { kind: "too-large" } : { kind: "more" };
    if (buf[at] !== HANDSHAKE || buf[at + 1] !== 3) return { kind: "raw" };
    const len = buf.readUInt16BE(at + 3);
    if (len === 0 || len > MAX_RECORD) return { kind: "raw" };
    if (at + 5 + len > max) return { kind: "too-large" };
    if (buf.length < at + 5 + len) return { kind: "more" };
    parts.push(buf.subarray(at + 5, at + 5 + len));
    have += len;
    at += 5 + len;
    const first = parts[0]!;
    if (first[0] !== CLIENT_HELLO) return { kind: "raw" };
    if (have < 4) continue;
    const message = parts.length === 1 ? first : Buffer.concat(parts);
    const size = message.readUIntBE(1, 3);
    if (4 + size > max) return { kind: "too-large" };
    if (have < 4 + size) continue;
    const ext = helloExtensions(message.subarray(4, 4 + size));
    if (!ext) return { kind: "raw" };
    return ext.sni === undefined ? { kind: "tls", alpn: ext.alpn } : { kind: "tls", alpn: ext.alpn, sni: ext.sni };
  }
}

/** The ALPN protocols and server name of a ClientHello body, or undefined when it doesn't parse. */
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
  while (at < end) {
    if (end < at + 4) return undefined;
    const type = b.readUInt16BE(at);
    const len = b.readUInt16BE(at + 2);
    at += 4;
    if (end < at + len) return undefined;
    if (type === ALPN_EXTENSION) {
      const list = protocolList(b.subarray(at, at + len));
      if (!list) return undefined;
      alpn = list;
    } else if (type === SERVER_NAME_EXTENSION) {
      sni = hostName(b.subarray(at, at + len));
      if (sni === undefined) return undefined;
    }
    at += len;
  }
  return sni === undefined ? { alpn } : { alpn, sni };
}

/** ServerNameList (RFC 6066 §3): its host_name (type 0), lower-cased; undefined when it doesn't parse. */
function hostName(b: Buffer): string | undefined {
  if (b.length < 2 || b.readUInt16BE(0) !== b.length - 2) return undefined;
  for (let at = 2; at < b.length;) {
    if (b.length < at + 3) return undefined;
    const len = b.readUInt16BE(at + 1);
    if (len === 0 || at + 3 + len > b.length) return undefined;
    if (b[at] === 0) return b.toString("latin1", at + 3, at + 3 + len).toLowerCase();
    at += 3 + len;
  }
  return undefined;
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
