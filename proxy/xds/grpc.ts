// A gRPC client as small as the agent needs (gRPC over HTTP/2, PROTOCOL-HTTP2.md): calls on one HTTP/2 connection
// (node:http2), length-prefixed messages both ways, the status from the trailers or a trailers-only response. The
// agent makes two kinds of call, the ADS stream and the CA's CreateCertificate; @grpc/grpc-js, which did them before,
// cost the agent 1.7-3 MB of private memory (bench:memory: 21.1-22.5 -> 19.3 MB idle). Discovery, the server,
// keeps grpc-js.
import {
  connect,
  constants,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from "node:http2";

/** The gRPC status codes this side names (google.rpc.Code). */
export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** A call's end: code 0 (OK) when the server ended it cleanly. */
export interface CallStatus {
  code: number;
  details: string;
}

/** A call that ended with another status than OK (grpc-js's ServiceError has the same code and details). */
export class GrpcError extends Error implements CallStatus {
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(`${code} ${details}`);
  }
}

/** TLS to the server: the roots it is verified against, and the client's certificate for mTLS. */
export interface GrpcTls {
  ca: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** The name the server's certificate is checked for (and the call's :authority), when not the address's host. */
  servername?: string;
}

export interface ChannelOptions {
  tls?: GrpcTls;
  /** A message larger than this ends the call RESOURCE_EXHAUSTED (gRPC's max receive message length). Default 64 MiB. */
  maxMessageBytes?: number;
  /** The HTTP/2 receive window, per stream and for the connection: a large push isn't stalled. Default 16 MiB. */
  windowBytes?: number;
  /**
   * A PING every keepaliveMs; unanswered within keepaliveTimeoutMs, the connection is dropped and its calls end
   * UNAVAILABLE (so the ADS client reconnects). Istio's agent: 30 s and 10 s. The HTTP/2 handshake gets twice the
   * timeout. Without it a server whose host vanished (no FIN, no RST) would leave the stream waiting for hours.
   */
  keepaliveMs?: number;
  keepaliveTimeoutMs?: number;
}

/** HTTP statuses of a response that isn't gRPC, mapped as gRPC's HTTP-to-gRPC status table says. */
function statusOfHttp(status: number): number {
  if (status === 400) return Status.INTERNAL;
  if (status === 401) return Status.UNAUTHENTICATED;
  if (status === 403) return 7; // PERMISSION_DENIED
  if (status === 404) return Status.UNIMPLEMENTED;
  if (status === 429 || status === 502 || status === 503 || status === 504) return Status.UNAVAILABLE;
  return Status.UNKNOWN;
}

