// spec.meshConfig.extensionProviders and .defaultProviders: Istio's MeshConfig fields, limited to what discovery
// implements (operator/discovery/model/mesh-logging.ts, mesh-tracing.ts): file access logs on /dev/stdout, one Zipkin
// or OTLP/HTTP tracer, Prometheus metrics. The API server prunes any other provider kind, so what this accepts is
// what the proxies do; CEL says what a structural schema can't (spec-providers.ts runs the same checks for ajv).
import { ABSOLUTE_PATH, DURATION, HOST } from "./patterns.js";
import type { Schema } from "./schema.js";

/** The provider kinds Weft implements, as Istio's ExtensionProvider names them. */
export const PROVIDER_KINDS = ["envoyFileAccessLog", "zipkin", "opentelemetry"] as const;
/** Istio's built-in access log provider (a file access log on /dev/stdout in the mesh's encoding). */
export const BUILTIN_LOG = "envoy";
/** The name spec.meshConfig.tracing.openTelemetry's provider is rendered under. */
export const SHORTCUT_TRACER = "otel";
/** At most this many providers: a bound the API server's CEL cost estimate needs. */
export const MAX_PROVIDERS = 32;
// Lowercase: discovery and istiod look access log providers up case-insensitively, so names differing only in case
// would be one provider.
const NAME = "^[a-z0-9]([-a-z0-9._]*[a-z0-9])?$";

export interface Rule {
  rule: string;
  message: string;
  fieldPath?: string;
}

export const ONE_KIND: Rule = {
  rule: PROVIDER_KINDS.map((k) => `(has(self.${k}) ? 1 : 0)`).join(" + ") + " == 1",
  message: `must set exactly one of ${PROVIDER_KINDS.join(", ")} (the provider kinds Weft implements)`,
};
export const ENVOY_IS_A_LOG: Rule = {
  rule: `self.name != '${BUILTIN_LOG}' || has(self.envoyFileAccessLog)`,
  message: `${BUILTIN_LOG}, the built-in access log provider, may be redefined only as an envoyFileAccessLog`,
};
export const TEXT_OR_LABELS: Rule = {
  rule: "!(has(self.text) && has(self.labels))",
  message: "give text or labels, not both",
};

const providers = "has(self.extensionProviders)";
const defaults = (list: string) => `has(self.defaultProviders) && has(self.defaultProviders.${list})`;
const tracer = (p: string) => `(has(${p}.zipkin) || has(${p}.opentelemetry))`;
const shortcut = "has(self.tracing) && has(self.tracing.openTelemetry)";

/** Rules on spec.meshConfig: the ones that read more than one of its fields. */
export const LOG_DEFAULTS: Rule = {
  rule: `!(${defaults("accessLogging")}) || self.defaultProviders.accessLogging.all(n, n == '${BUILTIN_LOG}' || ${providers} && self.extensionProviders.exists(p, p.name == n && has(p.envoyFileAccessLog)))`,
  message: `must name an envoyFileAccessLog provider of extensionProviders, or the built-in ${BUILTIN_LOG}`,
  fieldPath: ".defaultProviders.accessLogging",
};
export const TRACING_DEFAULTS: Rule = {
  rule: `!(${defaults("tracing")}) || self.defaultProviders.tracing.all(n, ${providers} && self.extensionProviders.exists(p, p.name == n && ${tracer("p")}))`,
  message: "must name a zipkin or opentelemetry provider of extensionProviders",
  fieldPath: ".defaultProviders.tracing",
};
export const TRACER_IS_DEFAULT: Rule = {
  rule: `!${providers} || self.extensionProviders.all(p, !${tracer("p")} || ${defaults("tracing")} && p.name in self.defaultProviders.tracing)`,
  message:
    "a zipkin or opentelemetry provider must be the mesh's tracer, named in defaultProviders.tracing: the proxies report spans to that one only (a Telemetry turns it on or off, and sets the sampling)",
  fieldPath: ".extensionProviders",
};
export const ONE_TRACER_SETTING: Rule = {
  rule: `!(${shortcut}) || !(${defaults("tracing")}) || size(self.defaultProviders.tracing) == 0`,
  message: "set the tracer once: tracing.openTelemetry or defaultProviders.tracing, not both",
  fieldPath: ".defaultProviders.tracing",
};
export const SHORTCUT_NAME: Rule = {
  rule: `!(${shortcut}) || !${providers} || self.extensionProviders.all(p, p.name != '${SHORTCUT_TRACER}')`,
  message: `the name ${SHORTCUT_TRACER} is taken by tracing.openTelemetry's provider`,
  fieldPath: ".extensionProviders",
};
export const MESH_PROVIDER_RULES = [
  LOG_DEFAULTS,
  TRACING_DEFAULTS,
  TRACER_IS_DEFAULT,
  ONE_TRACER_SETTING,
  SHORTCUT_NAME,
];

