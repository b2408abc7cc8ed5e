// What a header name or value from config may hold, as Envoy's protoc-gen-validate well-known rules say
// (HTTP_HEADER_NAME, HTTP_HEADER_VALUE). CR and LF would end the header line and start another (a header, or a
// whole second request, injected by config); NUL truncates it in C parsers. Used by Envoy's field rules (rules.ts),
// the engine's config compiler and discovery's validation webhook, so all three agree. Pure.

/** A token (RFC 9110 §5.6.2), optionally a pseudo-header (`:authority`). */
export const HEADER_NAME = /^:?[0-9a-zA-Z!#$%&'*+\-.^_|~`]+$/;

/** Strict: no control characters but tab (RFC 9110 §5.5). Loose (Envoy's `strict: false`): no NUL, CR or LF. */
export function validHeaderValue(value: string, strict = false): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    const bad = strict ? (c < 0x20 && c !== 0x09) || c === 0x7f : c === 0 || c === 0x0a || c === 0x0d;
    if (bad) return false;
  }
  return true;
}

const NAMES: Record<number, string> = { 0: "NUL", 10: "LF", 13: "CR" };

/** Why a configured header value can't be sent (it holds CR, LF or NUL), or undefined. */
export function headerValueError(value: string): string | undefined {
  if (validHeaderValue(value)) return undefined;
  const found = [...new Set([...value].map((c) => NAMES[c.charCodeAt(0)]).filter((n) => n !== undefined))];
  return `${JSON.stringify(value)} contains ${found.join(", ")}, which a header value must not (RFC 9110 §5.5)`;
}

/** Why a configured header name is not one (not a token), or undefined. */
export function headerNameError(name: string): string | undefined {
  return HEADER_NAME.test(name)
    ? undefined
    : `${JSON.stringify(name)} is not a valid header name (RFC 9110 §5.6.2 token)`;
}
