// Opening a connection to an upstream host: plain TCP, or TLS per the cluster's UpstreamTlsContext, with the
// connect timeout (TCP and TLS handshake together, as Envoy's connect_timeout) and TCP keepalive.
import { connect as tcpConnect, isIP, Socket } from "node:net";
import { connect as tlsConnect, createSecureContext, type SecureContext, type TLSSocket } from "node:tls";
import { readFileSync } from "node:fs";
import type { DataSource, UpstreamTls } from "./config/types.js";
import { sanAccepted } from "./peer-checks.js";

export interface DialOptions {
  connectTimeoutMs: number;
  keepAliveMs: number | undefined;
  tls: UpstreamTls | undefined;
  /** Counts TLS outcomes, with Envoy's names (`ssl.handshake`, `ssl.fail_verify_error`, `ssl.fail_verify_san`). */
  tlsStats?: { handshake: number; failVerifyError: number; failVerifySan: number; secretsNotReady: number };
}

export type DialFailure = "connect-failure" | "timeout";

function read(d: DataSource): string {
  return d.inline ?? readFileSync(d.filename as string, "utf8");
}

const contexts = new WeakMap<UpstreamTls, SecureContext>();

/** The TLS context of a cluster, built once per config (reads the files). Throws when they don't load. */
export function secureContextFor(tls: UpstreamTls): SecureContext {
  let ctx = contexts.get(tls);
  if (!ctx) {
    ctx = createSecureContext({
      ca: tls.ca ? read(tls.ca) : undefined,
      crl: tls.crl ? read(tls.crl) : undefined,
      cert: tls.cert ? read(tls.cert) : undefined,
      key: tls.key ? read(tls.key) : undefined,
      minVersion: tls.minVersion,
      maxVersion: tls.maxVersion,
    });
    contexts.set(tls, ctx);
  }
  return ctx;
}

/**
 * Connects to host:port. `onReady` is called once: with undefined when the connection (and the TLS handshake, with
 * verification) succeeded, else with the failure; the socket is then destroyed.
 */
export function dial(
  host: string,
  port: number,
  o: DialOptions,
  onReady: (err: DialFailure | undefined) => void,
): Socket {
  let done = false;
  const finish = (err: DialFailure | undefined) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    if (err) socket.destroy();
    onReady(err);
  };
  const tls = o.tls;
  let socket: Socket;
  if (tls?.notReady !== undefined) {
    // Envoy's NotReadySslSocket: without its secret the cluster makes no connection at all.
    if (o.tlsStats) o.tlsStats.secretsNotReady++;
    socket = new Socket();
    queueMicrotask(() => finish("connect-failure"));
  } else if (!tls) {
    socket = tcpConnect({ host, port, noDelay: true });
    socket.once("connect", () => finish(undefined));
  } else {
    const servername = tls.sni ?? (isIP(host) ? undefined : host);
    const t: TLSSocket = tlsConnect({
      host,
      port,
      servername,
      secureContext: secureContextFor(tls),
      ALPNProtocols: tls.alpn.length ? tls.alpn : undefined,
      rejectUnauthorized: false, // verified below, Envoy's way: the chain only against trusted_ca, then the SANs
      checkServerIdentity: () => undefined,
    });
    t.setNoDelay(true);
    t.once("secureConnect", () => {
      const s = o.tlsStats;
      if (tls.ca && !t.authorized) {
        if (s) s.failVerifyError++;
        return finish("connect-failure");
      }
      if (!sanAccepted(tls.sans, t.getPeerCertificate())) {
        if (s) s.failVerifySan++;
        return finish("connect-failure");
      }
      if (s) s.handshake++;
      finish(undefined);
    });
    socket = t;
  }
  if (o.keepAliveMs !== undefined) socket.setKeepAlive(true, o.keepAliveMs);
  const timer = setTimeout(() => finish("timeout"), o.connectTimeoutMs);
  socket.on("error", () => finish("connect-failure"));
  socket.once("close", () => finish("connect-failure"));
  return socket;
}