const str = (description: string, extra: Schema = {}): Schema => ({ type: "string", description, ...extra });
const port = (what: string): Schema => ({ type: "integer", description: what, minimum: 1, maximum: 65535 });
const names = (description: string): Schema => ({
  type: "array",
  description,
  maxItems: 1,
  items: { type: "string", pattern: NAME, maxLength: 63 },
});

const provider: Schema = {
  type: "object",
  required: ["name"],
  properties: {
    name: str("The provider's name, which defaultProviders and Telemetry objects use (lowercase).", {
      pattern: NAME,
      maxLength: 63,
    }),
    envoyFileAccessLog: {
      type: "object",
      description: "A file access log, as Envoy's: one line per request and per TCP connection.",
      properties: {
        path: str("Where lines go: only /dev/stdout, the proxy container's log. Unset: /dev/stdout.", {
          enum: ["/dev/stdout"],
        }),
        logFormat: {
          type: "object",
          description: "Unset: Istio's default text line.",
          properties: {
            text: str("A text line with Envoy's command operators, such as '%START_TIME% %RESPONSE_CODE%\\n'."),
            labels: {
              type: "object",
              description: "A JSON line: each key's value a command operator or text.",
              additionalProperties: { type: "string" },
            },
          },
          "x-kubernetes-validations": [TEXT_OR_LABELS],
        },
      },
    },
    zipkin: {
      type: "object",
      description: "Spans to a Zipkin collector, as Zipkin v2 JSON to /api/v2/spans.",
      required: ["service", "port"],
      properties: {
        service: str("The collector's host (such as zipkin.istio-system.svc.cluster.local).", {
          pattern: HOST,
          maxLength: 253,
        }),
        port: port("The collector's port."),
      },
    },
    opentelemetry: {
      type: "object",
      description: "Spans to an OpenTelemetry collector over OTLP/HTTP (JSON). OTLP over gRPC is not supported.",
      required: ["service", "port", "http"],
      properties: {
        service: str("The collector's host (such as otel-collector.observability.svc.cluster.local).", {
          pattern: HOST,
          maxLength: 253,
        }),
        port: port("The collector's OTLP/HTTP port."),
        http: {
          type: "object",
          description: "OTLP over HTTP: required (Weft's proxies don't speak OTLP over gRPC).",
          properties: {
            path: str("Where spans are POSTed.", { pattern: ABSOLUTE_PATH, default: "/v1/traces" }),
            timeout: str("The report's timeout, such as 5s. Unset: 5s.", { pattern: DURATION, maxLength: 32 }),
          },
        },
      },
    },
  },
  "x-kubernetes-validations": [ONE_KIND, ENVOY_IS_A_LOG],
};

/** The properties spec.meshConfig gains; MESH_PROVIDER_RULES go on spec.meshConfig itself. */
export const providerProperties: Record<string, Schema> = {
  extensionProviders: {
    type: "array",
    description: `Istio's meshConfig.extensionProviders: access log and tracing providers for defaultProviders and Telemetry objects to name. Weft implements ${PROVIDER_KINDS.join(", ")} (over HTTP).`,
    maxItems: MAX_PROVIDERS,
    items: provider,
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["name"],
  },
  defaultProviders: {
    type: "object",
    description:
      "Istio's meshConfig.defaultProviders: the providers every proxy uses where no Telemetry says otherwise.",
    properties: {
      accessLogging: names(
        `The access log every proxy writes: an envoyFileAccessLog provider, or the built-in ${BUILTIN_LOG} (one: a proxy writes one log).`,
      ),
      tracing: names("The mesh's tracer: a zipkin or opentelemetry provider (one)."),
      metrics: {
        type: "array",
        description: "Only prometheus: every proxy serves Istio's metrics on :15090/stats/prometheus.",
        minItems: 1,
        maxItems: 1,
        items: { type: "string", enum: ["prometheus"] },
      },
    },
  },
};
