// The downstream side of one request, whatever its protocol: HTTP/1.1 (a connection answering one request at a
// time) or HTTP/2 (a stream).
import type { Socket } from "node:net";
import type { RequestHead, ResponseHead } from "./http/head.js";
import type { ConnectionInfo } from "./connection.js";
import type { DownstreamPeer } from "./peer.js";
import type { RequestBody } from "./http/body.js";

/** Told when the client goes away (reset, or its connection closed) before the response ended. */
export interface AbortHandler {
  downstreamAborted(): void;
}

export interface Downstream {
  readonly isClosed: boolean;
  /** The connection closes after this response (Connection: close, or draining). */
  readonly closing: boolean;
  readonly protocol: "http/1.1" | "h2";
  /** Who is told when the client goes away before the response ended (the Stream). */
  onAbort(handler: AbortHandler | undefined): void;
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
   * The request is still arriving at request_timeout or stream_idle_timeout (or, HTTP/1.1, its chunked framing turns
   * out malformed) and nothing was answered yet: `handler` answers it (a 408, a 400). Once a response is under way
   * the codec resets the stream (HTTP/1.1: closes the connection) itself.
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

/**
 * A Downstream over another that passes everything on: a wrapper (a filter's encoder, the HCM's server header)
 * overrides what it changes.
 */
export class DelegatingDownstream implements Downstream {
  constructor(protected readonly inner: Downstream) {}
  get isClosed(): boolean {
    return this.inner.isClosed;
  }
  get closing(): boolean {
    return this.inner.closing;
  }
  get protocol(): Downstream["protocol"] {
    return this.inner.protocol;
  }
  onAbort(handler: AbortHandler | undefined): void {
    this.inner.onAbort(handler);
  }
  onDrain(fn: (() => void) | undefined): void {
    this.inner.onDrain(fn);
  }
  reply(status: number, headers: string[], body: Buffer | string): void {
    this.inner.reply(status, headers, body);
  }
  head(head: ResponseHead, headers: string[], raw: Buffer | undefined): void {
    this.inner.head(head, headers, raw);
  }
  body(chunk: Buffer): boolean {
    return this.inner.body(chunk);
  }
  end(trailers: string[] | undefined, closeAfter: boolean): void {
    this.inner.end(trailers, closeAfter);
  }
  reset(): void {
    this.inner.reset();
  }
}

/** Answers a request that failed while still arriving (an object, not a closure per request). */
export interface RequestTimeoutHandler {
  requestTimedOut(counter: string): void;
  /** Its body's framing is malformed (HTTP/1.1 chunked): 400, as Envoy's codec error. */
  requestMalformed(): void;
}

export interface DownstreamRequest {
  head: RequestHead;
  /**
   * The body, decoded, streaming: the request is handed over at the end of its head (HTTP/2's HEADERS), its body
   * ended already when it came whole with it.
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
