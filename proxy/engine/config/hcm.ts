// The HttpConnectionManager's own fields (timeouts, head limits, path normalisation), and the connection_limit
// network filter. A field the engine doesn't implement is a NACK naming it, never ignored.
import { TYPE, typeName } from "../../xds/types.js";
import type { HcmLimits } from "./types.js";
import type { Forwarding } from "../http/forwarded.js";
import { anyType, join, onlyKnown, wireString, type Obj, type Reader } from "./read.js";
import { websocketUpgrade } from "./upgrade.js";
import { DEFAULT_SERVER_HEADER, SERVER_HEADER_MODES, type ServerHeader } from "../server-header.js";
import { FORWARD_CLIENT_CERT_MODES, NO_XFCC_DETAILS, type XfccDetails, type XfccMode } from "../xfcc.js";

/** Every HCM field the engine implements (the others are refused). */
const KNOWN = [
  "@type",
  "stat_prefix",
  "route_config",
  "rds",
  "http_filters",
  "strip_any_host_port",
  "strip_matching_host_port",
  "generate_request_id",
  "access_log",
  "codec_type",
  "request_headers_timeout",
  "request_timeout",
  "stream_idle_timeout",
  "common_http_protocol_options",
  "max_request_headers_kb",
  "normalize_path",
  "merge_slashes",
  "path_with_escaped_slashes_action",
  "tracing",
  "http2_protocol_options",
  "forward_client_cert_details",
  "set_current_client_cert_details",
  "upgrade_configs",
  "use_remote_address",
  "xff_num_trusted_hops",
  "skip_xff_append",
  "append_x_forwarded_port",
  "server_name",
  "server_header_transformation",
];

export type { XfccMode };
const KNOWN_COMMON = [
  "idle_timeout",
  "max_connection_duration",
  "max_headers_count",
  "headers_with_underscores_action",
];

export interface HcmOptions {
  limits: HcmLimits;
  maxConcurrentStreams: number;
  /** codec_type HTTP2: the listener speaks only HTTP/2 (h2c with prior knowledge); AUTO also takes HTTP/1.1. */
  http2Only: boolean;
  normalizePath: boolean;
  mergeSlashes: boolean;
  /** forward_client_cert_details: what becomes of x-forwarded-client-cert (Envoy's default: SANITIZE). */
  xfcc: XfccMode;
  /** set_current_client_cert_details: what this hop's element says of the client certificate. */
  xfccDetails: XfccDetails;
  /** upgrade_configs: WebSocket upgrades (HTTP/1.1) are tunnelled to the upstream. */
  websocket: boolean;
  /** use_remote_address, xff_num_trusted_hops, skip_xff_append: who the client is (http/forwarded.ts). */
  forwarding: Forwarding;
  /** server_name, server_header_transformation: the `server` header of every response (server-header.ts). */
  server: ServerHeader;
}

/** set_current_client_cert_details: the facts of the client certificate this hop's XFCC element carries. */
function xfccDetails(r: Reader, hcm: Obj, hp: string): XfccDetails {
  const set = r.optObj(hcm, "set_current_client_cert_details", hp);
  if (!set) return NO_XFCC_DETAILS;
  const sp = join(hp, "set_current_client_cert_details");
  onlyKnown(r, set, sp, ["subject", "cert", "chain", "dns", "uri"], "SetCurrentClientCertDetails");
  return Object.freeze({
    subject: r.bool(set, "subject", sp) ?? false,
    cert: r.bool(set, "cert", sp) ?? false,
    chain: r.bool(set, "chain", sp) ?? false,
    dns: r.bool(set, "dns", sp) ?? false,
    uri: r.bool(set, "uri", sp) ?? false,
  });
}

