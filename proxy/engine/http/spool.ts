// Bytes kept for later as copies in shared 16 KiB stores, never as the Buffers they came in: a peer sending a byte
// per frame (or per chunk) would otherwise have each byte cost a Buffer object (~100 bytes of heap) and pin the
// socket read it is a view of. Used for a stream's queued small writes (stream.ts) and an upstream response held while
// the client is paused (call.ts).

const STORE = 16 * 1024;

export class Spool {
  private store: Buffer | undefined;
  private end = 0;
  /** The last view handed out: while it is still a list's last entry, the next bytes extend it. */
  private last: Buffer | undefined;

  /**
   * Appends a copy of `data` to `list`: as views of the stores, the list's last entry extended when it is the view
   * ending where the copy starts. Bytes handed out are never written over: a store only grows past them.
   */
  append(list: Buffer[], data: Buffer): void {
    for (let at = 0; at < data.length;) {
      let store = this.store;
      if (!store || this.end === store.length) {
        this.store = store = Buffer.allocUnsafe(STORE);
        this.end = 0;
        this.last = undefined;
      }
      const start = this.end;
      const n = data.copy(store, start, at);
      this.end += n;
      at += n;
      const tail = list.length ? list[list.length - 1] : undefined;
      const joined = tail !== undefined && tail === this.last;
      const view = store.subarray(joined ? start - tail.length : start, this.end);
      if (joined) list[list.length - 1] = view;
      else list.push(view);
      this.last = view;
    }
  }

  /** The store let go (what was handed out stays valid). */
  reset(): void {
    this.store = this.last = undefined;
    this.end = 0;
  }
}
