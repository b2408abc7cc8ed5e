// How a cluster talks to its hosts: HttpProtocolOptions (HTTP/1.1 or HTTP/2, idle timeout, requests per
// connection), TCP keepalive, and the transport socket (plaintext or an UpstreamTlsContext). Anything here the
// engine doesn't implement is a ConfigError naming the field: a cluster never silently gets less than it asked for.
import { tlsParams } from "./tls-params.js";
import type { DataSource, SocketMatch, UpstreamTls } from "./types.js";
import { anyType, join, onlyKnown, type Obj, type Reader } from "./read.js";
import { validationContext } from "./validation-context.js";
import { resolveSds, type Secrets } from "./secrets.js";
import { TYPE, typeName } from "../../xds/types.js";

// typed_extension_protocol_options is keyed by the extension name, which for this one is its message name.
export const HTTP_OPTIONS = typeName(TYPE.httpProtocolOptions);
const UPSTREAM_TLS = typeName(TYPE.upstreamTlsContext);
const RAW_BUFFER = "envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer";

/** envoy.config.core.v3.DataSource: a file, or the bytes inline. */
export function dataSource(r: Reader, o: Obj, key: string, path: string): DataSource {
  const sp = join(path, key);
  const d = r.obj(o[key], sp);
  const filename = r.str(d, "filename", sp);
  const inline =
    r.str(d, "inline_string", sp) ??
    (d.inline_bytes !== undefined ? Buffer.from(String(d.inline_bytes), "base64").toString() : undefined);
  if (filename === undefined && inline === undefined)
    r.fail(sp, "one of filename, inline_string or inline_bytes is required");
  return { filename, inline };
}

export interface HttpUpstream {
  http2: boolean;
  /** use_downstream_protocol_config with both codecs: HTTP/2 upstream for HTTP/2 downstreams, else HTTP/1.1. */
  downstreamProtocol: boolean;
  idleTimeoutMs: number;
  maxRequestsPerConnection: number;
  /** common_http_protocol_options.max_connection_duration (0: none). */
  maxConnectionDurationMs: number;
  /** Http2ProtocolOptions.max_concurrent_streams: this side's cap on one connection's streams. */
  maxConcurrentStreams: number;
}

const COMMON = ["idle_timeout", "max_requests_per_connection", "max_connection_duration"] as const;
/** Envoy's default max_concurrent_streams (2^31 - 1): the peer's SETTINGS alone limit a connection. */
const MAX_STREAMS = 2 ** 31 - 1;

function common(r: Reader, o: Obj | undefined, path: string, into: HttpUpstream): void {
  if (!o) return;
  onlyKnown(r, o, path, COMMON, "HttpProtocolOptions.common_http_protocol_options");
  into.idleTimeoutMs = r.duration(o, "idle_timeout", path) ?? into.idleTimeoutMs;
  into.maxRequestsPerConnection = r.num(o, "max_requests_per_connection", path) ?? into.maxRequestsPerConnection;
  if (into.maxRequestsPerConnection < 0) r.fail(join(path, "max_requests_per_connection"), "must be ≥ 0");
  into.maxConnectionDurationMs = r.duration(o, "max_connection_duration", path) ?? into.maxConnectionDurationMs;
}

/**
 * The cluster's HTTP protocol options: `typed_extension_protocol_options[HttpProtocolOptions]` (Envoy's current
 * shape), over the deprecated top-level `common_http_protocol_options`, `max_requests_per_connection` and
 * `http2_protocol_options`.
 */
