// The TCP proxy network filter: each downstream connection is piped to a host of the (weighted) cluster.
import { CONNECTIONS } from "./shared-counts.js";
import type { Socket } from "node:net";
import { dial } from "./dial.js";
import type { Listener, TcpProxy } from "./config/types.js";
import type { EngineContext } from "./context.js";
import { pickCluster } from "./router/index.js";
import { formatAccessLine } from "./config/access-log.js";

/** What a TCP connection's access log line reads (Envoy's: no request, response code 0). */
interface TcpLog {
  startTime: number;
  cluster: string;
  host: string | undefined;
  flags: string;
  received: number;
  sent: number;
}

function logConnection(ctx: EngineContext, tcp: TcpProxy, down: Socket, l: TcpLog): void {
  const format = tcp.accessLog;
  if (!format) return;
  const durationMs = Date.now() - l.startTime;
  const remoteAddress = down.remoteAddress ?? "";
  const line =
    ctx.accessOut &&
    formatAccessLine(format, {
      head: undefined,
      startTime: l.startTime,
      code: 0,
      flags: l.flags,
      bytesReceived: l.received,
      bytesSent: l.sent,
      durationMs,
      upstreamCluster: l.cluster,
      upstreamHost: l.host,
      remoteAddress,
      routeName: undefined,
    });
  if (line !== undefined) ctx.accessOut?.write(line);
  else
    ctx.log?.info({
      protocol: "TCP",
      response_flags: l.flags,
      bytes_received: l.received,
      bytes_sent: l.sent,
      duration: durationMs,
      upstream_cluster: l.cluster,
      upstream_host: l.host,
      downstream_remote_address: remoteAddress,
    });
}

/** `dst`: where the client meant to connect (interception REDIRECT); an ORIGINAL_DST cluster connects there. */
export function proxyTcp(
  ctx: EngineContext,
  listener: Listener,
  tcp: TcpProxy,
  down: Socket,
  dst?: { address: string; port: number },
): void {
  const startTime = Date.now();
  const name = pickCluster(tcp, ctx.random).name;
  const cluster = ctx.clusters.get(name);
  const inbound = listener.direction === "inbound";
  const host =
    cluster?.config.type === "ORIGINAL_DST" ? dst && cluster.originalHost(dst) : cluster?.pick(undefined, ctx.random);
  const fail = (flags: string) => {
    const s = ctx.stats.tcp({ inbound, cluster: name, peerWorkload: undefined, flags });
    s.opened++;
    s.closed++;
    if (tcp.accessLog)
      logConnection(ctx, tcp, down, { startTime, cluster: name, host: undefined, flags, received: 0, sent: 0 });
    down.destroy();
  };
  if (!cluster) return fail("NC");
  if (!host) return fail("UH");
  if (cluster.usage.total(CONNECTIONS) >= cluster.config.breakers.maxConnections) {
    cluster.counters.upstream_cx_overflow++;
    return fail("UO");
  }
  const series = ctx.stats.tcp({ inbound, cluster: name, peerWorkload: host.endpoint.workload, flags: "-" });
  series.opened++;
  cluster.usage.add(CONNECTIONS, 1);
  host.active++;
  const e = host.endpoint;
  cluster.counters.upstream_cx_total++;
  // Bytes wait (paused) until the connection, and the TLS handshake if the cluster originates TLS, is up.
  down.pause();
  let connected = false;
  const up = dial(e.address, e.port, cluster.dialOptionsFor(host), (err) => {
    connected = !err;
    if (err) {
      cluster.counters.upstream_cx_connect_fail++;
      if (err === "timeout") cluster.counters.upstream_cx_connect_timeout++;
      return close();
    }
    down.pipe(up);
    up.pipe(down);
  });
  down.setNoDelay(true);
  if (tcp.idleTimeoutMs > 0) {
    down.setTimeout(tcp.idleTimeoutMs, () => down.destroy());
    up.setTimeout(tcp.idleTimeoutMs, () => up.destroy());
  }
  down.on("data", (d: Buffer) => (series.received += d.length));
  up.on("data", (d: Buffer) => (series.sent += d.length));
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    cluster.usage.add(CONNECTIONS, -1);
    host.active--;
    series.closed++;
    logConnection(ctx, tcp, down, {
      startTime,
      cluster: name,
      host: host.key,
      flags: connected ? "-" : "UF",
      received: down.bytesRead,
      sent: down.bytesWritten,
    });
    down.destroy();
    up.destroy();
  };
  down.on("error", close);
  up.on("error", close);
  down.on("close", close);
  up.on("close", close);
}
