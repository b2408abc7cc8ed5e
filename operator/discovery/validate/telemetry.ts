// Telemetry (telemetry.istio.io): its fields (strict, as istio/api telemetry/v1alpha1/telemetry.proto defines them)
// and what they may mean, as istiod's ValidateTelemetry says (provider names not empty, sampling 0-100). Where istiod
// warns that it uses only a tracing entry's first provider, Weft refuses the others rather than drop them. What Weft's proxy doesn't do is refused by name: CEL access log filters, custom trace tags, metric
// overrides and intervals, metrics providers other than Prometheus, targetRef(s). Pure.
import type { Telemetry } from "../model/istio.js";
import { METRICS_PROVIDER } from "../model/mesh-logging.js";
import type { Shape } from "./shape.js";

const no: Shape = { unsupported: true };
const providers: Shape = { list: { fields: { name: "string" } } };
const match: Shape = { fields: { mode: { enum: ["CLIENT_AND_SERVER", "CLIENT", "SERVER"] } } };

export const TELEMETRY_SHAPE: Shape = {
  fields: {
    selector: { fields: { matchLabels: { map: "string" } } },
    targetRef: no,
    targetRefs: no,
    accessLogging: { list: { fields: { match, providers, disabled: "bool", filter: no } } },
    tracing: {
      list: {
        fields: {
          match,
          providers,
          randomSamplingPercentage: { real: [0, 100] },
          disableSpanReporting: "bool",
          customTags: no,
          useRequestIdForTraceSampling: no,
          enableIstioTags: no,
          disableContextPropagation: no,
        },
      },
    },
    metrics: { list: { fields: { providers, overrides: no, reportingInterval: no } } },
  },
};

export function validateTelemetry(spec: Telemetry): string[] {
  const out: string[] = [];
  const names = (list: { name: string }[] | undefined, at: string): void =>
    list?.forEach((p, i) => {
      if (!p?.name) out.push(`${at}.providers[${i}].name: may not be empty`);
    });
  spec.accessLogging?.forEach((l, i) => names(l.providers, `spec.accessLogging[${i}]`));
  spec.tracing?.forEach((t, i) => {
    names(t.providers, `spec.tracing[${i}]`);
    if ((t.providers?.length ?? 0) > 1)
      out.push(`spec.tracing[${i}].providers: multiple providers is not currently supported`);
  });
  spec.metrics?.forEach((m, i) => {
    names(m.providers, `spec.metrics[${i}]`);
    m.providers?.forEach((p, j) => {
      if (p?.name && p.name.toLowerCase() !== METRICS_PROVIDER)
        out.push(
          `spec.metrics[${i}].providers[${j}].name: "${p.name}": only "${METRICS_PROVIDER}" (Istio's metrics, which every Weft proxy serves) is supported`,
        );
    });
  });
  return out;
}
