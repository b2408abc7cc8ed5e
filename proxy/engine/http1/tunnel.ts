// An upgraded HTTP/1.1 connection (WebSocket, after a 101 Switching Protocols): the client's socket and a dedicated
// upstream socket spliced as a byte tunnel both ways, as Envoy's upgrade path does. Backpressure: a side whose
// writer is backed up stops reading. Half-close: a FIN one way is passed on, the other way keeps flowing. An error
// or a close on either side closes both.
import type { Socket } from "node:net";
import { onBytes } from "../socket-read.js";

export class Tunnel {
  /** performance.now() of the last byte either way (stream_idle_timeout counts from it). */
  lastActivity = performance.now();
  /** Bytes passed to the client (after the 101 head) and to the upstream (after the request). */
  toClient = 0;
  toUpstream = 0;
  private done = false;

  /**
   * `early`: bytes the client sent after its request head, held while the upstream answered; `rest`: bytes the
   * upstream sent after its 101 head. Neither is lost: each goes out first.
   */
  constructor(
    private readonly down: Socket,
    private readonly up: Socket,
    early: Buffer | undefined,
    rest: Buffer | undefined,
    private readonly onEnd: (t: Tunnel) => void,
  ) {
    // A FIN one way must not close the other way: each side ends its writer only when the peer's reader ended.
    down.allowHalfOpen = true;
    up.allowHalfOpen = true;
    this.splice(down, up, early, true);
    this.splice(up, down, rest, false);
    if (down.destroyed || up.destroyed) this.close();
  }

  /** Closes both sides at once (an error, a timeout, the proxy stopping). */
  close(): void {
    this.down.destroy();
    this.up.destroy();
    this.end();
  }

  private end(): void {
    if (this.done) return;
    this.done = true;
    this.onEnd(this);
  }

  private splice(from: Socket, to: Socket, first: Buffer | undefined, upstream: boolean): void {
    const count = (n: number): void => {
      this.lastActivity = performance.now();
      if (upstream) this.toUpstream += n;
      else this.toClient += n;
    };
    const send = (chunk: Buffer): void => {
      count(chunk.length);
      if (!to.write(chunk) && !from.isPaused()) {
        from.pause();
        to.once("drain", () => {
          if (!this.done) from.resume();
        });
      }
    };
    if (first?.length) send(first);
    onBytes(from, send);
    from.on("end", () => {
      if (!to.destroyed) to.end();
    });
    from.on("error", () => this.close());
    from.on("close", () => {
      // Closed while the other side still had bytes to send or read: nothing more can pass, both go.
      if (!to.destroyed && !(from.readableEnded && to.readableEnded)) to.destroy();
      if (to.destroyed || to.closed) this.end();
    });
    if (from.isPaused() && !(to.writableNeedDrain ?? false)) from.resume();
  }
}
