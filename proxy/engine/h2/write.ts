// Ending an HTTP/2 stream after its last write has completed, not right behind it. Node 20's Writable builds an
// ERR_STREAM_DESTROYED (a formatted message and a stack) whenever a write completes on a stream already destroyed,
// even with no callback to give it to; with write() and end() back to back, nghttp2 sends the data with END_STREAM,
// the stream closes and is destroyed, and then the write completes: one error per response, 13% of the engine's CPU
// under h2load (bench:proxy h2c). Ending from the write's callback costs an empty DATA frame instead.
import type { Http2Stream } from "node:http2";

/** Writes `chunk`, then ends the stream once the write completes (not if it was closed meanwhile). */
export function endAfterWrite(stream: Http2Stream, chunk: Buffer | string): void {
  const out = new StreamWriter(stream);
  out.write(chunk);
  out.end();
}

/**
 * Counts a stream's writes in flight, so that end() waits for them: the same as endAfterWrite for a body written in
 * several chunks.
 */
export class StreamWriter {
  private inFlight = 0;
  private ending = false;
  private readonly written = (): void => {
    if (--this.inFlight === 0 && this.ending) this.endNow();
  };

  constructor(private readonly stream: Http2Stream) {}

  /** stream.write: false when the caller should wait for "drain". */
  write(chunk: Buffer | string): boolean {
    this.inFlight++;
    return this.stream.write(chunk, this.written);
  }

  /** Ends the stream once every write has completed. */
  end(): void {
    this.ending = true;
    if (this.inFlight === 0) this.endNow();
  }

  private endNow(): void {
    if (!this.stream.destroyed) this.stream.end();
  }
}
