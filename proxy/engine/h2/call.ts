// One request on an upstream HTTP/2 connection (client.ts): the call as the link made it, and its stream once open.
import { WINDOW } from "./connection.js";
import { H2Stream, type StreamOwner } from "./stream.js";
import type { Exchange } from "../link.js";
import { Spool } from "../http/spool.js";
import type { BodySink, RequestBody } from "../http/body.js";

/** One request: what it sends (its body streamed through it as a sink), and whom it tells what comes back. */
export class ClientCall implements BodySink {
  stream: ClientStream | undefined;
  paused = false;
  /** Response bytes that came while paused, copied (see Spool). */
  private readonly held: Buffer[] = [];
  private readonly spool = new Spool();
  /** The response's end, when it came while paused. */
  heldEnd: { trailers: string[] | undefined } | undefined;

  constructor(
    readonly fields: string[],
    readonly body: RequestBody,
    /** A HEAD request: its response's content-length describes no content. */
    readonly noBody: boolean,
    public exchange: Exchange | undefined,
  ) {}

  /** Request body bytes, queued on the stream (sent as its send window allows); false above its high-water mark. */
  data(chunk: Buffer): boolean {
    const s = this.stream;
    return !s || s.write(chunk);
  }

  /** The request's end: END_STREAM on the last DATA, or its trailers. */
  end(trailers: string[] | undefined): void {
    this.stream?.end(trailers);
  }

  /** Keeps a copy of `data` until resumed. */
  hold(data: Buffer): void {
    this.spool.append(this.held, data);
  }

  /** The oldest bytes held, taken; undefined when none are. */
  takeHeld(): Buffer | undefined {
    return this.held.shift();
  }

  /** Whatever is held is dropped (the call is over). */
  dropHeld(): void {
    this.held.length = 0;
    this.spool.reset();
    this.heldEnd = undefined;
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
