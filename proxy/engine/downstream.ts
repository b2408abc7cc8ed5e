// The downstream side of one request, whatever its protocol: HTTP/1.1 (a connection answering one request at a
// time) or HTTP/2 (a stream).
import type { Socket } from "node:net";
import type { RequestHead, ResponseHead } from "./http/head.js";
import type { ConnectionInfo } from "./connection.js";
import type { DownstreamPeer } from "./peer.js";
import type { RequestBody } from "./http/body.js";

export interface Downstream {
  readonly isClosed: boolean;
  /** The connection closes after this response (Connection: close, or draining). */
  readonly closing: boolean;
  readonly protocol: "http/1.1" | "h2";
  onAbort(fn: (() => void) | undefined): void;
  onDrain(fn: (() => void) | undefined): void;
  /** A complete local response. */
  reply(status: number, headers: string[], body: Buffer | string): void;
  /**
   * The upstream's response head with (possibly edited) headers. `raw`: the upstream's HTTP/1.1 head bytes, given
   * only when the headers are unedited, so they can be forwarded as they are.
   */
  head(head: ResponseHead, headers: string[], raw: Buffer | undefined): void;
  /** Body bytes as the upstream framed them (chunked if head.chunked). False: the peer is slow, wait for onDrain. */
  body(chunk: Buffer): boolean;
  /** The response is complete; HTTP/2 (and chunked HTTP/1.1) carry the trailers. */
  end(trailers: string[] | undefined, closeAfter: boolean): void;
  /**
   * HTTP/2 only: the request is still arriving at request_timeout or stream_idle_timeout and nothing was answered
   * yet: `fn` answers it (a 408). Once a response is under way the codec resets the stream itself.
   */
  onRequestTimeout?(handler: RequestTimeoutHandler | undefined): void;
  /** Abandon the response mid-way. */
  reset(): void;
  /**
   * HTTP/1.1 only: sends the upstream's 101 head (`headers`, Upgrade and Connection included), then tunnels bytes
   * between the client and `upstream` (`rest`: upstream bytes after the 101) until either closes.
   */
  upgrade?(
    headers: string[],
    upstream: Socket,
    rest: Buffer | undefined,
    onEnd: (toClient: number, toUpstream: number) => void,
  ): void;
}

/** Answers a request that timed out while still arriving (an object, not a closure per request). */
export interface RequestTimeoutHandler {
  requestTimedOut(counter: string): void;
}

export interface DownstreamRequest {
  head: RequestHead;
  /**
   * The body, decoded: HTTP/2 streams it (the request is handed over at the end of its HEADERS); HTTP/1.1 hands over
   * one already ended (it buffers bodies up to MAX_BODY_BYTES).
   */
  body: RequestBody;
  remoteAddress: string;
  /** The connection's addresses, SNI and verified peer identity (mTLS). */
  connection: ConnectionInfo;
  /** The connection's destination before interception redirected it (HTTP/1.1 only). */
  originalDst?: { address: string; port: number };
  /** The connection's TLS-ness and peer principal (RBAC's `source.principal`, `connection.mtls`). */
  peer: DownstreamPeer;
  down: Downstream;
}
