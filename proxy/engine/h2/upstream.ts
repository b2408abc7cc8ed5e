// HTTP/2 upstreams (gRPC): one multiplexed session per host, a stream per request.
import {
  connect,
  constants,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from "node:http2";
import { dechunk } from "../http1/parse.js";
import { headerValue, type ResponseHead } from "../http/head.js";
import { endAfterWrite } from "./write.js";
import type { Exchange, UpstreamLink, UpstreamRequest } from "../link.js";
import { dial, type DialOptions } from "../dial.js";
import { HTTP1_ONLY } from "./fields.js";

/** Headers HTTP/2 allows only once: the last value wins. */
const SINGLE = new Set(["content-type", "grpc-status", "grpc-message", "location", "content-length"]);

export function flatHeaders(h: IncomingHttpHeaders, skipPseudo = true): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || (skipPseudo && k.startsWith(":"))) continue;
    if (Array.isArray(v)) for (const x of v) out.push(k, x);
    else out.push(k, String(v));
  }
  return out;
}

export function toHttp2Headers(headers: readonly string[], into: OutgoingHttpHeaders): OutgoingHttpHeaders {
  for (let i = 0; i < headers.length; i += 2) {
    const k = headers[i] as string;
    if (HTTP1_ONLY.has(k) || k.startsWith(":")) continue;
    const v = headers[i + 1] as string;
    const cur = into[k];
    into[k] = cur === undefined || SINGLE.has(k) ? v : Array.isArray(cur) ? [...cur, v] : [String(cur), v];
  }
  return into;
}

/** A session to one host (h2c, or h2 over the cluster's TLS); closes itself (and reports it) when the peer goes away. */
export function openSession(
  address: string,
  port: number,
  dialOptions: DialOptions,
  onReady: (err: boolean) => void,
  onGone: () => void,
): ClientHttp2Session {
  const tls = dialOptions.tls && {
    ...dialOptions.tls,
    alpn: dialOptions.tls.alpn.length ? dialOptions.tls.alpn : ["h2"],
  };
  const host = address.includes(":") ? `[${address}]` : address;
  let session: ClientHttp2Session | undefined = undefined;
  let ready = false;
  const s = connect(`${tls ? "https" : "http"}://${host}:${port}`, {
    createConnection: () =>
      dial(address, port, { ...dialOptions, tls }, (err) => {
        if (err) session?.destroy(new Error(`connect failed: ${err}`));
      }),
  });
  session = s;
  s.once("connect", () => {
    ready = true;
    onReady(false);
  });
  s.on("error", () => undefined);
  s.once("close", () => {
    if (!ready) onReady(true);
    onGone();
  });
  s.on("goaway", () => s.close());
  return s;
}

/** One request on a session. */
export class H2Link implements UpstreamLink {
  readonly requests = 1;
  private stream: ClientHttp2Stream | undefined;
  private exchange: Exchange | undefined;

  constructor(private readonly session: ClientHttp2Session) {}

  send(req: UpstreamRequest, exchange: Exchange, _noBody: boolean): void {
    this.exchange = exchange;
    const authority = headerValue(req.headers, "host") ?? "";
    const scheme = this.session.encrypted ? "https" : "http";
    const headers = toHttp2Headers(req.headers, {
      ":method": req.method,
      ":path": req.path,
      ":scheme": scheme,
      ":authority": authority,
    });
    const body = req.chunked ? dechunk(req.body) : req.body;
    let stream: ClientHttp2Stream;
    try {
      stream = this.session.request(headers, { endStream: body.length === 0 });
    } catch {
      this.exchange = undefined;
      exchange.onError("reset", false);
      return;
    }
    this.stream = stream;
    let received = false;
    let trailers: string[] | undefined;
    stream.on("response", (h) => {
      received = true;
      const status = Number(h[":status"] ?? 502);
      const cl = h["content-length"];
      const head: ResponseHead = {
        unframed: true,
        status,
        minor: 1,
        headers: flatHeaders(h),
        contentLength: cl === undefined ? -1 : Number(cl),
        chunked: false,
        keepAlive: true,
      };
      this.exchange?.onHead(head, undefined);
    });
    stream.on("data", (d: Buffer) => this.exchange?.onBody(d));
    stream.on("trailers", (t) => (trailers = flatHeaders(t)));
    stream.on("end", () => {
      const ex = this.exchange;
      this.exchange = undefined;
      ex?.onEnd(trailers);
    });
    stream.on("error", () => undefined);
    stream.on("close", () => {
      const ex = this.exchange;
      this.exchange = undefined;
      ex?.onError(stream.rstCode === constants.NGHTTP2_REFUSED_STREAM ? "refused-stream" : "reset", received);
    });
    // Ended once the body's write completes: see endAfterWrite.
    if (body.length) endAfterWrite(stream, body);
  }

  abort(): void {
    this.exchange = undefined;
    this.stream?.close(constants.NGHTTP2_CANCEL);
  }

  discard(): void {
    this.abort(); // a stream is cheap: cancel it rather than read the rest
  }

  pause(): void {
    this.stream?.pause();
  }

  resume(): void {
    this.stream?.resume();
  }
}
