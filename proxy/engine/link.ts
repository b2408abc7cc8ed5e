// The contract between a request (Stream) and an upstream connection, HTTP/1.1 or HTTP/2.
import type { Socket } from "node:net";
import type { ResponseHead } from "./http/head.js";
import type { RequestBody } from "./http/body.js";

/** How an attempt failed before its response: refused-stream is HTTP/2's REFUSED_STREAM, a reset safe to retry. */
export type UpstreamFailure = "connect-failure" | "reset" | "refused-stream" | "protocol";

/** What an upstream connection reports about the one exchange it carries for a request. */
export interface Exchange {
  /** The response head arrived. `raw`: the head's HTTP/1.1 bytes (CRLFCRLF included), when it came as such. */
  onHead(head: ResponseHead, raw: Buffer | undefined): void;
  onBody(chunk: Buffer): void;
  /** The response is complete, with its trailers if any (HTTP/2). */
  onEnd(trailers?: string[]): void;
  /** The connection failed before the response completed. `received` tells if any response byte came. */
  onError(kind: UpstreamFailure, received: boolean): void;
  /**
   * A WebSocket upgrade request was answered 101 (HTTP/1.1 only): the upstream socket is the exchange's now, with
   * `rest`, the bytes that came after the 101 head. Absent: a 101 is a protocol error.
   */
  onUpgrade?(head: ResponseHead, raw: Buffer, rest: Buffer | undefined, socket: Socket): void;
}

export interface UpstreamRequest {
  method: string;
  path: string;
  /** Lower-case names, host included, hop-by-hop headers excluded. */
  headers: string[];
  /**
   * The body, decoded (never the client's framing), framed anew by the upstream codec: ended when sent, in one write
   * with its content-length, as it always was for HTTP/1.1 clients; else streamed (body.pipe) as it arrives.
   */
  body: RequestBody;
  /**
   * HTTP/1.1 framing for a body still arriving with no declared length: `transfer-encoding: chunked` (decided once
   * when the head is built, so a retry sends the same head). Ignored by HTTP/2.
   */
  chunked: boolean;
  /** A WebSocket upgrade (Upgrade and Connection kept): sent on a connection of its own, never pooled after. */
  upgrade?: boolean;
  /** The serialized HTTP/1.1 head, built once and reused by retries. */
  h1?: Buffer;
}

/** One request's use of an upstream connection (or of an HTTP/2 stream on a shared session). */
export interface UpstreamLink {
  /** Requests this connection has carried, this one included. */
  readonly requests: number;
  send(req: UpstreamRequest, exchange: Exchange, noBody: boolean): void;
  /** Abandon the exchange; the connection (or stream) is not reused. */
  abort(): void;
  /** Drop the rest of the response but keep the connection for reuse (a retry after a 5xx head). */
  discard(): void;
  /**
   * The client went away: reuse the connection if the rest of the response can be drained cheaply, else close it.
   * Absent: same as abort().
   */
  abandon?(): void;
  pause(): void;
  resume(): void;
}

export const DISCARD: Exchange = {
  onHead: () => undefined,
  onBody: () => undefined,
  onEnd: () => undefined,
  onError: () => undefined,
};
