// HTTP/2 framing (RFC 9113 §4, §6): the numbers, and FrameOut, which lays frames out for one write. Frames of one
// event-loop turn go out together: small frames are laid into one buffer, a large DATA payload is written as it is
// (not copied), and the connection writes all of it at once (session.ts).

export const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
export const FRAME_HEADER = 9;
/** SETTINGS_MAX_FRAME_SIZE's initial value; the most this side accepts (it never raises it). */
export const DEFAULT_MAX_FRAME = 16384;
export const MAX_WINDOW = 2 ** 31 - 1;
export const DEFAULT_WINDOW = 65535;

export const enum Type {
  DATA = 0,
  HEADERS = 1,
  PRIORITY = 2,
  RST_STREAM = 3,
  SETTINGS = 4,
  PUSH_PROMISE = 5,
  PING = 6,
  GOAWAY = 7,
  WINDOW_UPDATE = 8,
  CONTINUATION = 9,
}

/** SETTINGS' and PING's ACK flag (the same bit as END_STREAM). */
export const ACK = 0x1;

export const enum Flag {
  END_STREAM = 0x1,
  END_HEADERS = 0x4,
  PADDED = 0x8,
  PRIORITY = 0x20,
}

/** Error codes (§7). */
export const enum Code {
  NO_ERROR = 0,
  PROTOCOL_ERROR = 1,
  INTERNAL_ERROR = 2,
  FLOW_CONTROL_ERROR = 3,
  SETTINGS_TIMEOUT = 4,
  STREAM_CLOSED = 5,
  FRAME_SIZE_ERROR = 6,
  REFUSED_STREAM = 7,
  CANCEL = 8,
  COMPRESSION_ERROR = 9,
  CONNECT_ERROR = 10,
  ENHANCE_YOUR_CALM = 11,
  INADEQUATE_SECURITY = 12,
  HTTP_1_1_REQUIRED = 13,
}

export const enum Setting {
  HEADER_TABLE_SIZE = 1,
  ENABLE_PUSH = 2,
  MAX_CONCURRENT_STREAMS = 3,
  INITIAL_WINDOW_SIZE = 4,
  MAX_FRAME_SIZE = 5,
  MAX_HEADER_LIST_SIZE = 6,
}

/** A connection error (§5.4.1): GOAWAY with `code`, then the connection closes. */
export class ConnectionError extends Error {
  constructor(
    readonly code: Code,
    message: string,
  ) {
    super(message);
  }
}

/** The frames' buffer: small, as every connection keeps one (a frame that doesn't fit gets a buffer of its own). */
const CHUNK = 4096;
/** A DATA payload at least this large is handed to the socket as it is, not copied into the frames' buffer. */
const COPY_BELOW = 1024;

/** Frames laid out for one write: call take() to get them, in order. */
export class FrameOut {
  private buf: Buffer | undefined;
  private start = 0;
  private pos = 0;
  private parts: Buffer[] = [];
  private size = 0;
  /** Frames laid out so far, of them PING, SETTINGS and RST_STREAM (Envoy's flood-monitored control frames), DATA. */
  frames = 0;
  control = 0;
  dataFrames = 0;

  get pending(): number {
    return this.size + this.pos - this.start;
  }

  /** Room for n more bytes in the current buffer (a new one when it is full: the old one's bytes are kept). */
  private room(n: number): Buffer {
    const b = this.buf;
    if (b && this.pos + n <= b.length) return b;
    this.cut();
    const next = Buffer.allocUnsafe(Math.max(CHUNK, n));
    this.buf = next;
    this.start = this.pos = 0;
    return next;
  }

  private cut(): void {
    if (this.buf && this.pos > this.start) {
      this.parts.push(this.buf.subarray(this.start, this.pos));
      this.size += this.pos - this.start;
      this.start = this.pos;
    }
  }

  private header(b: Buffer, length: number, type: Type, flags: number, stream: number): void {
    this.frames++;
    if (type === Type.DATA) this.dataFrames++;
    else if (type === Type.PING || type === Type.SETTINGS || type === Type.RST_STREAM) this.control++;
    const p = this.pos;
    b[p] = length >>> 16;
    b[p + 1] = (length >>> 8) & 0xff;
    b[p + 2] = length & 0xff;
    b[p + 3] = type;
    b[p + 4] = flags;
    b.writeUInt32BE(stream, p + 5);
    this.pos = p + FRAME_HEADER;
  }

  /** A frame with the payload given (PING, an empty SETTINGS ack). */
  frame(type: Type, flags: number, stream: number, payload?: Buffer): void {
    const n = payload?.length ?? 0;
    const b = this.room(FRAME_HEADER + n);
    this.header(b, n, type, flags, stream);
    if (payload) {
      payload.copy(b, this.pos);
      this.pos += n;
    }
  }

  /** Bytes as they are (the client's connection preface). */
  bytes(b: Buffer): void {
    b.copy(this.room(b.length), this.pos);
    this.pos += b.length;
  }

  u32(type: Type, stream: number, value: number): void {
    const b = this.room(FRAME_HEADER + 4);
    this.header(b, 4, type, 0, stream);
    b.writeUInt32BE(value >>> 0, this.pos);
    this.pos += 4;
  }

  settings(entries: readonly [Setting, number][]): void {
    const b = this.room(FRAME_HEADER + 6 * entries.length);
    this.header(b, 6 * entries.length, Type.SETTINGS, 0, 0);
    for (const [id, v] of entries) {
      b.writeUInt16BE(id, this.pos);
      b.writeUInt32BE(v, this.pos + 2);
      this.pos += 6;
    }
  }

  goaway(lastStream: number, code: Code): void {
    const b = this.room(FRAME_HEADER + 8);
    this.header(b, 8, Type.GOAWAY, 0, 0);
    b.writeUInt32BE(lastStream, this.pos);
    b.writeUInt32BE(code, this.pos + 4);
    this.pos += 8;
  }

  /** A header block, split into HEADERS and CONTINUATION frames of at most maxFrame bytes. */
  headers(stream: number, block: Buffer, endStream: boolean, maxFrame: number): void {
    let off = 0;
    let type = Type.HEADERS;
    do {
      const n = Math.min(maxFrame, block.length - off);
      const last = off + n === block.length;
      const flags = (last ? Flag.END_HEADERS : 0) | (type === Type.HEADERS && endStream ? Flag.END_STREAM : 0);
      const b = this.room(FRAME_HEADER + n);
      this.header(b, n, type, flags, stream);
      block.copy(b, this.pos, off, off + n);
      this.pos += n;
      off += n;
      type = Type.CONTINUATION;
    } while (off < block.length);
  }

  data(stream: number, chunk: Buffer, endStream: boolean): void {
    const n = chunk.length;
    if (n >= COPY_BELOW) {
      this.header(this.room(FRAME_HEADER), n, Type.DATA, endStream ? Flag.END_STREAM : 0, stream);
      this.cut();
      this.parts.push(chunk);
      this.size += n;
      return;
    }
    const b = this.room(FRAME_HEADER + n);
    this.header(b, n, Type.DATA, endStream ? Flag.END_STREAM : 0, stream);
    chunk.copy(b, this.pos);
    this.pos += n;
  }

  /** Everything laid out since the last take(), as buffers to write in order (empty when nothing is pending). */
  take(): Buffer[] {
    this.cut();
    const out = this.parts;
    this.parts = [];
    this.size = 0;
    // What remains of the current buffer is reused for the next frames; the bytes handed out are never touched again.
    return out;
  }
}
