// How the engine reads its sockets (plaintext, and TLS sockets' decrypted bytes): into one buffer shared by every
// socket (Node's `onread`), each read copied out to a Buffer of its own length and handed to the socket's one handler
// (a body streaming, its reads filling the buffer, goes to buffers of the socket's own instead, uncopied: see deliver). A 'data' event costs a new 64 KiB
// ArrayBuffer per read and Readable's push, buffer list and emit; on a bare relay in front of nginx (hack/bench's
// backend, wrk -c32, this machine) that was 15.8–17.1 µs of CPU per request against 11.3–11.9 µs read this way
// (58–64k → 77–78k req/s). The copy is what makes one buffer safe to share: nothing ever keeps a view of it, since
// reads happen one at a time, each handled before the next.
//
// Node offers `onread` only where a socket is created (net.connect, new Socket); accepted sockets and sockets that
// changed hands (the TLS inspector read their first bytes, HTTP/1.1 handed over an h2c connection) are switched with
// the same three fields Node's own constructor sets for it, found by their names on the socket; a TLSSocket's handle
// (its TLS engine) takes a user buffer as a TCP handle does. A Node without them keeps 'data' events: same bytes,
// same order, only slower. `readsShared` tells which, and a test holds Node 20 to the fast one.
import { Socket } from "node:net";

export type BytesHandler = (chunk: Buffer) => void;

const SIZE = 64 * 1024;
/** Where every switched socket reads; nothing outside `deliver` ever sees it. */
const SHARED = Buffer.allocUnsafeSlow(SIZE);
/** A read into a socket's own buffer this large is handed out uncopied (smaller ones are copied: see deliver). */
const BULK = 16 * 1024;

interface NodeFields {
  buffer: symbol;
  callback: symbol;
  generator: symbol;
}

let fields: NodeFields | null | undefined;

/** Node's own names for a socket's onread state (lib/net.js: kBuffer, kBufferCb, kBufferGen), or null. */
function nodeFields(socket: Socket): NodeFields | null {
  if (fields !== undefined) return fields;
  const named = (d: string) => Object.getOwnPropertySymbols(socket).find((s) => s.description === d);
  const [buffer, callback, generator] = [named("kBuffer"), named("kBufferCb"), named("kBufferGen")];
  fields = buffer && callback && generator ? { buffer, callback, generator } : null;
  return fields;
}

interface Reading {
  fn: BytesHandler | undefined;
  /** Bytes read or put back while no handler took them, delivered first to the next one. */
  held: Buffer[] | undefined;
  /** Reading into SHARED or buffers of its own (else: 'data' events). */
  shared: boolean;
  /** Where the next read goes: SHARED, or a buffer of this socket's own while it streams. */
  next: Buffer;
  scheduled: boolean;
}

const READING = Symbol("weft.reading");
type Tagged = Socket & { [READING]?: Reading };
type Handle = { useUserBuffer?: (b: Uint8Array) => void };

function deliverHeld(socket: Socket, r: Reading): void {
  r.scheduled = false;
  while (r.fn && r.held?.length && !socket.destroyed) r.fn(r.held.shift() as Buffer);
  if (!r.held?.length) r.held = undefined;
}

/**
 * One read of `n` bytes into `buf`. Small reads (requests, responses, frames) are copied out of SHARED. A read that
 * filled its buffer means more is waiting (libuv reads again at once): the socket's next reads go to buffers of its
 * own, each handed out as read when 16 KiB or more (a view, never read into again), as Node's own reads are; copying
 * 64 KiB per read made a 10 MB download through the engine 20% slower. A read that didn't fill its buffer goes back
 * to SHARED, so a socket idle after a bulk read holds no spare buffer (one that got 16 KiB and went quiet would hold
 * 64 KiB more than what it sent, a gateway's worth of connections at a time).
 */
function deliver(socket: Socket, r: Reading, n: number, buf: Buffer): void {
  let chunk: Buffer;
  if (buf !== SHARED && n >= BULK) chunk = buf.subarray(0, n);
  else {
    chunk = Buffer.allocUnsafe(n);
    buf.copy(chunk, 0, 0, n);
  }
  r.next = n === buf.length ? Buffer.allocUnsafeSlow(SIZE) : SHARED;
  if (r.fn && !r.held) return r.fn(chunk);
  (r.held ??= []).push(chunk);
  deliverHeld(socket, r);
}

/** Switches `socket` to reading into SHARED, keeping what its stream had buffered; false: it can't be. */
function switchToShared(socket: Socket, r: Reading): boolean {
  if (!(socket instanceof Socket) || socket.destroyed) return false;
  const handle = (socket as unknown as { _handle: Handle | null })._handle;
  const f = nodeFields(socket);
  if (!f || typeof handle?.useUserBuffer !== "function") return false;
  // Bytes a stream buffered (unshifted, or read while paused) come first.
  while (socket.readableLength > 0) {
    const b = socket.read() as Buffer | null;
    if (b === null) break;
    (r.held ??= []).push(b);
  }
  const s = socket as unknown as Record<symbol, unknown>;
  s[f.buffer] = SHARED;
  s[f.callback] = (n: number, buf: Buffer) => deliver(socket, r, n, buf);
  s[f.generator] = () => r.next;
  handle.useUserBuffer(SHARED);
  return true;
}

function readingOf(socket: Socket): Reading {
  const t = socket as Tagged;
  let r = t[READING];
  if (!r) {
    r = { fn: undefined, held: undefined, shared: false, next: SHARED, scheduled: false };
    r.shared = switchToShared(socket, r);
    t[READING] = r;
  }
  return r;
}

/**
 * Hands each read of `socket` to `fn`, replacing the handler given before (one handler per socket). Bytes put back or
 * read while there was none come first, on the next tick.
 */
export function onBytes(socket: Socket, fn: BytesHandler): void {
  const r = readingOf(socket);
  if (!r.shared) {
    if (r.fn) socket.off("data", r.fn);
    r.fn = fn;
    socket.on("data", fn);
    return;
  }
  r.fn = fn;
  if (r.held && !r.scheduled) {
    r.scheduled = true;
    process.nextTick(deliverHeld, socket, r);
  }
}

/** `fn` takes no more reads; they wait for the next handler (pause the socket to stop reading). */
export function offBytes(socket: Socket, fn: BytesHandler): void {
  const r = (socket as Tagged)[READING];
  if (!r || r.fn !== fn) return;
  r.fn = undefined;
  if (!r.shared) socket.off("data", fn);
}

/** Gives bytes back to the socket: the next handler gets them before anything read after (Readable's unshift). */
export function putBack(socket: Socket, bytes: Buffer): void {
  const r = (socket as Tagged)[READING];
  if (!r?.shared) return void socket.unshift(bytes);
  (r.held ??= []).unshift(bytes);
}

/** Whether `socket` reads into the shared buffer (false: 'data' events, or never given a handler). */
export function readsShared(socket: Socket): boolean {
  return (socket as Tagged)[READING]?.shared === true;
}
