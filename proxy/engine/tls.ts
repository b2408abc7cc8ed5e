// TLS termination for listeners: a tls.Server that is never bound, fed accepted sockets (which may come from a
// listening socket the agent handed over), so Node does the handshake and ALPN as for any TLS server. With a
// validation context (trusted_ca) client certificates are asked for and verified: mTLS. A client that presents a
// certificate the CA didn't sign is refused, required or not (as Envoy does); one without a certificate is refused
// only under require_client_certificate. A verified certificate must then have a SAN the matchers accept and, when
// pins are given, a pinned hash or public key, else the connection is closed before a byte is read (as Envoy).
import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Socket } from "node:net";
import { createSecureContext, createServer, type Server, type TLSSocket } from "node:tls";
import type { DataSource, ListenerTls } from "./config/types.js";
import type { TlsVersion } from "./config/tls-params.js";
import { ClientHelloReader, type Hello } from "./client-hello.js";
import { pinAccepted, sanAccepted } from "./peer-checks.js";

/** Envoy's listener counters of client certificates refused after their chain verified (`listener.<name>.ssl.*`). */
export const SSL_COUNTERS = ["ssl.fail_verify_san", "ssl.fail_verify_cert_hash"] as const;
export type SslCounter = (typeof SSL_COUNTERS)[number];

/** How long a client may take to send its ClientHello here: Node's TLS handshakeTimeout, the bound it had before. */
const HELLO_TIMEOUT_MS = 120_000;

/**
 * Gives `done` a connection's ClientHello verdict once its first bytes make one (read as they come, each byte once, as
 * the TLS inspector reads them), with the bytes read, which the caller gives back to the socket.
 */
export function awaitClientHello(
  socket: Socket,
  done: (hello: Exclude<Hello, { kind: "more" }>, bytes: Buffer) => void,
): void {
  const reader = new ClientHelloReader();
  const onData = (chunk: Buffer) => {
    const hello = reader.push(chunk);
    if (hello.kind === "more") return;
    socket.off("data", onData);
    done(hello, reader.bytes);
  };
  socket.on("data", onData);
}

/** The ALPN a connection's ClientHello offers (undefined: not a ClientHello), the socket then paused with the bytes
 * put back for the TLS server; a client silent that long is closed. */
function offeredAlpn(socket: Socket, done: (alpn: string[] | undefined) => void): void {
  const timer = setTimeout(() => socket.destroy(), HELLO_TIMEOUT_MS);
  socket.once("close", () => clearTimeout(timer));
  awaitClientHello(socket, (hello, bytes) => {
    clearTimeout(timer);
    socket.pause();
    socket.unshift(bytes);
    done(hello.kind === "tls" ? hello.alpn : undefined);
  });
}

function read(d: DataSource): string {
  return d.inline ?? readFileSync(d.filename as string, "utf8");
}

/** The certificates and keys as Node's lists: with several, OpenSSL presents the one the client's signature
 * algorithms allow, ECDSA before RSA (as Envoy's server contexts choose). */
const pairs = (tls: ListenerTls) => ({
  cert: tls.certificates.map((c) => read(c.certificateChain)),
  key: tls.certificates.map((c) => read(c.privateKey)),
});

/** Several certificates are one RSA and one ECDSA: OpenSSL keeps one a key type (a second would replace the first),
 * and Envoy picks among certificates of one type by SNI, which isn't done here. */
function checkKeyTypes(certs: string[]): void {
  if (certs.length < 2) return;
  const seen = new Set<string>();
  for (const pem of certs) {
    const type = new X509Certificate(pem).publicKey.asymmetricKeyType ?? "unknown";
    const name = type === "rsa" ? "RSA" : type === "ec" ? "ECDSA" : undefined;
    if (!name) throw new Error(`with several certificates each is RSA or ECDSA, not ${type}`);
    if (seen.has(name))
      throw new Error(
        `at most one certificate of a given type may be specified (two ${name}; several of one type, chosen by SNI, are not supported)`,
      );
    seen.add(name);
  }
}

/** Reads the certificates, keys and CA and checks that they are usable; throws when they aren't. */
export function checkTls(tls: ListenerTls): void {
  const { cert, key } = pairs(tls);
  checkKeyTypes(cert);
  createSecureContext({
    cert,
    key,
    ca: tls.ca && read(tls.ca),
    crl: tls.crl && read(tls.crl),
    ...params(tls),
  });
}