/** One call: write() messages, end() the client's side; messages and then the status arrive through the callbacks. */
export class GrpcCall {
  onMessage: (message: Buffer) => void = () => undefined;
  onStatus: (status: CallStatus) => void = () => undefined;
  /** Bytes of messages not yet whole, kept as they came: joined once `need` bytes are here, not on every read. */
  private parts: Buffer[] = [];
  private partsBytes = 0;
  private need = 5;
  private status: CallStatus | undefined;
  private done = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: ClientHttp2Stream | undefined,
    private readonly maxBytes: number,
    deadlineMs: number | undefined,
    failure?: CallStatus,
  ) {
    if (!stream) {
      setImmediate(() => this.finish(failure ?? { code: Status.UNAVAILABLE, details: "no connection" }));
      return;
    }
    if (deadlineMs !== undefined)
      this.timer = setTimeout(() => this.abort(Status.DEADLINE_EXCEEDED, "deadline exceeded"), deadlineMs).unref();
    stream.on("response", (h: IncomingHttpHeaders) => {
      const http = Number(h[":status"]);
      if (h["grpc-status"] !== undefined)
        this.status = statusOf(h); // trailers-only
      else if (http !== 200) this.status = { code: statusOfHttp(http), details: `HTTP status ${http}` };
      else if (!String(h["content-type"] ?? "").startsWith("application/grpc"))
        this.status = { code: Status.UNKNOWN, details: `content-type ${String(h["content-type"])}` };
    });
    stream.on("data", (chunk: Buffer) => this.read(chunk));
    stream.on("trailers", (h: IncomingHttpHeaders) => {
      this.status ??= statusOf(h);
    });
    // The server's side ending ends the call, whether or not this side has ended its own (a stream it still writes
    // to stays half open, and node:http2 would not emit "close").
    stream.on("end", () => {
      this.finish(this.status ?? { code: Status.INTERNAL, details: "the server ended the call without a status" });
      if (!stream.closed) stream.close(constants.NGHTTP2_NO_ERROR);
    });
    stream.on("error", (err: Error) => {
      this.status ??= { code: Status.UNAVAILABLE, details: err.message };
    });
    stream.on("close", () =>
      this.finish(
        this.status ?? {
          code: stream.rstCode === constants.NGHTTP2_CANCEL ? Status.CANCELLED : Status.UNAVAILABLE,
          details: `stream closed without a status (HTTP/2 code ${stream.rstCode ?? 0})`,
        },
      ),
    );
  }

  /** Sends one message (a gRPC frame: not compressed, its length, its bytes). */
  write(message: Uint8Array): void {
    if (this.done || !this.stream || this.stream.closed) return;
    const frame = Buffer.allocUnsafe(5 + message.length);
    frame[0] = 0;
    frame.writeUInt32BE(message.length, 1);
    frame.set(message, 5);
    this.stream.write(frame);
  }

  /** No more messages from this side (a unary call's request is complete). */
  end(): void {
    if (!this.done && this.stream && !this.stream.closed) this.stream.end();
  }

  /** Abandons the call: the status is CANCELLED. */
  cancel(): void {
    this.abort(Status.CANCELLED, "cancelled by the client");
  }

  private abort(code: number, details: string): void {
    if (this.done) return;
    this.status = { code, details };
    if (this.stream && !this.stream.closed) this.stream.close(constants.NGHTTP2_CANCEL);
    else this.finish(this.status);
  }

  /** Splits the bytes into messages (a message may span DATA frames, a frame may hold several). */
  private read(chunk: Buffer): void {
    if (this.status) return;
    // A large message comes in thousands of reads: joining what is held to each one copied it over and over (a
    // 48 MiB push took a minute of CPU).
    this.parts.push(chunk);
    this.partsBytes += chunk.length;
    if (this.partsBytes < this.need) return;
    let buf = this.parts.length === 1 ? chunk : Buffer.concat(this.parts, this.partsBytes);
    this.parts = [];
    this.partsBytes = 0;
    this.need = 5;
    while (buf.length >= 5) {
      const size = buf.readUInt32BE(1);
      if (buf[0] !== 0) return this.abort(Status.INTERNAL, "a compressed message, which this client never asked for");
      if (size > this.maxBytes)
        return this.abort(Status.RESOURCE_EXHAUSTED, `a message of ${size} bytes, over ${this.maxBytes}`);
      if (buf.length < 5 + size) {
        this.need = 5 + size;
        break;
      }
      const message = buf.subarray(5, 5 + size);
      buf = buf.subarray(5 + size);
      this.onMessage(message);
      if (this.done || this.status) return; // the callback cancelled the call
    }
    if (buf.length) {
      this.parts = [buf];
      this.partsBytes = buf.length;
    }
  }

  /** The connection closed under the call (a call still waiting for it gets no event of its own from node:http2). */
  lost(details: string): void {
    if (!this.done) this.finish(this.status ?? { code: Status.UNAVAILABLE, details });
  }

  /** Called once the call has its status (the channel stops tracking it). */
  onDone: () => void = () => undefined;

  private finish(status: CallStatus): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.onDone();
    this.onStatus(status);
  }
}

function statusOf(h: IncomingHttpHeaders): CallStatus {
  const code = Number(h["grpc-status"]);
  let details = String(h["grpc-message"] ?? "");
  try {
    details = decodeURIComponent(details);
  } catch {
    // not percent-encoded after all: as sent
  }
  return Number.isInteger(code) ? { code, details } : { code: Status.UNKNOWN, details: "no grpc-status" };
}