export function httpUpstream(r: Reader, o: Obj): HttpUpstream {
  const out: HttpUpstream = {
    http2: o.http2_protocol_options !== undefined,
    downstreamProtocol: false,
    idleTimeoutMs: 3_600_000,
    maxRequestsPerConnection: 0,
    maxConnectionDurationMs: 0,
    maxConcurrentStreams: MAX_STREAMS,
  };
  common(r, r.optObj(o, "common_http_protocol_options", ""), "common_http_protocol_options", out);
  out.maxRequestsPerConnection = r.num(o, "max_requests_per_connection", "") ?? out.maxRequestsPerConnection;
  codecOptions(r, o, "", out);
  const typed = r.optObj(o, "typed_extension_protocol_options", "");
  if (!typed) return out;
  for (const key of Object.keys(typed)) {
    if (key !== HTTP_OPTIONS)
      r.fail(join("typed_extension_protocol_options", key), "unsupported protocol options extension");
  }
  const p = join("typed_extension_protocol_options", HTTP_OPTIONS);
  const opts = r.optObj(typed, HTTP_OPTIONS, "typed_extension_protocol_options");
  if (!opts) return out;
  if (anyType(opts) !== undefined && anyType(opts) !== HTTP_OPTIONS)
    r.fail(join(p, "@type"), `expected ${HTTP_OPTIONS}`);
  onlyKnown(
    r,
    opts,
    p,
    ["explicit_http_config", "use_downstream_protocol_config", "common_http_protocol_options"],
    "HttpProtocolOptions",
  );
  common(r, r.optObj(opts, "common_http_protocol_options", p), join(p, "common_http_protocol_options"), out);
  const downstream = r.optObj(opts, "use_downstream_protocol_config", p);
  if (downstream) {
    // Istio's useClientProtocol: each request goes upstream in its client's protocol (of those configured).
    const dp = join(p, "use_downstream_protocol_config");
    onlyKnown(r, downstream, dp, ["http_protocol_options", "http2_protocol_options"], "use_downstream_protocol_config");
    const h1 = downstream.http_protocol_options !== undefined && downstream.http_protocol_options !== null;
    const h2 = downstream.http2_protocol_options !== undefined && downstream.http2_protocol_options !== null;
    if (!h1 && !h2) r.fail(dp, "needs http_protocol_options, http2_protocol_options or both");
    out.http2 = h2 && !h1;
    out.downstreamProtocol = h1 && h2;
    codecOptions(r, downstream, dp, out);
    return out;
  }
  const explicit = r.optObj(opts, "explicit_http_config", p);
  if (!explicit)
    r.fail(
      join(p, "explicit_http_config"),
      "is required (auto_config is not supported: it needs ALPN to every upstream)",
    );
  const ep = join(p, "explicit_http_config");
  onlyKnown(r, explicit, ep, ["http_protocol_options", "http2_protocol_options"], "explicit_http_config");
  out.http2 = explicit.http2_protocol_options !== undefined && explicit.http2_protocol_options !== null;
  codecOptions(r, explicit, ep, out);
  return out;
}

/**
 * Http1ProtocolOptions and Http2ProtocolOptions choose the codec; of their fields only HTTP/2's max_concurrent_streams
 * (Istio's connectionPool.http.maxConcurrentStreams) is taken, the rest refused by name.
 */
function codecOptions(r: Reader, o: Obj, path: string, into: HttpUpstream): void {
  const h1 = r.optObj(o, "http_protocol_options", path);
  if (h1) onlyKnown(r, h1, join(path, "http_protocol_options"), [], "Http1ProtocolOptions");
  const h2 = r.optObj(o, "http2_protocol_options", path);
  if (!h2) return;
  const hp = join(path, "http2_protocol_options");
  onlyKnown(r, h2, hp, ["max_concurrent_streams"], "Http2ProtocolOptions");
  const max = r.num(h2, "max_concurrent_streams", hp);
  if (max === undefined) return;
  if (!Number.isInteger(max) || max < 1 || max > MAX_STREAMS)
    r.fail(join(hp, "max_concurrent_streams"), `must be an integer from 1 to ${MAX_STREAMS}`);
  into.maxConcurrentStreams = max;
}

/** upstream_connection_options.tcp_keepalive → SO_KEEPALIVE's idle time in ms (Linux's 7200 s when unset). */
export function keepAlive(r: Reader, o: Obj): number | undefined {
  const opts = r.optObj(o, "upstream_connection_options", "");
  if (!opts) return undefined;
  const p = "upstream_connection_options";
  onlyKnown(r, opts, p, ["tcp_keepalive"], "upstream_connection_options");
  const ka = r.optObj(opts, "tcp_keepalive", p);
  if (!ka) return undefined;
  const kp = join(p, "tcp_keepalive");
  // Node sets only the idle time: probes and interval stay the kernel's (Linux: 9 probes, 75 s apart).
  const probes = r.num(ka, "keepalive_probes", kp);
  if (probes !== undefined && probes !== 9)
    r.fail(join(kp, "keepalive_probes"), "only the kernel default (9) is supported");
  const interval = r.num(ka, "keepalive_interval", kp);
  if (interval !== undefined && interval !== 75)
    r.fail(join(kp, "keepalive_interval"), "only the kernel default (75) is supported");
  const time = r.num(ka, "keepalive_time", kp) ?? 7200;
  if (!Number.isInteger(time) || time <= 0) r.fail(join(kp, "keepalive_time"), "must be a positive number of seconds");
  return time * 1000;
}

