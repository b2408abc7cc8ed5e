// The TCP proxy network filter: each downstream connection is piped to a host of the (weighted) cluster.
import { connect, type Socket } from "node:net";
import type { Listener, TcpProxy } from "./config/types.js";
import type { EngineContext } from "./context.js";
import { pickCluster } from "./router/index.js";

export function proxyTcp(ctx: EngineContext, listener: Listener, tcp: TcpProxy, down: Socket): void {
  const name = pickCluster(tcp, ctx.random).name;
  const cluster = ctx.clusters.get(name);
  const inbound = listener.direction === "inbound";
  const host = cluster?.pick(undefined, ctx.random);
  const fail = (flags: string) => {
    const s = ctx.stats.tcp({ inbound, cluster: name, peerWorkload: undefined, flags });
    s.opened++;
    s.closed++;
    down.destroy();
  };
  if (!cluster) return fail("NC");
  if (!host) return fail("UH");
  if (cluster.connections >= cluster.config.breakers.maxConnections) return fail("UO");
  const series = ctx.stats.tcp({ inbound, cluster: name, peerWorkload: host.endpoint.workload, flags: "-" });
  series.opened++;
  cluster.connections++;
  host.active++;
  const e = host.endpoint;
  const up = connect({ host: e.address, port: e.port, noDelay: true });
  const timer = setTimeout(() => up.destroy(), cluster.config.connectTimeoutMs);
  up.once("connect", () => clearTimeout(timer));
  down.setNoDelay(true);
  if (tcp.idleTimeoutMs > 0) {
    down.setTimeout(tcp.idleTimeoutMs, () => down.destroy());
    up.setTimeout(tcp.idleTimeoutMs, () => up.destroy());
  }
  down.on("data", (d: Buffer) => (series.received += d.length));
  up.on("data", (d: Buffer) => (series.sent += d.length));
  down.pipe(up);
  up.pipe(down);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    cluster.connections--;
    host.active--;
    series.closed++;
    down.destroy();
    up.destroy();
  };
  down.on("error", close);
  up.on("error", close);
  down.on("close", close);
  up.on("close", close);
}
