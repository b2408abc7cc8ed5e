// One request on an upstream HTTP/2 connection (client.ts): the call as the link made it, and its stream once open.
import { WINDOW } from "./connection.js";
import { H2Stream, type StreamOwner } from "./stream.js";
import type { Exchange } from "../link.js";

/** The stores held response bytes are copied into. */
const HOLD_STORE = 16 * 1024;

/** One request: what it sends, and whom it tells what comes back. */
export class ClientCall {
  stream: ClientStream | undefined;
  paused = false;
  /**
   * Response bytes that came while paused, copied into stores of HOLD_STORE bytes (`store` being filled, `used` bytes
   * of it), never a Buffer per DATA frame: an upstream sending its window a byte per frame would have each byte cost
   * a Buffer object (~100 bytes of heap), 100 MB for one paused stream's 1 MiB window.
   */
  private held: Buffer[] = [];
  private store: Buffer | undefined;
  private used = 0;
  /** The response's end, when it came while paused. */
  heldEnd: { trailers: string[] | undefined } | undefined;

  constructor(
    readonly fields: string[],
    readonly body: Buffer,
    /** A HEAD request: its response's content-length describes no content. */
    readonly noBody: boolean,
    public exchange: Exchange | undefined,
  ) {}

  /** Keeps a copy of `data` until resumed. */
  hold(data: Buffer): void {
    for (let at = 0; at < data.length;) {
      if (!this.store || this.used === this.store.length) {
        this.cut();
        this.store = Buffer.allocUnsafe(HOLD_STORE);
      }
      const n = data.copy(this.store, this.used, at);
      this.used += n;
      at += n;
    }
  }

  /** The oldest bytes held, taken; undefined when none are. */
  takeHeld(): Buffer | undefined {
    if (!this.held.length) this.cut();
    return this.held.shift();
  }

  /** Whatever is held is dropped (the call is over). */
  dropHeld(): void {
    this.held = [];
    this.store = undefined;
    this.used = 0;
    this.heldEnd = undefined;
  }

  private cut(): void {
    if (this.store && this.used) this.held.push(this.store.subarray(0, this.used));
    this.store = undefined;
    this.used = 0;
  }
}

export class ClientStream extends H2Stream {
  /** A final response head arrived (1xx ones are skipped). */
  gotHead = false;
  /** Any response frame arrived: the upstream processed the request. */
  answered = false;
  /** The response has no content whatever its content-length says (HEAD, 204, 304). */
  bodiless = false;

  constructor(
    id: number,
    owner: StreamOwner,
    sendWindow: number,
    readonly call: ClientCall,
  ) {
    super(id, owner, WINDOW, sendWindow);
  }
}
