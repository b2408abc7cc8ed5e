// One listener at run time: its socket, the connections it accepted, its filter chains (HTTP/1.1, h2c and h2 by
// ALPN, TLS, TCP), its connection limit and timeout sweep, and draining. The Engine keeps one per listener name.
import type { Server, Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { Listener, ListenerTls } from "./config/index.js";
import { DELAYED_CLOSE_MS, Http1Connection } from "./http1/server.js";
import { HCM_COUNTERS, LISTENER_COUNTERS, TLS_INSPECTOR_COUNTERS, type Counters } from "./counters.js";
import { Stream } from "./stream.js";
import { proxyTcp } from "./tcp.js";
import { admits, awaitClientHello, SSL_COUNTERS, tlsTerminator, type TlsTerminator } from "./tls.js";
import { H2Listener } from "./h2/server.js";
import type { DownstreamRequest } from "./downstream.js";
import type { EngineContext } from "./context.js";
import { originalDst, type OriginalDst } from "../native/original-dst.js";
import { connectionOf, describeConnection } from "./connection.js";
import { peerOf } from "./peer.js";
import { checkRbac } from "./rbac/filter.js";
import { chainsOf } from "./config/filters.js";
import { helloStats } from "./client-hello.js";
import { ChainKeys, DEFAULT_CHAIN, NO_CHAIN, SIDES, type Arrival as ChainArrival } from "./chain-keys.js";

interface ChainRuntime {
  h2: H2Listener | undefined;
  tls: TlsTerminator | undefined;
  tlsFor: ListenerTls | undefined;
  /** Original destinations and inspected SNI of connections in the TLS handshake, by client address (peerKey). */
  pending: Map<string, Arrival>;
  serve: (req: DownstreamRequest) => void;
  /** Its HTTP/1 connections, drained when a new config drops the chain and has no successor for it. */
  conns: Set<Http1Connection>;
  /** Its TcpProxy connections, closed after the drain time when a new config drops or changes the chain's kind. */
  tcp: Set<Socket>;
}

/** What is known of a connection before its chain: where it was going, and the SNI the TLS inspector read. */
interface Arrival {
  dst?: OriginalDst;
  sni?: string;
}

/** Sockets whose errors close them: unhandled, a client's reset before any codec took its socket ended the process. */
const guarded = new WeakSet<Socket>();

const peerKey = (s: Socket): string => `${s.remoteAddress ?? ""}|${s.remotePort ?? 0}`;

export class ListenerRuntime {
  readonly conns = new Set<Http1Connection>();
  draining = false;
  private readonly chains = new Map<number, ChainRuntime>();
  /** Which chain a key names in the current config. */
  private readonly keys = new ChainKeys(() => this.current);
  /** Sockets accepted and not yet closed, whatever their protocol (the connection limit counts these). */
  private open = 0;
  private sweep: NodeJS.Timeout | undefined;
  private current: Listener;
  constructor(
    listener: Listener,
    /** Undefined for bind_to_port false: reached only from a use_original_dst listener. */
    readonly server: Server | undefined,
    private readonly ctx: EngineContext,
    private readonly graceMs: number,
    private readonly counters: Counters,
    /** The listener for an original destination (Envoy matches the exact address, then 0.0.0.0). */
    private readonly lookup: (dst: OriginalDst) => ListenerRuntime | undefined,
  ) {
    this.current = listener;
    server?.on("connection", (socket: Socket) => this.accept(socket));
    counters.declare("listener", listener.name, LISTENER_COUNTERS);
    if ([listener, ...(listener.byPort?.values() ?? [])].some((l) => l.byTransport || l.bySni))
      counters.declare("tls_inspector", "", TLS_INSPECTOR_COUNTERS);
    for (const l of [listener, ...(listener.byPort?.values() ?? [])])
      if (l.hcm)
        counters.declare("http", l.hcm.statPrefix, [
          ...HCM_COUNTERS,
          ...l.hcm.filters.flatMap((f) => f.config.extension.statNames?.(f.config.config) ?? []),
        ]);
    this.tick();
  }

  get listener(): Listener {
    return this.current;
  }

  /**
   * A new config for this listener. Requests always take the current config of their connection's chain (a new
   * AuthorizationPolicy holds at once); connections of a chain the config dropped go to its successor, and those
   * without one are drained (their requests get 503 until they close). So are those whose chain changed transport
   * (made TLS, or plaintext): a connection is only ever served by chains of the transport it came in on; and TLS
   * ones whose handshake the chain's new TLS context would refuse (a client certificate now required, SANs or pins).
   * TCP connections so dropped (or whose chain is no longer a TcpProxy) are closed after the drain time.
   */
  set listener(l: Listener) {
    this.current = l;
    for (const [key, c] of this.chains) {
      const next = this.keys.chainListener(key) ?? this.keys.successor(key);
      const foreign = (s: Socket) =>
        !next || !next.tls !== !("encrypted" in s) || (next.tls !== undefined && !admits(next.tls, s as TLSSocket));
      for (const conn of c.conns) if (foreign(conn.socket)) conn.drain(this.graceMs);
      c.h2?.drain(foreign);
      // As Envoy's drained filter chains: their TCP connections closed once the drain time is over.
      for (const s of c.tcp) if (!next?.tcp || foreign(s)) setTimeout(() => s.destroy(), this.graceMs).unref();
    }
  }

  /** Every connection's timeouts, checked a few times per shortest timeout (at most every second). */
  private tick(): void {
    const now = performance.now();
    for (const c of this.conns) c.checkTimers(now);
    let h2 = 0;
    for (const c of this.chains.values()) {
      c.h2?.checkTimers(now);
      h2 += c.h2?.size ?? 0;
    }
    if (this.draining && !this.conns.size && !h2) return;
    const all = [DELAYED_CLOSE_MS];
    for (const l of chainsOf(this.listener)) {
      const h = l.hcm?.limits;
      if (h) all.push(h.requestHeadersMs, h.requestMs, h.streamIdleMs, h.idleMs, h.maxConnectionDurationMs);
    }
    const shortest = Math.min(...all.filter((ms) => ms > 0));
    this.sweep = setTimeout(() => this.tick(), Math.min(1000, Math.max(25, shortest / 4))).unref();
  }

  /**
   * Connections accepted before this listener's whole config (its clusters) is in place: on an adopted socket before
   * the config arrived, or while apply() still binds other listeners. Paused until serveHeld().
   */
  held: { socket: Socket; redirected?: OriginalDst }[] = [];
  private live = false;

  serveHeld(): void {
    this.live = true;
    for (const { socket, redirected } of this.held.splice(0)) {
      this.accept(socket, redirected);
      socket.resume();
    }
  }

  stopSweep(): void {
    if (this.sweep) clearTimeout(this.sweep);
  }

  private chain(key: number): ChainRuntime {
    let c = this.chains.get(key);
    if (!c) {
      const chain: ChainRuntime = {
        h2: undefined,
        tls: undefined,
        tlsFor: undefined,
        pending: new Map(),
        conns: new Set(),
        tcp: new Set(),
        serve: (req: DownstreamRequest) => {
          const l = this.keys.chainListener(key) ?? this.keys.successor(key);
          // A chain of the other transport is not this connection's (set listener): a plaintext request never
          // reaches a chain that now terminates TLS.
          if (l && !l.tls === !req.peer.tls) new Stream(this.ctx, l, req).run();
          else req.down.reply(503, [], "no filter chain\n");
        },
      };
      this.chains.set(key, (c = chain));
    }
    return c;
  }

  accept(socket: Socket, redirected?: OriginalDst): void {
    if (!guarded.has(socket)) guarded.add(socket.on("error", () => socket.destroy()));
    if (!this.live) {
      socket.pause();
      this.held.push({ socket, redirected });
      return;
    }
    const l = this.listener;
    const dst = redirected ?? (l.useOriginalDst || l.byPort ? originalDst(socket) : undefined);
    if (l.useOriginalDst && dst && !redirected) {
      const target = this.lookup(dst);
      if (target && target !== this && !target.draining) return target.accept(socket, dst);
    }
    const limit = l.connectionLimit;
    this.counters.inc("listener", l.name, "downstream_cx_total");
    if (limit && this.open >= limit.max) {
      this.counters.inc("listener", l.name, "downstream_cx_overflow");
      this.counters.inc("connection_limit", limit.statPrefix, "limited_connections");
      socket.destroy();
      return;
    }
    let port = DEFAULT_CHAIN;
    if (l.byPort) {
      const p = dst?.port ?? socket.localPort ?? 0;
      port = l.byPort.has(p) ? p : this.keys.entryFor(DEFAULT_CHAIN) ? DEFAULT_CHAIN : NO_CHAIN;
    }
    const at: ChainArrival = {
      dst: dst?.address ?? socket.localAddress,
      src: socket.remoteAddress,
      srcPort: socket.remotePort,
    };
    const chosen = port === NO_CHAIN ? undefined : this.keys.pick(port, at);
    if (!chosen) return this.noChain(socket);
    this.open++;
    socket.once("close", () => this.open--);
    if (chosen === "inspect") return this.inspect(socket, port, dst, at);
    this.serveChain(socket, chosen.key, chosen.listener, dst);
  }

  /** Closes a connection no chain takes (or, timed out, none could be picked for), counted under the listener. */
  private noChain(socket: Socket, stat = "no_filter_chain_match"): void {
    this.counters.inc("listener", this.listener.name, stat);
    socket.destroy();
  }

  /**
   * tls_inspector: the ClientHello's server name picks the port's chains for it (server_names), then the first bytes
   * pick the plaintext chain, or, for a TLS ClientHello, the TLS chain that matches its ALPN (the first of the
   * client's protocols a chain lists), else the TLS chain without application_protocols; a missing one closes.
   */
  private inspect(socket: Socket, port: number, dst: OriginalDst | undefined, at: ChainArrival): void {
    const ms = this.listener.inspectTimeoutMs; // listener_filters_timeout, as Envoy: then closed, and counted
    const timer = ms > 0 ? setTimeout(() => this.noChain(socket, "downstream_pre_cx_timeout"), ms) : undefined;
    socket.once("close", () => clearTimeout(timer));
    awaitClientHello(socket, (hello, bytes) => {
      clearTimeout(timer);
      for (const stat of helloStats(hello)) this.counters.inc("tls_inspector", "", stat);
      if (hello.kind === "too-large") return void socket.destroy();
      socket.pause();
      socket.unshift(bytes);
      const tls = hello.kind === "tls";
      const picked = this.keys.pick(port, {
        ...at,
        hello: { tls, sni: tls ? hello.sni : undefined, alpn: tls ? hello.alpn : [] },
      });
      if (!picked || picked === "inspect") return this.noChain(socket);
      const { key, listener: chosen } = picked;
      this.serveChain(
        socket,
        key,
        chosen,
        dst,
        hello.kind === "tls" ? hello.sni : undefined,
        hello.kind === "tls" ? hello.alpn : undefined,
      );
      // A TLSSocket takes the bytes already read itself (Node feeds a wrapped socket's buffer to the TLS engine), and
      // the TCP proxy resumes the socket when it pipes it upstream (plaintext, or TLS passed through as bytes); the
      // HTTP codec reads them as the stream flows again.
      if (!chosen.tls && !chosen.tcp) socket.resume();
    });
  }

  /** `sni`, `offered`: the client's server name and ALPN, when its ClientHello was read (tls_inspector). */
  private serveChain(
    socket: Socket,
    key: number,
    chosen: Listener,
    dst?: OriginalDst,
    sni?: string,
    offered?: readonly string[],
  ): void {
    const tls = chosen.tls;
    if (!tls) {
      describeConnection(socket, dst, sni);
      return this.serveSocket(socket, key, chosen, dst);
    }
    const c = this.chain(key);
    if (c.tlsFor !== tls) {
      c.tlsFor = tls;
      this.counters.declare("listener", this.listener.name, SSL_COUNTERS); // at 0 from the chain's first connection
      const pending = c.pending;
      // One terminator serves every connection of the chain: each one's original destination is looked up by its
      // client address (unique among open connections), and the chain as it is once the handshake is done.
      c.tls = tlsTerminator(
        tls,
        (s) => {
          const at = peerKey(s);
          const own = pending.get(at);
          pending.delete(at);
          const now = this.keys.chainListener(key);
          // A config swapped in during the handshake may have made the chain plaintext, or verify clients this
          // handshake (the old context's) didn't: such a connection is not the chain's (as `set listener`).
          if (!now?.tls || !admits(now.tls, s)) return this.noChain(s);
          describeConnection(s, own?.dst, own?.sni);
          // A TcpProxy chain proxies the bytes whatever ALPN was agreed (h2 too), as Envoy's tcp_proxy.
          if (s.alpnProtocol !== "h2" || now.tcp) return this.serveSocket(s, key, now, own?.dst);
          if (this.networkRbacAllows(s, now)) this.takeH2(s, key);
        },
        (stat) => this.counters.inc("listener", this.listener.name, stat),
      );
    }
    if (dst || sni !== undefined) {
      const at = peerKey(socket);
      c.pending.set(at, { dst, sni });
      socket.once("close", () => c.pending.delete(at));
    }
    c.tls?.accept(socket, offered);
  }

  private serveSocket(socket: Socket, key: number, l: Listener, dst: OriginalDst | undefined): void {
    if (!this.networkRbacAllows(socket, l)) return;
    if (l.tcp) {
      const open = this.chain(key).tcp.add(socket);
      socket.once("close", () => open.delete(socket));
      return proxyTcp(this.ctx, l, l.tcp, socket, dst);
    }
    const hcm = l.hcm;
    if (!hcm) return void socket.destroy(); // compile() gives every serving chain an hcm or a tcp
    if (hcm.http2Only) return this.takeH2(socket, key); // the h2 codec checks the preface, and closes on a bad one
    const chain = this.chain(key);
    const c = new Http1Connection(
      socket,
      chain.serve,
      (conn) => {
        this.conns.delete(conn);
        chain.conns.delete(conn);
      },
      {
        limits: hcm.limits,
        server: hcm.server,
        count: (name) => this.counters.inc("http", hcm.statPrefix, name),
        onPreface: (s) => this.takeH2(s, key),
      },
    );
    c.originalDst = dst;
    this.conns.add(c);
    chain.conns.add(c);
    if (this.draining) c.drain(this.graceMs);
  }

  /** The chain's network RBAC filters (counted under `listener.<name>.<stat_prefix>rbac.*`); a denied connection is closed. */
  private networkRbacAllows(socket: Socket, l: Listener): boolean {
    if (!l.networkRbac.length) return true;
    const conn = connectionOf(socket);
    const peer = peerOf(socket);
    for (const n of l.networkRbac) {
      if (!checkRbac(n.rbac, undefined, conn, peer, this.counters, "listener", this.listener.name)) {
        socket.destroy();
        return false;
      }
    }
    return true;
  }

  /** HTTP/2 on this listener: h2c with prior knowledge, or h2 chosen by ALPN. */
  takeH2(socket: Socket, key = DEFAULT_CHAIN * SIDES): void {
    const c = this.chain(key);
    const hcm = this.keys.chainListener(key)?.hcm;
    c.h2 ??= new H2Listener(c.serve, {
      maxConcurrentStreams: hcm?.maxConcurrentStreams,
      maxHeadBytes: hcm?.limits.maxHeadBytes,
      maxHeaders: hcm?.limits.maxHeaders,
      limits: hcm?.limits,
      countHttp: (name) => this.counters.inc("http", hcm?.statPrefix ?? this.listener.name, name),
      count: this.ctx.h2Counters.for(hcm?.statPrefix ?? this.listener.name),
    });
    c.h2.take(socket);
    if (this.draining) c.h2.drain();
  }
  get port(): number {
    const a = this.server?.address();
    return a && typeof a === "object" ? a.port : 0;
  }
  drain(): void {
    this.draining = true;
    this.server?.close();
    for (const c of this.conns) c.drain(this.graceMs);
    for (const c of this.chains.values()) c.h2?.drain();
  }
}
