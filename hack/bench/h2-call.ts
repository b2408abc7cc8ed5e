// One gRPC call over its own HTTP/2 connection, spoken on a raw socket: just enough HTTP/2 (RFC 9113) for the
// benches' simulated proxies, which host hundreds of streams in one process and must cost that process little.
// Node's HTTP/2 client hands each 16 KB DATA frame to JavaScript as its own chunk, through a Readable, in a new
// buffer; here the socket reads into one reused 256 KB buffer and a response's bytes pass to `onData` as views of it,
// so reading a push costs the kernel's copy and a frame-header check per 16 KB.
//
// What it speaks: the preface and SETTINGS (windows of 256 MiB, as Envoy's), one request stream (id 1) whose headers
// are HPACK without indexing (so no table state to keep), DATA both ways with flow control on what it sends, PING,
// and WINDOW_UPDATE for what it receives. Header blocks it receives are skipped, not decoded: a HEADERS frame that
// ends the stream (trailers), RST_STREAM or GOAWAY ends the call. Padding is read and dropped.
import net from "node:net";

const WINDOW = 256 << 20; // 256 MiB, Envoy's initial stream and connection windows
const DEFAULT_WINDOW = 65_535;
/** The client connection preface (RFC 9113 §3.4). */
export const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
const STREAM = 1;

const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PING = 0x6;
const GOAWAY = 0x7;
const WINDOW_UPDATE = 0x8;
const CONTINUATION = 0x9;

const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;

const SETTINGS_ENABLE_PUSH = 0x2;
const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
const SETTINGS_MAX_FRAME_SIZE = 0x5;
/** The largest frame this client takes: the default SETTINGS_MAX_FRAME_SIZE, which it doesn't raise. */
const MAX_FRAME = 16_384;
const MAX_WINDOW = 2 ** 31 - 1;

/** One HTTP/2 frame: the 9-byte header (RFC 9113 §4.1), then the payload. */
export function frame(type: number, flags: number, stream: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const out = Buffer.allocUnsafe(9 + payload.length);
  out.writeUIntBE(payload.length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(stream, 5);
  out.set(payload, 9);
  return out;
}

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n, 0);
  return b;
}

