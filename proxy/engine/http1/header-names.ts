// Header field names HTTP/1.1 messages commonly carry, interned: the parser hands out these constant strings (lower
// case, as HTTP/2 and the engine's header lists have them) instead of slicing and lower-casing each name, as llhttp's
// and Envoy's codecs recognise well-known names. A constant's hash is computed once, and comparing it with the engine's
// own literals ("content-length", HOP's names) is a pointer check. Anything else is sliced as before.

export const KNOWN_NAMES: readonly string[] = [
  // RFC 9110/9111/9112 fields and common extensions, requests and responses.
  "accept",
  "accept-charset",
  "accept-encoding",
  "accept-language",
  "accept-ranges",
  "age",
  "allow",
  "alt-svc",
  "authorization",
  "cache-control",
  "connection",
  "content-disposition",
  "content-encoding",
  "content-language",
  "content-length",
  "content-location",
  "content-range",
  "content-type",
  "cookie",
  "date",
  "dnt",
  "etag",
  "expect",
  "expires",
  "forwarded",
  "from",
  "host",
  "if-match",
  "if-modified-since",
  "if-none-match",
  "if-range",
  "if-unmodified-since",
  "keep-alive",
  "last-modified",
  "link",
  "location",
  "max-forwards",
  "origin",
  "pragma",
  "priority",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "range",
  "referer",
  "retry-after",
  "server",
  "set-cookie",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "upgrade-insecure-requests",
  "user-agent",
  "vary",
  "via",
  "www-authenticate",
  "http2-settings",
  // Browsers'.
  "sec-ch-ua",
  "sec-ch-ua-mobile",
  "sec-ch-ua-platform",
  "sec-fetch-dest",
  "sec-fetch-mode",
  "sec-fetch-site",
  "sec-fetch-user",
  "sec-websocket-accept",
  "sec-websocket-extensions",
  "sec-websocket-key",
  "sec-websocket-protocol",
  "sec-websocket-version",
  "strict-transport-security",
  "x-content-type-options",
  "x-frame-options",
  "x-powered-by",
  "x-xss-protection",
  // CORS.
  "access-control-allow-credentials",
  "access-control-allow-headers",
  "access-control-allow-methods",
  "access-control-allow-origin",
  "access-control-expose-headers",
  "access-control-max-age",
  "access-control-request-headers",
  "access-control-request-method",
  // Proxies, meshes and tracing.
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-port",
  "x-forwarded-proto",
  "x-forwarded-client-cert",
  "x-real-ip",
  "x-request-id",
  "x-envoy-attempt-count",
  "x-envoy-decorator-operation",
  "x-envoy-expected-rq-timeout-ms",
  "x-envoy-external-address",
  "x-envoy-internal",
  "x-envoy-original-path",
  "x-envoy-overloaded",
  "x-envoy-peer-metadata",
  "x-envoy-peer-metadata-id",
  "x-envoy-upstream-service-time",
  "traceparent",
  "tracestate",
  "b3",
  "x-b3-flags",
  "x-b3-parentspanid",
  "x-b3-sampled",
  "x-b3-spanid",
  "x-b3-traceid",
  "grpc-encoding",
  "grpc-accept-encoding",
  "grpc-message",
  "grpc-status",
  "grpc-timeout",
];

const SIZE = 512; // a power of two, over 4 times the names: probes are short
const TABLE: (string | undefined)[] = new Array<string | undefined>(SIZE).fill(undefined);

/** A name's slot: from its length and three of its characters, lower-cased (`c | 0x20`: see knownName). */
function slotOf(text: string, from: number, len: number): number {
  const first = text.charCodeAt(from) | 0x20;
  const mid = text.charCodeAt(from + (len >> 1)) | 0x20;
  const last = text.charCodeAt(from + len - 1) | 0x20;
  return (len * 97 + first * 31 + mid * 7 + last) & (SIZE - 1);
}

for (const name of KNOWN_NAMES) {
  let slot = slotOf(name, 0, name.length);
  while (TABLE[slot] !== undefined) slot = (slot + 1) & (SIZE - 1);
  TABLE[slot] = name;
}

/**
 * The interned name `text[from, to)` spells in any case, or undefined. The characters were
 * checked to be token characters, and the names are lower-case letters, digits and "-": among token characters,
 * `c | 0x20` equals such a character only for that character and its upper case, so the comparison is exact.
 */
export function knownName(text: string, from: number, to: number): string | undefined {
  const len = to - from;
  for (let slot = slotOf(text, from, len); ; slot = (slot + 1) & (SIZE - 1)) {
    const name = TABLE[slot];
    if (name === undefined) return undefined;
    if (name.length !== len) continue;
    let k = 0;
    while (k < len && (text.charCodeAt(from + k) | 0x20) === name.charCodeAt(k)) k++;
    if (k === len) return name;
  }
}
