// An HTTP/2 request's body (http/body.ts) tied to its stream's flow control: the stream's window is given back only
// as the upstream takes bytes, and the connection counts what its streams hold (session.ts).
import { RequestBody } from "../http/body.js";
import type { H2Stream } from "./stream.js";

/** What the session does with a body's bytes. */
export interface BodyOwner {
  /** `n` bytes of `s`'s body were taken by its upstream for the first time: the client may send as many more. */
  bodyConsumed(s: H2Stream, n: number): void;
  /** Bytes now held (+) or let go (−) by the connection's bodies. */
  bodyHeld(n: number): void;
}

export class H2RequestBody extends RequestBody {
  constructor(
    private readonly owner: BodyOwner,
    private readonly stream: H2Stream,
  ) {
    super();
  }

  protected override consumed(n: number): void {
    this.owner.bodyConsumed(this.stream, n);
  }

  protected override arrived(n: number): void {
    this.owner.bodyHeld(n);
  }

  protected override released(n: number): void {
    this.owner.bodyHeld(-n);
  }
}