/** An HPACK integer (RFC 7541 §5.1) with an N-bit prefix, the first byte's other bits set from `flags`. */
function hpackInt(value: number, prefixBits: number, flags: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [flags | value];
  const out = [flags | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  out.push(rest);
  return out;
}

function hpackString(s: string): Buffer {
  const bytes = Buffer.from(s, "latin1");
  return Buffer.concat([Buffer.from(hpackInt(bytes.length, 7, 0)), bytes]);
}

/** A gRPC request's header block: static-table names, literal values, never indexed. */
export function requestHeaderBlock(authority: string, path: string): Buffer {
  return Buffer.concat([
    Buffer.from([0x83, 0x86]), // :method POST, :scheme http (static table 3 and 6)
    Buffer.from(hpackInt(4, 4, 0)), // :path, literal without indexing, name from the static table
    hpackString(path),
    Buffer.from(hpackInt(1, 4, 0)), // :authority
    hpackString(authority),
    Buffer.from(hpackInt(31, 4, 0)), // content-type
    hpackString("application/grpc"),
    Buffer.from([0x00]), // te: a new name, literal without indexing
    hpackString("te"),
    hpackString("trailers"),
  ]);
}

export interface H2CallHandlers {
  /** A view of the response body's next bytes; valid only during the call (the buffer is reused). */
  onData(chunk: Buffer): void;
  /** The call ended: trailers, a reset, GOAWAY, or the connection closed or failed. Called once. */
  onEnd(reason: string): void;
}

export class H2Call {
  private readonly socket: net.Socket;
  private ended = false;
  // Receiving: a frame's header may be split over reads; its payload is consumed as it comes.
  private readonly head = Buffer.alloc(9);
  private headHave = 0;
  private type = 0;
  private flags = 0;
  private streamId = 0;
  private payloadLeft = 0; // bytes of the current frame's payload still to come
  private padLeft = 0; // of those, trailing padding
  private padPending = false; // the pad-length byte of a PADDED frame is next
  private control: Buffer[] = []; // a non-DATA frame's payload, kept whole
  private consumed = 0; // DATA bytes received since the last WINDOW_UPDATE
  // Sending: the peer's windows and frame size, and what waits for window.
  private sendWindow = DEFAULT_WINDOW; // the stream's
  private connWindow = DEFAULT_WINDOW;
  private peerInitialWindow = DEFAULT_WINDOW;
  private maxFrame = 16_384;
  private queue: Buffer[] = [];

  constructor(
    address: string,
    path: string,
    private readonly handlers: H2CallHandlers,
  ) {
    const colon = address.lastIndexOf(":");
    const host = address.slice(0, colon).replace(/^\[|\]$/g, "");
    const port = Number(address.slice(colon + 1));
    this.socket = net.connect({
      host,
      port,
      onread: { buffer: Buffer.allocUnsafe(256 << 10), callback: (n: number, buf: Uint8Array) => this.read(buf, n) },
    });
    this.socket.setNoDelay(true);
    this.socket.on("error", (err) => this.end(`connection failed: ${err.message}`));
    this.socket.on("close", () => this.end("connection closed"));
    const settings = Buffer.concat([
      Buffer.from([0, SETTINGS_ENABLE_PUSH]),
      u32(0),
      Buffer.from([0, SETTINGS_INITIAL_WINDOW_SIZE]),
      u32(WINDOW),
    ]);
    this.socket.write(
      Buffer.concat([
        PREFACE,
        frame(SETTINGS, 0, 0, settings),
        frame(WINDOW_UPDATE, 0, 0, u32(WINDOW - DEFAULT_WINDOW)),
        frame(HEADERS, END_HEADERS, STREAM, requestHeaderBlock(address, path)),
      ]),
    );
  }

  /** Sends bytes of the request body (gRPC-framed messages), in DATA frames as the peer's windows allow. */
  write(bytes: Buffer): void {
    if (this.ended) return;
    this.queue.push(bytes);
    this.flush();
  }

  close(): void {
    if (this.ended) return;
    this.socket.write(frame(GOAWAY, 0, 0, Buffer.concat([u32(0), u32(0)])));
    this.socket.end();
    this.end("closed");
  }

  private end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.queue = [];
    this.socket.destroySoon();
    this.handlers.onEnd(reason);
  }

  private flush(): void {
    const out: Buffer[] = [];
    while (this.queue.length > 0) {
      const next = this.queue[0] as Buffer;
      const n = Math.min(next.length, this.maxFrame, this.sendWindow, this.connWindow);
      if (n <= 0) break;
      out.push(frame(DATA, 0, STREAM, next.subarray(0, n)));
      this.sendWindow -= n;
      this.connWindow -= n;
      if (n === next.length) this.queue.shift();
      else this.queue[0] = next.subarray(n);
    }
    if (out.length > 0) this.socket.write(out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out));
  }

  /** The socket's bytes: `buf[0..n)`, in a buffer the next read overwrites. */
  private read(buf: Uint8Array, n: number): boolean {
    const bytes = Buffer.from(buf.buffer, buf.byteOffset, n);
    let i = 0;
    while (i < n && !this.ended) {
      if (this.payloadLeft === 0 && this.headHave < 9) {
        const take = Math.min(9 - this.headHave, n - i);
        bytes.copy(this.head, this.headHave, i, i + take);
        this.headHave += take;
        i += take;
        if (this.headHave === 9) this.startFrame();
        continue;
      }
      i = this.payload(bytes, i, n);
    }
    return true;
  }

  private startFrame(): void {
    this.payloadLeft = this.head.readUIntBE(0, 3);
    // Over the size this client allows (it never raised the default): FRAME_SIZE_ERROR, and nothing kept of it.
    if (this.payloadLeft > MAX_FRAME) return this.end(`a frame of ${this.payloadLeft} bytes (over ${MAX_FRAME})`);
    this.type = this.head[3] ?? 0;
    this.flags = this.head[4] ?? 0;
    this.streamId = this.head.readUInt32BE(5) & 0x7fffffff;
    this.padPending = this.type === DATA && (this.flags & PADDED) !== 0;
    this.padLeft = 0;
    this.control = [];
    if (this.type === DATA) this.received(this.payloadLeft);
    if (this.payloadLeft === 0) this.endFrame();
  }

  /** Consumes the current frame's payload from `bytes[i..n)`; returns the new offset. */
  private payload(bytes: Buffer, i: number, n: number): number {
    if (this.padPending) {
      this.padLeft = bytes[i] ?? 0;
      this.padPending = false;
      this.payloadLeft -= 1;
      i += 1;
    } else {
      const body = this.payloadLeft - this.padLeft;
      const take = Math.min(body > 0 ? body : this.payloadLeft, n - i);
      if (body > 0) {
        if (this.type === DATA && this.streamId === STREAM) this.handlers.onData(bytes.subarray(i, i + take));
        else if (this.type !== DATA && this.type !== HEADERS && this.type !== CONTINUATION)
          this.control.push(Buffer.from(bytes.subarray(i, i + take))); // small control frames, copied
      } else this.padLeft -= take;
      this.payloadLeft -= take;
      i += take;
    }
    if (this.payloadLeft === 0) this.endFrame();
    return i;
  }

  private endFrame(): void {
    this.headHave = 0;
    const p = this.control.length === 1 ? (this.control[0] as Buffer) : Buffer.concat(this.control);
    this.control = [];
    switch (this.type) {
      case HEADERS:
        if (this.streamId === STREAM && this.flags & END_STREAM) this.end("stream ended by the server");
        break;
      case DATA:
        if (this.streamId === STREAM && this.flags & END_STREAM) this.end("stream ended by the server");
        break;
      case RST_STREAM:
        if (this.streamId === STREAM) this.end(`stream reset (code ${p.length >= 4 ? p.readUInt32BE(0) : "?"})`);
        break;
      case GOAWAY:
        this.end(`GOAWAY (code ${p.length >= 8 ? p.readUInt32BE(4) : "?"})`);
        break;
      case PING:
        if (!(this.flags & ACK)) this.socket.write(frame(PING, ACK, 0, p));
        break;
      case SETTINGS:
        if (!(this.flags & ACK)) this.settings(p);
        break;
      case WINDOW_UPDATE: {
        const inc = p.length >= 4 ? p.readUInt32BE(0) & 0x7fffffff : 0;
        if (this.streamId === 0) this.connWindow += inc;
        else if (this.streamId === STREAM) this.sendWindow += inc;
        this.flush();
        break;
      }
    }
  }

  private settings(p: Buffer): void {
    for (let k = 0; k + 6 <= p.length; k += 6) {
      const id = p.readUInt16BE(k);
      const value = p.readUInt32BE(k + 2);
      // Values out of range are connection errors (RFC 9113 §6.5.2): a window over 2^31-1, a frame size outside
      // 16,384..16,777,215 (0 would stall every write).
      if (id === SETTINGS_INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) return this.end(`SETTINGS_INITIAL_WINDOW_SIZE ${value} (over ${MAX_WINDOW})`);
        this.sendWindow += value - this.peerInitialWindow; // RFC 9113 §6.9.2
        this.peerInitialWindow = value;
      } else if (id === SETTINGS_MAX_FRAME_SIZE) {
        if (value < 16_384 || value > 16_777_215) return this.end(`SETTINGS_MAX_FRAME_SIZE ${value} (out of range)`);
        this.maxFrame = value;
      }
    }
    this.socket.write(frame(SETTINGS, ACK, 0));
    this.flush();
  }

  /** Gives the windows back once half is used, for the connection and the stream. */
  private received(length: number): void {
    this.consumed += length;
    if (this.consumed < WINDOW / 2) return;
    const inc = u32(this.consumed);
    this.consumed = 0;
    this.socket.write(Buffer.concat([frame(WINDOW_UPDATE, 0, 0, inc), frame(WINDOW_UPDATE, 0, STREAM, inc)]));
  }
}