export function hcmOptions(r: Reader, hcm: Obj, hp: string): HcmOptions {
  onlyKnown(r, hcm, hp, KNOWN, "HttpConnectionManager");
  // AUTO: HTTP/1.1 and h2c told apart by the preface, h2 by ALPN. HTTP2: HTTP/2 only, so an invalid preface is a
  // connection error (RFC 9113 §3.4: the connection is closed), never answered as a malformed HTTP/1 request.
  const codecType = r.enumName(hcm, "codec_type", hp, ["AUTO", "HTTP2"] as const, "AUTO");
  const cp = join(hp, "common_http_protocol_options");
  const common = r.optObj(hcm, "common_http_protocol_options", hp) ?? {};
  onlyKnown(r, common, cp, KNOWN_COMMON, "HttpProtocolOptions");
  r.enumName(common, "headers_with_underscores_action", cp, ["ALLOW"] as const, "ALLOW");
  const ms = (o: Obj, key: string, path: string, dflt: number): number => {
    const v = r.duration(o, key, path) ?? dflt;
    if (v < 0) r.fail(join(path, key), "must not be negative");
    return v;
  };
  const maxHeaders = r.num(common, "max_headers_count", cp) ?? 100;
  if (!Number.isInteger(maxHeaders) || maxHeaders < 1) r.fail(join(cp, "max_headers_count"), "must be an integer ≥ 1");
  const kb = r.num(hcm, "max_request_headers_kb", hp) ?? 60;
  if (!Number.isInteger(kb) || kb < 1 || kb > 8192)
    r.fail(join(hp, "max_request_headers_kb"), "must be an integer in [1, 8192]");
  // Only KEEP_UNCHANGED (the default) is implemented: %2F and %5C stay as they are.
  r.enumName(
    hcm,
    "path_with_escaped_slashes_action",
    hp,
    ["IMPLEMENTATION_SPECIFIC_DEFAULT", "KEEP_UNCHANGED"] as const,
    "KEEP_UNCHANGED",
  );
  return {
    limits: {
      requestHeadersMs: ms(hcm, "request_headers_timeout", hp, 0),
      requestMs: ms(hcm, "request_timeout", hp, 0),
      streamIdleMs: ms(hcm, "stream_idle_timeout", hp, 300_000),
      idleMs: ms(common, "idle_timeout", cp, 3_600_000),
      maxConnectionDurationMs: ms(common, "max_connection_duration", cp, 0),
      maxHeaders,
      maxHeadBytes: kb * 1024,
    },
    xfcc: r.enumName(hcm, "forward_client_cert_details", hp, FORWARD_CLIENT_CERT_MODES, "SANITIZE"),
    xfccDetails: xfccDetails(r, hcm, hp),
    websocket: websocketUpgrade(r, hcm, hp) ?? false,
    normalizePath: r.bool(hcm, "normalize_path", hp) ?? false,
    mergeSlashes: r.bool(hcm, "merge_slashes", hp) ?? false,
    maxConcurrentStreams: maxConcurrentStreams(r, hcm, hp),
    http2Only: codecType === "HTTP2",
    forwarding: {
      useRemoteAddress: r.bool(hcm, "use_remote_address", hp) ?? false,
      xffTrustedHops: xffHops(r, hcm, hp),
      skipXffAppend: r.bool(hcm, "skip_xff_append", hp) ?? false,
      appendXForwardedPort: r.bool(hcm, "append_x_forwarded_port", hp) ?? false,
    },
    server: serverHeader(r, hcm, hp),
  };
}

/** server_name (a header value, Envoy's default "envoy") and server_header_transformation (OVERWRITE by default). */
function serverHeader(r: Reader, hcm: Obj, hp: string): ServerHeader {
  const mode = r.enumName(hcm, "server_header_transformation", hp, SERVER_HEADER_MODES, "OVERWRITE");
  // As the codecs hold header text: its UTF-8 bytes, one character each (a U+010A written as is would be an LF).
  const name = wireString(r.str(hcm, "server_name", hp) || DEFAULT_SERVER_HEADER.name);
  // Envoy's HTTP_HEADER_VALUE rule (not strict): no NUL, CR or LF.
  if (/[\0\r\n]/.test(name)) r.fail(join(hp, "server_name"), "is not a valid HTTP header value (NUL, CR or LF)");
  return mode === DEFAULT_SERVER_HEADER.mode && name === DEFAULT_SERVER_HEADER.name
    ? DEFAULT_SERVER_HEADER
    : Object.freeze({ name, mode });
}

function xffHops(r: Reader, hcm: Obj, hp: string): number {
  const n = r.num(hcm, "xff_num_trusted_hops", hp) ?? 0;
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) r.fail(join(hp, "xff_num_trusted_hops"), `${n} is not a uint32`);
  return n;
}

/** http2_protocol_options.max_concurrent_streams: 100 unless set (Istio's gateways; Envoy's own is 2^31-1). */
function maxConcurrentStreams(r: Reader, hcm: Obj, hp: string): number {
  const path = join(hp, "http2_protocol_options");
  const h2 = r.optObj(hcm, "http2_protocol_options", hp);
  if (!h2) return 100;
  onlyKnown(r, h2, path, ["max_concurrent_streams"], "Http2ProtocolOptions");
  const n = r.num(h2, "max_concurrent_streams", path) ?? 100;
  if (!Number.isInteger(n) || n < 1 || n > 2147483647)
    r.fail(join(path, "max_concurrent_streams"), "must be between 1 and 2147483647");
  return n;
}

export const CONNECTION_LIMIT = typeName(TYPE.connectionLimit);

/** envoy.filters.network.connection_limit: at most max_connections at once; the others are closed at accept. */
export function connectionLimit(r: Reader, filter: unknown, path: string): { statPrefix: string; max: number } {
  const typed = r.obj(r.obj(filter, path).typed_config, join(path, "typed_config"));
  const tp = join(path, "typed_config");
  if (anyType(typed) !== CONNECTION_LIMIT) r.fail(join(tp, "@type"), `expected ${CONNECTION_LIMIT}`);
  onlyKnown(r, typed, tp, ["stat_prefix", "max_connections"], "ConnectionLimit");
  const max = r.num(typed, "max_connections", tp);
  if (max === undefined || !Number.isInteger(max) || max < 1)
    r.fail(join(tp, "max_connections"), "must be an integer ≥ 1");
  return { statPrefix: r.reqStr(typed, "stat_prefix", tp), max };
}
