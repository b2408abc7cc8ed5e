// The streams of an upstream HTTP/2 connection (client.ts), as their responses come back: HEADERS, DATA and trailers
// checked (§8.1) and handed to each request's Exchange, or held while the engine has paused it; a stream's window
// given back only as its response is taken; a stream that is reset, malformed or refused fails its request.
import { Code, ConnectionError, Flag, Type } from "./frames.js";
import { H2Connection, WINDOW, type Block } from "./connection.js";
import type { H2Stream } from "./stream.js";
import type { ClientCall, ClientStream } from "./call.js";
import { responseHead, validTrailers, type FieldLimits } from "./fields.js";
import type { UpstreamFailure } from "../link.js";

export abstract class H2ClientStreams extends H2Connection {
  protected abstract readonly opts: FieldLimits;
  /** The stream is over: it leaves the connection's bookkeeping (client.ts). */
  protected abstract close(s: H2Stream): void;

  /** The engine takes response bytes again: those held are handed over, and the stream's window reopens. */
  resume(call: ClientCall): void {
    call.paused = false;
    while (!call.paused) {
      const b = call.takeHeld();
      if (!b) break;
      call.exchange?.onBody(b);
    }
    if (call.paused) return;
    const end = call.heldEnd;
    if (end) {
      call.heldEnd = undefined;
      const ex = call.exchange;
      call.exchange = undefined;
      ex?.onEnd(end.trailers);
      return;
    }
    const s = call.stream;
    if (s && !s.closed) this.grantStream(s);
  }

  private grantStream(s: ClientStream): void {
    if (s.recvWindow > WINDOW / 2 || s.remoteEnded) return;
    this.out.u32(Type.WINDOW_UPDATE, s.id, WINDOW - s.recvWindow);
    s.recvWindow = WINDOW;
    this.schedule();
  }

  protected onBlock(b: Block): void {
    const fields = this.decode(b);
    const id = b.stream;
    const s = this.streams.get(id) as ClientStream | undefined;
    if (!s) {
      if (id % 2 === 0 || id > this.lastId) throw new ConnectionError(Code.PROTOCOL_ERROR, "HEADERS on an idle stream");
      return; // a stream this side reset, or that ended: its frames in flight are ignored
    }
    if (s.remoteEnded) return this.streamError(id, Code.STREAM_CLOSED);
    s.answered = true;
    if (s.gotHead) {
      // Trailers: they end the stream and carry no pseudo-header (§8.1).
      if (!b.endStream || !validTrailers(fields, this.opts)) return this.malformed(s);
      return this.ended(s, fields);
    }
    const head = responseHead(fields, this.opts);
    if ("malformed" in head) return this.malformed(s);
    if (head.status < 200) {
      if (b.endStream) return this.malformed(s); // an interim response can't end the stream
      return; // 1xx: informational, not passed on
    }
    s.gotHead = true;
    s.bodiless = s.call.noBody || head.status === 204 || head.status === 304;
    s.declaredLength = head.contentLength;
    // A content-length the response doesn't have is found before the head goes on, when it comes without content.
    if (b.endStream && head.contentLength > 0 && !s.bodiless) return this.malformed(s);
    s.call.exchange?.onHead(
      {
        unframed: true,
        status: head.status,
        minor: 1,
        headers: head.headers,
        contentLength: head.contentLength,
        chunked: false,
        keepAlive: true,
      },
      undefined,
    );
    if (b.endStream && !s.closed) this.ended(s, undefined);
  }

  protected onStreamData(flags: number, id: number, data: Buffer, p: Buffer): void {
    const s = this.streams.get(id) as ClientStream | undefined;
    if (!s) {
      if (id % 2 === 0 || id > this.lastId) throw new ConnectionError(Code.PROTOCOL_ERROR, "DATA on an idle stream");
      return;
    }
    if (s.remoteEnded) return this.streamError(id, Code.STREAM_CLOSED);
    if (!s.gotHead) return this.malformed(s); // DATA before the response's HEADERS
    if (p.length > s.recvWindow) return this.streamError(id, Code.FLOW_CONTROL_ERROR);
    s.recvWindow -= p.length;
    s.lastActivity = this.clock;
    if (data.length) {
      s.received += data.length;
      if ((s.declaredLength >= 0 && s.received > s.declaredLength && !s.bodiless) || (s.bodiless && s.received))
        return this.malformed(s);
      const call = s.call;
      if (call.paused) call.hold(data);
      else call.exchange?.onBody(data);
      if (s.closed) return;
    }
    if (flags & Flag.END_STREAM) return this.ended(s, undefined);
    if (!s.call.paused) this.grantStream(s);
  }

  /** The response ended (END_STREAM): its framing checked, the exchange told (or told once resumed). */
  private ended(s: ClientStream, trailers: string[] | undefined): void {
    s.remoteEnded = true;
    if (s.declaredLength >= 0 && !s.bodiless && s.received !== s.declaredLength) return this.malformed(s);
    const call = s.call;
    if (s.sentEnd) this.close(s);
    else {
      // Answered before the request's body was all sent: the rest isn't wanted (§8.1).
      this.out.u32(Type.RST_STREAM, s.id, Code.NO_ERROR);
      this.close(s);
    }
    if (call.paused) call.heldEnd = { trailers };
    else {
      const ex = call.exchange;
      call.exchange = undefined;
      ex?.onEnd(trailers);
    }
  }

  /** A malformed response (§8.1.1): the stream is reset, and the request fails as a protocol error (a 502). */
  private malformed(s: ClientStream): void {
    this.out.u32(Type.RST_STREAM, s.id, Code.PROTOCOL_ERROR);
    this.failStream(s, "protocol");
  }

  protected onPeerReset(s: H2Stream, code: number): void {
    this.failStream(s as ClientStream, code === Code.REFUSED_STREAM ? "refused-stream" : "reset");
  }

  protected streamError(id: number, code: Code): void {
    const s = this.streams.get(id);
    if (s) return this.resetStream(s, code);
    this.out.u32(Type.RST_STREAM, id, code);
  }

  resetStream(s: H2Stream, code: Code): void {
    if (s.closed) return;
    this.out.u32(Type.RST_STREAM, s.id, code);
    this.failStream(s as ClientStream, code === Code.CANCEL ? "reset" : "protocol");
    this.schedule();
  }

  /** The request's END_STREAM is laid out: the stream closes if the response ended too. */
  protected sent(s: H2Stream): void {
    s.sentEnd = true;
    if (s.remoteEnded) this.close(s);
  }

  protected failStream(s: ClientStream, kind: UpstreamFailure): void {
    if (s.closed) return;
    this.close(s);
    const call = s.call;
    const ex = call.exchange;
    call.exchange = undefined;
    call.dropHeld();
    ex?.onError(kind, s.answered);
  }
}
