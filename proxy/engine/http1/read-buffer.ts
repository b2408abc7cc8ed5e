// The bytes a client sent that are not parsed yet: a request head arriving over several reads, pipelined requests
// waiting their turn. (A request body still arriving never goes here: request-body.ts takes it as it is read.)
import { released } from "../reclaim.js";

export class ReadBuffer {
  /** What is pending, from its first byte; undefined: nothing. */
  bytes: Buffer | undefined;
  private store: Buffer | undefined;
  private storeEnd = 0;

  /**
   * Appends without copying everything again each time: a growing store doubles its capacity, so a head arriving in
   * many small reads costs linear time. Views handed out (request bodies) stay valid: a store is never written where
   * it was written before.
   */
  append(chunk: Buffer): void {
    const cur = this.bytes;
    if (!cur) {
      this.bytes = chunk;
      return;
    }
    const store = this.store;
    const total = cur.length + chunk.length;
    if (
      store &&
      cur.buffer === store.buffer &&
      cur.byteOffset + cur.length === this.storeEnd &&
      this.storeEnd + chunk.length <= store.length
    ) {
      chunk.copy(store, this.storeEnd);
      this.storeEnd += chunk.length;
      this.bytes = store.subarray(cur.byteOffset, this.storeEnd);
      return;
    }
    const next = Buffer.allocUnsafeSlow(Math.max(total * 2, 16 * 1024));
    cur.copy(next, 0);
    chunk.copy(next, cur.length);
    this.store = next;
    this.storeEnd = total;
    this.bytes = next.subarray(0, total);
  }

  /** Drops empty lines before a request line (RFC 9112 §2.2). False: nothing to parse yet. */
  skipEmptyLines(): boolean {
    const buf = this.bytes as Buffer;
    let k = 0;
    while (k + 1 < buf.length && buf[k] === 13 && buf[k + 1] === 10) k += 2;
    if (k === buf.length) {
      this.bytes = undefined;
      return false;
    }
    if (k) this.bytes = buf.subarray(k);
    return !(buf.length - k === 1 && buf[k] === 13);
  }

  /** Lets everything go (the connection closes, or becomes a tunnel); returns what was pending. */
  clear(): Buffer | undefined {
    const b = this.bytes;
    if (this.store) released(this.store.length);
    this.bytes = this.store = undefined;
    return b;
  }
}
