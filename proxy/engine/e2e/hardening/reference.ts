// A reference HTTP/1.1 request parser, written from RFC 9112's ABNF (and RFC 9110's field rules), apart from the
// codec and simple on purpose: it reads a latin1 string with regular expressions built from the grammar and checks
// framing semantics one rule at a time. It is slow and strict, and used only by tests: the codec must never accept
// a request this rejects, and both must agree on where each request ends and what its body is.
//
// Grammar (RFC 9112 §2.1, §3, §5, §6, §7.1; RFC 9110 §5.5, §5.6):
//   HTTP-message   = start-line CRLF *( field-line CRLF ) CRLF [ message-body ]
//   request-line   = method SP request-target SP HTTP-version
//   method         = token
//   HTTP-version   = "HTTP/1.1" / "HTTP/1.0"                     (the versions a proxy speaks)
//   field-line     = field-name ":" OWS field-value OWS
//   field-value    = *( field-vchar / SP / HTAB ), starting and ending with field-vchar
//   field-vchar    = VCHAR / obs-text
//   chunked-body   = *chunk last-chunk trailer-section CRLF
//   chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//   chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//   chunk-ext-val  = token / quoted-string
// Policy, where the RFC leaves a choice (each one the strict option):
//   - request-target: origin-form, absolute-form (http/https, no userinfo) or "*" for OPTIONS; its characters are
//     VCHAR except "#" (RFC 3986's, and the few others clients send unescaped, as llhttp accepts); no CONNECT.
//   - Host: required, once, a valid uri-host [":" port]; absolute-form's authority replaces it (§3.2.2).
//   - Content-Length: digits (at most 15), repeated only with the same value (RFC 9110 §8.6).
//   - Transfer-Encoding: exactly "chunked", once; never with Content-Length (§6.3); never in HTTP/1.0 (§6.1).
//   - At most 100 fields and 60 KiB of head; chunk sizes at most 2^53-1; bodies of any size (streamed).
//   - Empty lines before the request line are skipped (§2.2).

const TOKEN = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+";
const VCHAR_OBS = "\\x21-\\x7e\\x80-\\xff";
const OWS = "[ \\t]*";
const FIELD_VALUE = `(?:[${VCHAR_OBS}](?:[ \\t${VCHAR_OBS}]*[${VCHAR_OBS}])?)?`;
const REQUEST_LINE = new RegExp(`^(${TOKEN}) ([\\x21-\\x22\\x24-\\x7e]+) HTTP/1\\.([01])$`);
const FIELD_LINE = new RegExp(`^(${TOKEN}):${OWS}(${FIELD_VALUE})${OWS}$`);
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]{0,5})?$/;
const ABSOLUTE = /^https?:\/\/([^/?@]+)([/?].*)?$/i;
const QUOTED = '"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]|\\\\[\\t \\x21-\\x7e\\x80-\\xff])*"';
const CHUNK_LINE = new RegExp(`^([0-9A-Fa-f]+)((?:${OWS};${OWS}${TOKEN}(?:${OWS}=${OWS}(?:${TOKEN}|${QUOTED}))?)*)$`);

export type RefResult =
  | {
      kind: "ok";
      method: string;
      target: string;
      host: string;
      minor: number;
      body: string;
      consumed: number;
      fields: [string, string][];
    }
  | { kind: "error"; reason: string }
  | { kind: "incomplete" };

const err = (reason: string): RefResult => ({ kind: "error", reason });

