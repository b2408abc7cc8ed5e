// gRPC-Web (envoy.filters.http.grpc_web): a browser's gRPC-Web call becomes a gRPC call upstream, and the gRPC
// response a gRPC-Web one, as Envoy's filter does. Istio puts it on the listeners of GRPC-WEB ports (a Gateway
// server's protocol, or a Service port named grpc-web).
// Request: content-type application/grpc-web[-text][+proto] → application/grpc, te: trailers, grpc-accept-encoding
// identity,deflate,gzip when absent; a -text body is base64-decoded (400 when it isn't base64).
// Response: content-type application/grpc-web+proto (-text+proto when the client accepts it, each frame then
// base64-encoded), the trailers as the body's last frame. A response that isn't gRPC (an upstream's 503 page, a
// local reply) becomes grpc-status from its HTTP status and grpc-message from its body (16 KiB at most), no body.
// A request without a gRPC-Web content-type passes untouched, for the cost of one header lookup.
import { TYPE } from "../../xds/types.js";
import { onlyKnown } from "../config/read.js";
import { DelegatingDownstream, type Downstream } from "../downstream.js";
import { headerValue, type ResponseHead } from "../http/head.js";
import { ChunkedScanner } from "../http1/parse.js";
import { Spool } from "../http/spool.js";
import { isGrpc } from "../grpc-timeout.js";
import { grpcStatusOf } from "../local.js";
import { removeHeader, setHeader } from "../router/index.js";
import type { HttpFilterExtension } from "./api.js";
import {
  Base64Decoder,
  FrameBase64,
  GRPC_WEB_TYPES,
  grpcMessage,
  isTextType,
  trailersFrame,
} from "./grpc-web-codec.js";

/** How much of a non-gRPC response's body becomes its grpc-message (Envoy's MAX_BUFFERED_PLAINTEXT_LENGTH). */
const MAX_MESSAGE_BYTES = 16 * 1024;
/** Envoy's answer to a -text body that isn't base64 (a 400, which the response side turns into gRPC's INTERNAL). */
const INVALID_BASE64 = { status: 400, body: "Bad gRPC-web request, invalid base64 data." };
/** What Envoy asks upstream for when the client didn't say (its GrpcAcceptEncodingValues.Default). */
const ACCEPT_ENCODING = "identity,deflate,gzip";

/** The client's side of a gRPC-Web call: what the upstream (or a local reply) answers, turned into gRPC-Web. */
class GrpcWebResponse extends DelegatingDownstream {
  private readonly contentType: string;
  private encoder: FrameBase64 | undefined;
  private dechunk: ChunkedScanner | undefined;
  /** A response that isn't gRPC: its head, and its body so far (up to MAX_MESSAGE_BYTES), until it ends. */
  private held: { head: ResponseHead; headers: string[]; body: Buffer[]; size: number } | undefined;
  private spool: Spool | undefined;

  constructor(
    inner: Downstream,
    private readonly text: boolean,
  ) {
    super(inner);
    this.contentType = text ? "application/grpc-web-text+proto" : "application/grpc-web+proto";
  }

  /** The response's own headers with gRPC-Web's content-type, and without a length (the body changes). */
  private webHeaders(headers: readonly string[]): string[] {
    const h = headers.slice();
    removeHeader(h, "content-length");
    setHeader(h, "content-type", this.contentType);
    return h;
  }

  /** A non-gRPC answer as gRPC-Web: its status as grpc-status, its body as grpc-message, no body (Envoy's). */
  private statusOnly(status: number, headers: readonly string[], body: Buffer): string[] {
    const h = this.webHeaders(headers);
    setHeader(h, "grpc-status", String(grpcStatusOf(status)));
    setHeader(h, "grpc-message", grpcMessage(body.subarray(0, MAX_MESSAGE_BYTES)));
    return h;
  }

  override reply(status: number, headers: string[], body: Buffer | string): void {
    // A gRPC local reply (a fault's grpc_status, a deadline) carries its grpc-status: only the content-type changes.
    if (headerValue(headers, "grpc-status") !== undefined)
      return this.inner.reply(status, this.webHeaders(headers), "");
    const bytes = typeof body === "string" ? Buffer.from(body) : body;
    this.inner.reply(status, this.statusOnly(status, headers, bytes), "");
  }

