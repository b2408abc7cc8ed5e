// A downstream HTTP/1 connection (server.ts) in time: when it opened, when its request started arriving, its last
// byte, since when it has been idle, when this side closed; the HCM's timeouts enforced from them by the listener's
// sweep (checkTimers), drain, and the delayed close.
import type { Socket } from "node:net";
import type { HcmLimits } from "../config/types.js";
import type { RequestTimeoutHandler } from "../downstream.js";
import { ReadBuffer } from "./read-buffer.js";
import type { Tunnel } from "./tunnel.js";
import type { H1RequestBody } from "./request-body.js";

/** Envoy's delayed_close_timeout default: after the proxy closes its side, how long the client has to close its own. */
export const DELAYED_CLOSE_MS = 1000;

/** The HCM counters a connection bumps, by their Envoy names (downstream_rq_header_timeout, …). */
export type CountFn = (name: string) => void;

export abstract class Http1Lifecycle {
  abstract readonly socket: Socket;
  protected abstract readonly limits: HcmLimits;
  protected abstract readonly count: CountFn;
  /** Bytes read and not parsed yet: a head arriving, pipelined requests waiting their turn. */
  protected readonly rb = new ReadBuffer();
  /** The body of the request being answered, while it still arrives: the socket's bytes are its. */
  protected reading: H1RequestBody | undefined;
  /** Answers that request if it times out or turns out malformed while still arriving (the Stream). */
  protected arrivalHandler: RequestTimeoutHandler | undefined;
  protected busy = false;
  protected closeAfter = false;
  private draining = false;
  protected closed = false;
  // Timekeeping (performance.now() ms) for the listener's sweep: see checkTimers().
  private readonly bornAt = performance.now();
  protected reqStartAt = -1;
  protected lastActivity = this.bornAt;
  protected idleSince = this.bornAt;
  protected endedAt = -1;
  protected backpressured = false;
  /** Upgraded (WebSocket): the connection is a byte tunnel to the upstream now. */
  protected tunnel: Tunnel | undefined;
  /** Answers the request arriving with `status` (408, 400, 431), the connection closing after it (server.ts). */
  protected abstract fail(status: number): void;
  abstract reset(): void;

  /**
   * Stop keeping the connection alive: the next response carries Connection: close and the connection closes after
   * it. An idle connection is closed after `idleGraceMs` unless a request comes first (closing it at once would race
   * a client that is sending a request on it right now).
   */
  drain(idleGraceMs = 0): void {
    this.draining = true;
    const closeIfIdle = () => {
      if (!this.busy && !this.rb.bytes && !this.closed) this.close();
    };
    if (idleGraceMs <= 0) closeIfIdle();
    else setTimeout(closeIfIdle, idleGraceMs).unref();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Whether the response being written will be followed by a close. */
  get closing(): boolean {
    return this.closeAfter || this.draining;
  }

  /**
   * Enforces the HCM's timeouts; the listener calls it every few hundred ms for each connection, so the hot path
   * only records times and never arms a timer.
   */
  checkTimers(now: number): void {
    if (this.closed) return;
    const l = this.limits;
    if (this.tunnel) {
      // Envoy's stream_idle_timeout applies to an upgraded stream: no byte either way for that long closes it.
      if (l.streamIdleMs > 0 && now - this.tunnel.lastActivity >= l.streamIdleMs) {
        this.count("downstream_rq_idle_timeout");
        this.tunnel.close();
      }
      return;
    }
    if (this.endedAt >= 0) {
      if (now - this.endedAt >= DELAYED_CLOSE_MS) this.socket.destroy();
      return;
    }
    if (this.reqStartAt >= 0) {
      // A request still arriving: its head (not handed over yet), or its body (handed over or not).
      const counter =
        !this.busy && l.requestHeadersMs > 0 && now - this.reqStartAt >= l.requestHeadersMs
          ? "downstream_rq_header_timeout"
          : l.requestMs > 0 && now - this.reqStartAt >= l.requestMs
            ? "downstream_rq_timeout"
            : l.streamIdleMs > 0 && now - this.lastActivity >= l.streamIdleMs
              ? "downstream_rq_idle_timeout"
              : undefined;
      if (counter) return this.busy ? this.arrivalFailed(counter) : this.timeout(counter);
    } else if (this.busy && this.backpressured && l.streamIdleMs > 0 && now - this.lastActivity >= l.streamIdleMs) {
      // A client that stopped reading the response holds its upstream connection: reset it.
      this.count("downstream_rq_idle_timeout");
      this.reset();
      return;
    } else if (!this.busy && !this.rb.bytes && l.idleMs > 0 && now - this.idleSince >= l.idleMs) {
      this.count("downstream_cx_idle_timeout");
      this.close();
      return;
    }
    if (l.maxConnectionDurationMs > 0 && !this.draining && now - this.bornAt >= l.maxConnectionDurationMs) {
      this.count("downstream_cx_max_duration_reached");
      this.drain(0);
    }
  }

  private timeout(counter: string): void {
    this.count(counter);
    this.fail(408);
  }

  /**
   * A request handed over timed out (`counter`) or turned out malformed (undefined) while its body still arrived: its
   * handler answers 408 or 400 if nothing was answered yet (as Envoy), else the connection is reset.
   */
  protected arrivalFailed(counter: string | undefined): void {
    if (counter) this.count(counter);
    this.closeAfter = true;
    const h = this.arrivalHandler;
    this.arrivalHandler = undefined;
    if (h) {
      if (counter) h.requestTimedOut(counter);
      else h.requestMalformed();
    }
    if (this.busy && !this.closed) this.reset();
  }

  /**
   * Closes our side; the client has DELAYED_CLOSE_MS to close its own before the socket is destroyed. Meanwhile what
   * it sends is read and dropped (a body still arriving is never parsed as a request).
   */
  protected close(): void {
    if (this.endedAt >= 0 || this.closed) return;
    this.endedAt = performance.now();
    this.rb.clear();
    this.reading?.dispose();
    this.reading = this.arrivalHandler = undefined;
    this.reqStartAt = -1;
    this.socket.end();
    if (this.socket.isPaused()) this.socket.resume();
  }
}
