// A request as the router and filters read it (RequestView): one object per stream, its fields all made in the
// constructor. It was an object literal with a closure for `header` and remoteIp/metadata added later, which cost a
// closure, its context and a property array besides: ~200 bytes more per request in flight, copied by every
// scavenge that finds the request still running.
import type { RequestView } from "./config/route-types.js";
import { headerValue, type RequestHead } from "./http/head.js";

export class HeadView implements RequestView {
  method: string;
  path: string;
  query: string;
  remoteIp: string | undefined = undefined;
  metadata: Map<string, Readonly<Record<string, unknown>>> | undefined = undefined;

  constructor(private readonly head: RequestHead) {
    this.method = head.method;
    this.path = head.path;
    this.query = head.query;
  }

  /** The host is the one the request is routed by (absolute-form or :authority over a Host header). */
  header(name: string): string | undefined {
    const head = this.head;
    return name === "host" || name === ":authority" ? head.host : headerValue(head.headers, name);
  }
}
