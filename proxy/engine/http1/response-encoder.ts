// An upstream's response toward an HTTP/1.x client: its head (forwarded as received when unedited, else serialised
// with the connection's own framing) held until the first body bytes so both leave in one write, then its body as
// the upstream framed it, chunk-encoded when it had no framing of its own (an HTTP/2 upstream's), or de-chunked for
// an HTTP/1.0 client, which can't take chunked.
import type { ResponseHead } from "../http/head.js";
import { ChunkedScanner, encodeChunk } from "./parse.js";
import { joinAfter, serializeHead } from "./head-bytes.js";

export class ResponseEncoder {
  private pendingHead: Buffer | undefined;
  private chunkEncode = false;
  /** Decodes a chunked upstream body for an HTTP/1.0 client. */
  private decoder: ChunkedScanner | undefined;

  /** `write`: to the client's socket; false when it is backed up. */
  constructor(private readonly write: (data: Buffer | string) => boolean) {}

  /**
   * The head waits for the first body bytes so both leave in one write; when the upstream sent them in one read
   * (the common case), that write is a single slice of the bytes received, copied nowhere. `old`: an HTTP/1.0
   * client; `closing`: the connection closes after this response.
   */
  head(
    statusLine: string,
    head: ResponseHead,
    headers: string[],
    raw: Buffer | undefined,
    old: boolean,
    closing: boolean,
  ): void {
    const bodyless = head.status === 204 || head.status === 304;
    this.chunkEncode = !old && head.unframed === true && head.contentLength < 0 && !bodyless;
    this.decoder = old && head.chunked ? new ChunkedScanner() : undefined;
    if (raw && !closing) {
      this.pendingHead = raw;
      return;
    }
    const h = headers.slice();
    for (let i = h.length - 2; i >= 0; i -= 2) {
      const n = h[i];
      if (n === "connection" || n === "keep-alive" || ((head.unframed || old) && n === "transfer-encoding"))
        h.splice(i, 2);
    }
    if (this.chunkEncode) h.push("transfer-encoding", "chunked");
    if (closing) h.push("connection", "close");
    this.pendingHead = serializeHead(statusLine, h);
  }

  body(chunk: Buffer): boolean {
    const head = this.pendingHead;
    if (head) {
      this.pendingHead = undefined;
      if (!this.chunkEncode && !this.decoder) {
        if (head.buffer === chunk.buffer && head.byteOffset + head.length === chunk.byteOffset) {
          return this.write(Buffer.from(head.buffer, head.byteOffset, head.length + chunk.length));
        }
        if (chunk.length <= 16 * 1024) return this.write(joinAfter(head, chunk) ?? Buffer.concat([head, chunk]));
        this.write(head);
        return this.write(chunk);
      }
      this.write(head);
    }
    if (this.decoder) {
      let ok = true;
      this.decoder.scan(chunk, 0, chunk.length, (a, b) => (ok = this.write(chunk.subarray(a, b))));
      return ok;
    }
    if (!this.chunkEncode) return this.write(chunk);
    let ok = true;
    for (const part of encodeChunk(chunk)) ok = this.write(part);
    return ok;
  }

  /** The response is complete: the head if still held, the last chunk and trailers when chunk-encoding. */
  end(trailers: string[] | undefined): void {
    if (this.pendingHead) {
      this.write(this.pendingHead);
      this.pendingHead = undefined;
    }
    if (this.chunkEncode) {
      this.chunkEncode = false;
      this.write(serializeHead("0", trailers ?? []));
    }
    this.decoder = undefined;
  }

  /** The response is abandoned (a reset, an upgrade): nothing held goes out. */
  drop(): void {
    this.pendingHead = undefined;
  }
}
