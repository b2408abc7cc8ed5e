// A finished request as this proxy's span, with the tags Istio's proxies set (Envoy's HTTP tracer tags plus
// istio.*). Built only for sampled requests, once, when the request is done.
import { type RequestHead, headerValue } from "../http/head.js";
import type { ProxyIdentity } from "../workload.js";
import type { TraceIds } from "./context.js";
import type { FinishedSpan } from "./encode.js";

export interface SpanFacts {
  ids: TraceIds;
  inbound: boolean;
  head: RequestHead;
  /** The x-request-id sent upstream (generated here when the request had none). */
  requestId: string | undefined;
  startTime: number;
  durationMs: number;
  code: number;
  flags: string;
  cluster: string;
  remoteAddress: string | undefined;
  requestBytes: number;
  responseBytes: number;
  /** Upstream attempts made (1 + retries). */
  attempts: number;
}

export function finishedSpan(f: SpanFacts, me: ProxyIdentity): FinishedSpan {
  const h = f.head;
  const w = me.workload;
  const tags = [
    "component",
    "proxy",
    "node_id",
    me.nodeId,
    "guid:x-request-id",
    f.requestId ?? "",
    "http.url",
    `http://${h.host}${h.target}`,
    "http.method",
    h.method,
    "http.protocol",
    `HTTP/1.${h.minor}`,
    "downstream_cluster",
    "-",
    "user_agent",
    headerValue(h.headers, "user-agent") ?? "-",
    "peer.address",
    f.remoteAddress ?? "",
    "request_size",
    String(f.requestBytes),
    "response_size",
    String(f.responseBytes),
    "response_flags",
    f.flags,
    "upstream_cluster",
    f.cluster || "-",
    "upstream_cluster.name",
    f.cluster || "-",
    "http.status_code",
    String(f.code),
    "istio.canonical_service",
    w.app,
    "istio.canonical_revision",
    w.version,
    "istio.namespace",
    w.namespace,
    "istio.mesh_id",
    "cluster.local",
  ];
  if (f.attempts > 1) tags.push("retry.attempts", String(f.attempts));
  return {
    ids: f.ids,
    name: `${h.host}/*`,
    kind: f.inbound ? "SERVER" : "CLIENT",
    startUs: f.startTime * 1000,
    durationUs: Math.round(f.durationMs * 1000),
    tags,
    error: f.code >= 500 || f.code === 0,
  };
}
