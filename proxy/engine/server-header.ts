// The HCM's `server` response header, as Envoy's ActiveStream::encodeHeaders sets it on every response it sends
// downstream, the upstream's and local replies alike (server_header_transformation): OVERWRITE (the default) replaces
// any the upstream sent with server_name ("envoy" unless set), APPEND_IF_ABSENT sets it only where the response has
// none, PASS_THROUGH leaves the response as it is. 1xx heads other than 101 are not final responses and are untouched.
import type { Socket } from "node:net";
import { DelegatingDownstream, type Downstream } from "./downstream.js";
import type { ResponseHead } from "./http/head.js";
import { indexOfHeader, setHeader } from "./router/index.js";

export type ServerHeaderMode = "OVERWRITE" | "APPEND_IF_ABSENT" | "PASS_THROUGH";
export const SERVER_HEADER_MODES: readonly ServerHeaderMode[] = ["OVERWRITE", "APPEND_IF_ABSENT", "PASS_THROUGH"];

export interface ServerHeader {
  /** server_name: Envoy's default is "envoy". */
  readonly name: string;
  readonly mode: ServerHeaderMode;
}

export const DEFAULT_SERVER_HEADER: ServerHeader = Object.freeze({ name: "envoy", mode: "OVERWRITE" });

/** Whether `headers` (a response's) already say what `server` asks, so they can go as they are. */
function unchanged(headers: readonly string[], server: ServerHeader): boolean {
  const at = indexOfHeader(headers, "server");
  if (server.mode === "APPEND_IF_ABSENT" || at < 0) return at >= 0;
  if (headers[at + 1] !== server.name) return false;
  for (let i = at + 2; i < headers.length; i += 2) if (headers[i] === "server") return false;
  return true;
}

/** Sets `server` in `headers` (which the caller owns) as the mode asks. */
export function applyServerHeader(headers: string[], server: ServerHeader): void {
  if (server.mode === "PASS_THROUGH" || unchanged(headers, server)) return;
  setHeader(headers, "server", server.name);
}

const finalHead = (status: number): boolean => status >= 200 || status === 101;

/**
 * `down` with every response it sends carrying `server` as the HCM asks. Only for OVERWRITE and APPEND_IF_ABSENT:
 * PASS_THROUGH needs no wrapper. A head that already says it keeps its raw bytes.
 */
export class ServerHeaderDownstream extends DelegatingDownstream {
  readonly upgrade?: Downstream["upgrade"];
  readonly onRequestTimeout?: Downstream["onRequestTimeout"];

  constructor(
    inner: Downstream,
    private readonly server: ServerHeader,
  ) {
    super(inner);
    if (inner.upgrade) this.upgrade = (h, upstream, rest, onEnd) => this.upgradeWith(h, upstream, rest, onEnd);
    if (inner.onRequestTimeout) this.onRequestTimeout = (handler) => inner.onRequestTimeout?.(handler);
  }

  override reply(status: number, headers: string[], body: Buffer | string): void {
    if (finalHead(status)) applyServerHeader(headers, this.server);
    this.inner.reply(status, headers, body);
  }
  override head(head: ResponseHead, headers: string[], raw: Buffer | undefined): void {
    if (!finalHead(head.status) || unchanged(headers, this.server)) return this.inner.head(head, headers, raw);
    const h = headers.slice();
    setHeader(h, "server", this.server.name);
    this.inner.head(head, h, undefined);
  }
  private upgradeWith(
    headers: string[],
    upstream: Socket,
    rest: Buffer | undefined,
    onEnd: (toClient: number, toUpstream: number) => void,
  ): void {
    const h = headers.slice();
    applyServerHeader(h, this.server);
    this.inner.upgrade?.(h, upstream, rest, onEnd);
  }
}

/** The downstream a stream of this HCM answers through. */
export function withServerHeader(down: Downstream, server: ServerHeader): Downstream {
  return server.mode === "PASS_THROUGH" ? down : new ServerHeaderDownstream(down, server);
}
