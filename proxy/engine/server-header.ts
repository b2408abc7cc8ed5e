// The HCM's `server` response header, as Envoy's ActiveStream::encodeHeaders sets it on every response it sends
// downstream, the upstream's and local replies alike (server_header_transformation): OVERWRITE (the default) replaces
// any the upstream sent with server_name ("envoy" unless set), APPEND_IF_ABSENT sets it only where the response has
// none, PASS_THROUGH leaves the response as it is. 1xx heads other than 101 are not final responses and are untouched.
// Applied where the stream applies the route's response header edits (stream-response.ts), as one more edit: a head
// that already says it keeps its raw bytes, and no request pays for a wrapper.
import { indexOfHeader, setHeader } from "./router/index.js";

export type ServerHeaderMode = "OVERWRITE" | "APPEND_IF_ABSENT" | "PASS_THROUGH";
export const SERVER_HEADER_MODES: readonly ServerHeaderMode[] = ["OVERWRITE", "APPEND_IF_ABSENT", "PASS_THROUGH"];

export interface ServerHeader {
  /** server_name: Envoy's default is "envoy". */
  readonly name: string;
  readonly mode: ServerHeaderMode;
}

export const DEFAULT_SERVER_HEADER: ServerHeader = Object.freeze({ name: "envoy", mode: "OVERWRITE" });

/** Whether `headers` (a response's) already say what `server` asks, so they can go as they are (its raw bytes too). */
export function serverHeaderKept(headers: readonly string[], server: ServerHeader): boolean {
  if (server.mode === "PASS_THROUGH") return true;
  const at = indexOfHeader(headers, "server");
  if (server.mode === "APPEND_IF_ABSENT" || at < 0) return at >= 0;
  if (headers[at + 1] !== server.name) return false;
  for (let i = at + 2; i < headers.length; i += 2) if (headers[i] === "server") return false;
  return true;
}

/** Sets `server` in `headers` (which the caller owns) as the mode asks. */
export function applyServerHeader(headers: string[], server: ServerHeader): void {
  if (!serverHeaderKept(headers, server)) setHeader(headers, "server", server.name);
}

/** Whether a response head of this status is a final one (1xx other than 101 are interim: left untouched). */
export const finalHead = (status: number): boolean => status >= 200 || status === 101;