/** Calls to one server over one HTTP/2 connection, opened when a call needs it and again after it closes. */
export class GrpcChannel {
  private session: ClientHttp2Session | undefined;
  /** The calls on each connection not yet ended: told when it closes. */
  private readonly calls = new WeakMap<ClientHttp2Session, Set<GrpcCall>>();
  private readonly window: number;
  private readonly maxBytes: number;

  constructor(
    readonly address: string,
    private readonly opts: ChannelOptions = {},
  ) {
    this.window = opts.windowBytes ?? 16 << 20;
    this.maxBytes = opts.maxMessageBytes ?? 64 << 20;
  }

  /** Starts a call to `path` (/package.Service/Method), with metadata and a deadline if given. */
  call(path: string, o: { metadata?: Record<string, string>; deadlineMs?: number } = {}): GrpcCall {
    const headers: OutgoingHttpHeaders = {
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
      "user-agent": "weft-agent",
      ...o.metadata,
    };
    if (this.opts.tls?.servername) headers[":authority"] = this.opts.tls.servername;
    if (o.deadlineMs !== undefined) headers["grpc-timeout"] = `${Math.max(1, Math.ceil(o.deadlineMs))}m`;
    try {
      const session = this.open();
      const call = new GrpcCall(session.request(headers), this.maxBytes, o.deadlineMs);
      const live = this.calls.get(session);
      live?.add(call);
      call.onDone = () => live?.delete(call);
      return call;
    } catch (err) {
      const details = err instanceof Error ? err.message : String(err);
      return new GrpcCall(undefined, this.maxBytes, undefined, { code: Status.UNAVAILABLE, details });
    }
  }

  /** A unary call: one request, one response; rejects with a GrpcError. */
  unary(path: string, request: Uint8Array, o: { metadata?: Record<string, string>; deadlineMs?: number } = {}) {
    return new Promise<Buffer>((resolve, reject) => {
      const call = this.call(path, o);
      let response: Buffer | undefined;
      call.onMessage = (m) => (response ??= Buffer.from(m));
      call.onStatus = (s) => {
        if (s.code !== Status.OK) reject(new GrpcError(s.code, s.details));
        else if (!response) reject(new GrpcError(Status.INTERNAL, "no response message"));
        else resolve(response);
      };
      call.write(request);
      call.end();
    });
  }

  private ping(s: ClientHttp2Session, timeout: number, dead: () => void): void {
    const late = setTimeout(dead, timeout).unref();
    try {
      if (!s.ping((err) => (err ? dead() : clearTimeout(late)))) dead(); // false: too many pings already in flight
    } catch {
      clearTimeout(late);
      dead();
    }
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
  }

  private open(): ClientHttp2Session {
    const current = this.session;
    if (current && !current.closed && !current.destroyed) return current;
    const tls = this.opts.tls;
    const s = connect(`${tls ? "https" : "http"}://${this.address}`, {
      ...(tls && { ca: tls.ca, cert: tls.cert, key: tls.key, servername: tls.servername, ALPNProtocols: ["h2"] }),
      settings: { initialWindowSize: this.window },
    });
    let why = "the connection closed";
    s.on("error", (err: Error) => (why = err.message)); // and each call reports it as its status
    const live = new Set<GrpcCall>();
    this.calls.set(s, live);
    const timeout = this.opts.keepaliveTimeoutMs ?? 10_000;
    const dead = (why: string) => () => s.destroy(new Error(why));
    let pinging: NodeJS.Timeout | undefined;
    const handshake = setTimeout(dead("no HTTP/2 handshake from the server"), 2 * timeout).unref();
    s.once("remoteSettings", () => clearTimeout(handshake)); // "connect" is only the socket's
    s.once("connect", () => {
      s.setLocalWindowSize(this.window);
      pinging = setInterval(
        () => this.ping(s, timeout, dead("keepalive PING unanswered")),
        this.opts.keepaliveMs ?? 30_000,
      );
      pinging.unref();
    });
    s.once("close", () => {
      clearTimeout(handshake);
      clearInterval(pinging);
      for (const c of [...live]) c.lost(why);
      if (this.session === s) this.session = undefined;
    });
    this.session = s;
    return s;
  }
}