/** The first request in `text` (latin1). `maxFields`: 100, as the codec; a backend behind the proxy allows more. */
export function referenceParse(text: string, maxFields = 100): RefResult {
  let at = 0;
  while (text.startsWith("\r\n", at)) at += 2;
  const headEnd = text.indexOf("\r\n\r\n", at);
  const headText = headEnd < 0 ? text.slice(at) : text.slice(at, headEnd);
  // Every line of the head ends with CRLF: a CR or LF elsewhere is an error, even before the head is complete.
  const lines = headText.split("\r\n");
  for (const l of lines)
    if (/[\r\n]/.test(l) && !(headEnd < 0 && l === lines[lines.length - 1] && l === "\r")) return err("bare CR or LF");
  if (lines.length - 1 > maxFields) return err("too many fields");
  if (headEnd < 0) return headText.length > 60 * 1024 ? err("head too large") : { kind: "incomplete" };
  if (headEnd + 4 - at > 60 * 1024) return err("head too large");
  const rl = REQUEST_LINE.exec(lines[0] as string);
  if (!rl) return err("request line");
  const method = rl[1] as string;
  let target = rl[2] as string;
  const minor = Number(rl[3]);
  const fields: [string, string][] = [];
  for (const l of lines.slice(1)) {
    const m = FIELD_LINE.exec(l);
    if (!m) return err(`field line ${JSON.stringify(l)}`);
    fields.push([(m[1] as string).toLowerCase(), m[2] as string]);
  }
  const all = (n: string) => fields.filter(([k]) => k === n).map(([, v]) => v);
  const hosts = all("host");
  if (hosts.length > 1 || !hosts.every((h) => HOST.test(h) && h.length <= 261)) return err("host");
  let host = hosts[0];
  if (target === "*") {
    if (method !== "OPTIONS") return err("asterisk-form");
  } else if (!target.startsWith("/")) {
    const m = ABSOLUTE.exec(target);
    if (!m || !HOST.test(m[1] as string) || (m[1] as string).length > 261) return err("absolute-form");
    host = m[1] as string;
    target = m[2] === undefined ? "/" : m[2].startsWith("?") ? `/${m[2]}` : m[2];
  }
  if (host === undefined) return err("no host");
  const cls = all("content-length");
  const tes = all("transfer-encoding");
  if (cls.some((v) => !/^[0-9]{1,15}$/.test(v)) || new Set(cls.map(Number)).size > 1) return err("content-length");
  if (tes.length > 1 || (tes.length === 1 && (tes[0] as string).toLowerCase() !== "chunked"))
    return err("transfer-encoding");
  if (tes.length && cls.length) return err("both");
  if (tes.length && minor === 0) return err("transfer-encoding in HTTP/1.0");
  const bodyAt = headEnd + 4;
  if (!tes.length) {
    const len = cls.length ? Number(cls[0]) : 0;
    if (text.length - bodyAt < len) return { kind: "incomplete" };
    return {
      kind: "ok",
      method,
      target,
      host,
      minor,
      fields,
      body: text.slice(bodyAt, bodyAt + len),
      consumed: bodyAt + len,
    };
  }
  return chunked(text, bodyAt, { method, target, host, minor, fields });
}

type Head = { method: string; target: string; host: string; minor: number; fields: [string, string][] };

function chunked(text: string, from: number, req: Head): RefResult {
  let at = from;
  let body = "";
  for (;;) {
    const eol = text.indexOf("\r\n", at);
    const line = eol < 0 ? text.slice(at) : text.slice(at, eol);
    if (/[\r\n]/.test(line.replace(/\r$/, "")) || line.length > 4096) return err("chunk line");
    if (eol < 0) return /^[0-9A-Fa-f]*/.test(line) ? { kind: "incomplete" } : err("chunk line");
    const m = CHUNK_LINE.exec(line);
    if (!m) return err(`chunk line ${JSON.stringify(line)}`);
    const size = parseInt(m[1] as string, 16);
    if (!Number.isSafeInteger(size)) return err("chunk size");
    at = eol + 2;
    if (size === 0) break;
    if (text.length < at + size + 2)
      return text.length >= at + size && !"\r\n".startsWith(text.slice(at + size))
        ? err("chunk end")
        : { kind: "incomplete" };
    body += text.slice(at, at + size);
    if (text.slice(at + size, at + size + 2) !== "\r\n") return err("chunk end");
    at += size + 2;
  }
  // trailer-section = *( field-line CRLF ), then CRLF
  let trailers = 0;
  for (;;) {
    const eol = text.indexOf("\r\n", at);
    const line = eol < 0 ? text.slice(at) : text.slice(at, eol);
    if (/[\r\n]/.test(line.replace(/\r$/, ""))) return err("trailer line");
    if (eol < 0) return { kind: "incomplete" };
    at = eol + 2;
    if (line === "") return { kind: "ok", ...req, body, consumed: at };
    if (!FIELD_LINE.exec(line) || ++trailers > 100) return err("trailer field");
  }
}
