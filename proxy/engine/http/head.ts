// A request's and a response's head as the engine handles them, whichever codec (http1/, h2/) read or writes them:
// method, path and host, status, the header fields as a flat list with lower-case names, and the framing facts
// (content-length, chunked, keep-alive) that a codec fills in and the other side's codec reads.

export interface RequestHead {
  method: string;
  /** The request-target as sent (path and query). */
  target: string;
  path: string;
  query: string;
  /** HTTP/1.minor */
  minor: number;
  /** [name, value, name, value, …] with lower-case names, in arrival order. */
  headers: string[];
  host: string;
  /** -1 when absent. */
  contentLength: number;
  chunked: boolean;
  keepAlive: boolean;
  expectContinue: boolean;
}

export interface ResponseHead {
  /** Body bytes come without HTTP/1.1 framing, and the end is signalled (an HTTP/2 upstream). */
  unframed?: boolean;
  status: number;
  minor: number;
  headers: string[];
  contentLength: number;
  chunked: boolean;
  keepAlive: boolean;
}

/** Joined value of a header in a flat list, or undefined. */
export function headerValue(headers: readonly string[], name: string): string | undefined {
  let v: string | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] === name) v = v === undefined ? (headers[i + 1] as string) : `${v},${headers[i + 1] as string}`;
  }
  return v;
}

/** Whether header `name`'s comma-separated list holds `token` (lower-case), in any case: Connection: Upgrade, say. */
export function listsToken(headers: readonly string[], name: string, token: string): boolean {
  const v = headerValue(headers, name);
  return v !== undefined && v.split(",").some((t) => t.trim().toLowerCase() === token);
}

/**
 * A 1xx's or 204's head without its content-length and transfer-encoding, which a server must not send
 * (RFC 9110 §8.6, RFC 9112 §6.1) and Envoy strips; undefined when it has neither (or is another status: a 304's
 * content-length stays, the size of the representation it stands for).
 */
export function withoutFraming(head: ResponseHead): ResponseHead | undefined {
  if (head.status >= 200 && head.status !== 204) return undefined;
  const h = head.headers;
  const framing = (i: number): boolean => h[i] === "content-length" || h[i] === "transfer-encoding";
  let found = false;
  for (let i = 0; i < h.length && !found; i += 2) found = framing(i);
  if (!found) return undefined;
  const headers: string[] = [];
  for (let i = 0; i < h.length; i += 2) if (!framing(i)) headers.push(h[i]!, h[i + 1]!);
  return { ...head, headers, contentLength: -1, chunked: false };
}