/** tls_params as Node's options. */
function params(tls: ListenerTls): { minVersion?: TlsVersion; maxVersion?: TlsVersion; ciphers?: string } {
  return {
    ...(tls.minVersion ? { minVersion: tls.minVersion } : {}),
    ...(tls.maxVersion ? { maxVersion: tls.maxVersion } : {}),
    ...(tls.ciphers ? { ciphers: tls.ciphers } : {}),
  };
}

/** The client sent a certificate (Node gives an empty object when it sent none). */
const presented = (socket: TLSSocket): boolean => Object.keys(socket.getPeerCertificate()).length > 0;

/**
 * Whether a chain's TLS context would admit a connection that already made its handshake under another: with its
 * certificate verified (or none asked) as that handshake found, against this context's requirement, SANs and pins.
 * (A connection verified against another CA is taken as verified.)
 */
export function admits(tls: ListenerTls, socket: TLSSocket): boolean {
  if (!tls.ca) return true;
  if (!socket.authorized) return !tls.requireClientCert && !presented(socket);
  if (tls.sans.length && !sanAccepted(tls.sans, socket.getPeerCertificate())) return false;
  if (!tls.hashes.length && !tls.spki.length) return true;
  const cert = socket.getPeerX509Certificate();
  return !!cert && pinAccepted(tls.hashes, tls.spki, cert);
}

/** A chain's TLS termination: accepted sockets handed over, with the client's ALPN when its ClientHello was read. */
export interface TlsTerminator {
  accept(socket: Socket, offered?: readonly string[]): void;
}

/**
 * As Envoy's alpnSelectCallback (SSL_TLSEXT_ERR_NOACK): a client that offers ALPN but none of the chain's protocols is
 * served without ALPN (HTTP/1.1), where Node's ALPNProtocols would fail its handshake (no_application_protocol); so a
 * mesh client offering `istio-peer-exchange`, `istio` reaches a gateway's `h2`, `http/1.1` server, as with Envoy.
 */
export function tlsTerminator(
  tls: ListenerTls,
  onSecure: (socket: TLSSocket) => void,
  count: (stat: SslCounter) => void = () => {},
): TlsTerminator {
  const checks = tls.sans.length > 0 || tls.hashes.length > 0 || tls.spki.length > 0;
  const make = (alpn: string[] | undefined): Server => {
    const server = createServer({
      ...pairs(tls),
      ...(alpn ? { ALPNProtocols: alpn } : {}),
      ...params(tls),
      // With a trusted CA the client's certificate is asked for and verified (TLSSocket.authorized, the peer's
      // principal); require_client_certificate makes a client without a valid one fail the handshake.
      ...(tls.ca ? { ca: read(tls.ca), requestCert: true, rejectUnauthorized: tls.requireClientCert } : {}),
      ...(tls.crl ? { crl: read(tls.crl) } : {}),
    });
    server.on("secureConnection", (socket: TLSSocket) => {
      // As Envoy: a certificate the client presents is verified, required or not (OPTIONAL_MUTUAL's
      // require_client_certificate false); one the CA didn't sign ends the connection before a byte is read.
      // (An authorized socket presented one; the certificate is read only when there is something to check, as
      // building it costs tens of µs on every mesh mTLS connection.)
      if (tls.ca && !socket.authorized && presented(socket)) return void socket.destroy();
      if (socket.authorized && checks) {
        // Then as Envoy's DefaultCertValidator: the SANs (fail_verify_san), then the pins (fail_verify_cert_hash).
        if (!sanAccepted(tls.sans, socket.getPeerCertificate())) return refuse(socket, "ssl.fail_verify_san");
        const cert = socket.getPeerX509Certificate();
        if (!cert || !pinAccepted(tls.hashes, tls.spki, cert)) return refuse(socket, "ssl.fail_verify_cert_hash");
      }
      onSecure(socket);
    });
    server.on("tlsClientError", (_err, socket) => socket.destroy());
    return server;
  };
  const refuse = (socket: TLSSocket, stat: SslCounter) => {
    count(stat);
    socket.destroy();
  };
  const withAlpn = make(tls.alpn);
  let withoutAlpn: Server | undefined;
  const hand = (socket: Socket, offered: readonly string[] | undefined) => {
    const none = tls.alpn.length > 0 && !!offered?.length && !offered.some((p) => tls.alpn.includes(p));
    (none ? (withoutAlpn ??= make(undefined)) : withAlpn).emit("connection", socket);
  };
  return {
    accept(socket, offered) {
      if (offered || !tls.alpn.length) return hand(socket, offered);
      // No TLS inspector read the ClientHello: its ALPN is read here, as the inspector reads it.
      offeredAlpn(socket, (alpn) => hand(socket, alpn));
    },
  };
}