/** The cluster's transport_socket: undefined for plaintext, else the UpstreamTlsContext. */
export function upstreamTls(r: Reader, o: Obj, secrets: Secrets): UpstreamTls | undefined {
  const ts = r.optObj(o, "transport_socket", "");
  return ts ? transportSocket(r, ts, "transport_socket", secrets) : undefined;
}

/**
 * transport_socket_matches, as Envoy picks them per endpoint: the first whose `match` equals (key by key) the
 * endpoint's metadata `envoy.transport_socket_match` (an empty match takes every endpoint); an endpoint no entry
 * takes uses the cluster's transport_socket. Istio's auto mTLS: `tlsMode-istio` then `tlsMode-disabled`.
 */
export function socketMatches(r: Reader, o: Obj, secrets: Secrets): SocketMatch[] {
  return r.list(o, "transport_socket_matches", "").map((m, i) => {
    const p = join("transport_socket_matches", i);
    const mo = r.obj(m, p);
    onlyKnown(r, mo, p, ["name", "match", "transport_socket"], "TransportSocketMatch");
    const name = r.reqStr(mo, "name", p);
    const match = stringMap(r, r.optObj(mo, "match", p) ?? {}, join(p, "match"));
    const ts = r.optObj(mo, "transport_socket", p);
    if (!ts) r.fail(join(p, "transport_socket"), "is required");
    return { name, match, tls: transportSocket(r, ts as Obj, join(p, "transport_socket"), secrets) };
  });
}

/** A metadata Struct of string values (transport socket matching compares strings only). */
export function stringMap(r: Reader, o: Obj, path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) {
    if (typeof v !== "string") r.fail(join(path, k), "only string values are supported");
    out[k] = v;
  }
  return out;
}

/** A transport socket: undefined for plaintext (raw_buffer), else the UpstreamTlsContext. */
function transportSocket(r: Reader, ts: Obj, tsPath: string, secrets: Secrets): UpstreamTls | undefined {
  onlyKnown(r, ts, tsPath, ["name", "typed_config"], "TransportSocket");
  const typed = r.optObj(ts, "typed_config", tsPath);
  const type = anyType(typed);
  if (type === RAW_BUFFER) return undefined;
  const p = join(tsPath, "typed_config");
  if (!typed || type !== UPSTREAM_TLS) {
    return r.fail(
      typed ? join(p, "@type") : tsPath,
      `unsupported transport socket ${JSON.stringify(type ?? r.str(ts, "name", tsPath))} (expected ${UPSTREAM_TLS} or ${RAW_BUFFER})`,
    );
  }
  onlyKnown(r, typed, p, ["sni", "common_tls_context", "max_session_keys"], "UpstreamTlsContext");
  const cp = join(p, "common_tls_context");
  // A secret that hasn't come leaves the cluster not ready (Envoy's warming, past it): connections refused, never
  // made without the certificate or the CA it names.
  let notReady: string | undefined;
  const missing = (name: string) => void (notReady ??= name);
  const c = resolveSds(r, r.optObj(typed, "common_tls_context", p) ?? {}, cp, secrets, missing);
  onlyKnown(r, c, cp, ["tls_certificates", "validation_context", "alpn_protocols", "tls_params"], "common_tls_context");
  const certs = r.list(c, "tls_certificates", cp);
  if (certs.length > 1) r.fail(join(cp, "tls_certificates"), "at most one client certificate is supported");
  let cert: DataSource | undefined;
  let key: DataSource | undefined;
  if (certs.length === 1) {
    const tp = join(cp, "tls_certificates[0]");
    const co = r.obj(certs[0], tp);
    onlyKnown(r, co, tp, ["certificate_chain", "private_key"], "tls_certificates");
    cert = dataSource(r, co, "certificate_chain", tp);
    key = dataSource(r, co, "private_key", tp);
  }
  const vp = join(cp, "validation_context");
  const v = validationContext(r, r.optObj(c, "validation_context", cp), vp, false);
  const params = tlsParams(r, c, cp, false);
  const sni = r.str(typed, "sni", p);
  if (sni !== undefined && sni.length > 255) r.fail(join(p, "sni"), "longer than 255 bytes");
  return {
    sni: sni || undefined,
    ca: v.ca,
    crl: v.crl,
    sans: v.sans,
    cert,
    key,
    alpn: r.list(c, "alpn_protocols", cp).map(String),
    minVersion: params.minVersion,
    maxVersion: params.maxVersion,
    ...(notReady !== undefined ? { notReady } : {}),
  };
}