  override head(head: ResponseHead, headers: string[], _raw: Buffer | undefined): void {
    if (head.chunked) this.dechunk = new ChunkedScanner();
    const grpc =
      headerValue(headers, "grpc-status") !== undefined ||
      (head.status === 200 && isGrpcBody(headerValue(headers, "content-type")));
    if (!grpc) {
      this.held = { head, headers, body: [], size: 0 };
      return;
    }
    if (this.text) this.encoder = new FrameBase64();
    const h = this.webHeaders(headers);
    this.inner.head({ ...head, headers: h, contentLength: -1, chunked: false, unframed: true }, h, undefined);
  }

  override body(chunk: Buffer): boolean {
    if (!this.dechunk) return this.bodyBytes(chunk);
    let ok = true;
    this.dechunk.scan(chunk, 0, chunk.length, (a, b) => (ok = this.bodyBytes(chunk.subarray(a, b)) && ok));
    return ok;
  }

  private bodyBytes(chunk: Buffer): boolean {
    const held = this.held;
    if (held) {
      if (held.size < MAX_MESSAGE_BYTES) {
        const part = chunk.subarray(0, MAX_MESSAGE_BYTES - held.size);
        // Copied into shared stores: an upstream sending a byte per chunk would otherwise cost a Buffer per byte.
        (this.spool ??= new Spool()).append(held.body, part);
        held.size += part.length;
      }
      return true;
    }
    return this.inner.body(this.encoder ? this.encoder.push(chunk) : chunk);
  }

  override end(trailers: string[] | undefined, closeAfter: boolean): void {
    const held = this.held;
    if (held) {
      this.held = undefined;
      const h = this.statusOnly(held.head.status, held.headers, Buffer.concat(held.body));
      h.push("content-length", "0");
      this.inner.head({ ...held.head, headers: h, contentLength: 0, chunked: false, unframed: false }, h, undefined);
      return this.inner.end(undefined, closeAfter);
    }
    if (trailers?.length) {
      const frame = trailersFrame(trailers);
      this.inner.body(this.text ? Buffer.from(frame.toString("base64"), "latin1") : frame);
    }
    this.inner.end(undefined, closeAfter);
  }
}

/** A gRPC response's content-type, or a proto gRPC-Web one (an upstream that speaks gRPC-Web itself). */
function isGrpcBody(contentType: string | undefined): boolean {
  if (isGrpc(contentType)) return true;
  const t = contentType?.split(";")[0]?.trim().toLowerCase();
  return t === "application/grpc-web" || t === "application/grpc-web+proto";
}

export const grpcWebFilter: HttpFilterExtension<undefined> = {
  name: "envoy.filters.http.grpc_web",
  typeUrls: [TYPE.grpcWeb],
  compile(r, o, path) {
    if (o) onlyKnown(r, o, path, [], "GrpcWeb");
    return undefined;
  },
  decodeHeaders(s) {
    const type = s.view.header("content-type");
    if (type === undefined || !GRPC_WEB_TYPES.has(type)) return "continue";
    // Whatever answers from here on (the upstream, a local reply) answers a gRPC-Web client.
    const text = isTextType(s.view.header("accept"));
    s.wrapDownstream((down) => new GrpcWebResponse(down, text));
    // te: trailers goes with every gRPC call upstream (the HTTP/2 codec adds it, h2/upstream.ts).
    s.setRequestHeader("content-type", "application/grpc");
    if (s.view.header("grpc-accept-encoding") === undefined)
      s.setRequestHeader("grpc-accept-encoding", ACCEPT_ENCODING);
    if (isTextType(type) && !s.transformRequestBody(new Base64Decoder(), INVALID_BASE64)) {
      s.respond(INVALID_BASE64.status, ["content-type", "text/plain"], INVALID_BASE64.body);
      return "stop";
    }
    return "continue";
  },
};
