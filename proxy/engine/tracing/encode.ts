// Finished spans as the collectors take them, pure: Zipkin v2 JSON (POST /api/v2/spans, a JSON array) and
// OTLP/HTTP JSON (POST /v1/traces, an ExportTraceServiceRequest; ids as hex, times as decimal strings of ns).
import type { TraceIds } from "./context.js";

export interface FinishedSpan {
  ids: TraceIds;
  /** The operation: Istio's route decorator shape, `<authority><path>` without the query. */
  name: string;
  /** Inbound listeners make SERVER spans, outbound CLIENT spans. */
  kind: "SERVER" | "CLIENT";
  /** Start, microseconds since the epoch. */
  startUs: number;
  durationUs: number;
  /** Tag names and values, flat: [name, value, name, value, ...]. */
  tags: string[];
  error: boolean;
}

/** What every span of one proxy shares: Istio's `<canonical service>.<namespace>` and the proxy's IP. */
export interface LocalEndpoint {
  serviceName: string;
  ip: string;
}

function tagObject(tags: readonly string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i < tags.length; i += 2) o[tags[i] as string] = tags[i + 1] as string;
  return o;
}

/** A Zipkin v2 span list (zipkin2 JSON: lowercase hex ids, microsecond times, shared false). */
export function zipkinJson(spans: readonly FinishedSpan[], local: LocalEndpoint): string {
  const endpoint = local.ip.includes(":")
    ? { serviceName: local.serviceName, ipv6: local.ip }
    : { serviceName: local.serviceName, ipv4: local.ip };
  return JSON.stringify(
    spans.map((s) => ({
      traceId: s.ids.traceId,
      id: s.ids.spanId,
      ...(s.ids.parentId ? { parentId: s.ids.parentId } : {}),
      name: s.name,
      kind: s.kind,
      timestamp: s.startUs,
      duration: Math.max(1, s.durationUs),
      localEndpoint: endpoint,
      tags: { ...tagObject(s.tags), ...(s.error ? { error: "true" } : {}) },
    })),
  );
}

const OTLP_KIND = { SERVER: 2, CLIENT: 3 } as const;

/** OTLP/HTTP JSON (opentelemetry-proto `ExportTraceServiceRequest`): one resource, one scope. */
export function otlpJson(spans: readonly FinishedSpan[], local: LocalEndpoint): string {
  const str = (key: string, value: string) => ({ key, value: { stringValue: value } });
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [str("service.name", local.serviceName), str("host.ip", local.ip)] },
        scopeSpans: [
          {
            scope: { name: "weft" },
            spans: spans.map((s) => ({
              traceId: s.ids.traceId,
              spanId: s.ids.spanId,
              ...(s.ids.parentId ? { parentSpanId: s.ids.parentId } : {}),
              name: s.name,
              kind: OTLP_KIND[s.kind],
              startTimeUnixNano: `${s.startUs}000`,
              endTimeUnixNano: `${s.startUs + Math.max(1, s.durationUs)}000`,
              attributes: s.tags.flatMap((v, i) => (i % 2 === 0 ? [str(v, s.tags[i + 1] as string)] : [])),
              status: s.error ? { code: 2 } : {},
            })),
          },
        ],
      },
    ],
  });
}
