import { normalizeSpec, SpecError } from "./spec.js";

const providers = (meshConfig: Record<string, unknown>) => normalizeSpec({ meshConfig }).meshConfig;

describe("spec.meshConfig.extensionProviders and defaultProviders", () => {
  it("keeps a file access log, a default tracer and the defaults that name them, with the OTLP path defaulted", () => {
    const m = providers({
      extensionProviders: [
        {
          name: "json-lines",
          envoyFileAccessLog: { path: "/dev/stdout", logFormat: { labels: { code: "%RESPONSE_CODE%" } } },
        },
        { name: "otlp", opentelemetry: { service: "otel.observability.svc.cluster.local", port: 4318, http: {} } },
      ],
      defaultProviders: { accessLogging: ["json-lines"], tracing: ["otlp"], metrics: ["prometheus"] },
    });
    expect(m.extensionProviders?.[1]?.opentelemetry?.http).toEqual({ path: "/v1/traces" });
    expect(m.defaultProviders).toEqual({ accessLogging: ["json-lines"], tracing: ["otlp"], metrics: ["prometheus"] });
  });

  it("takes the built-in envoy as a default access log, and envoy redefined as a file access log", () => {
    expect(() => providers({ defaultProviders: { accessLogging: ["envoy"] } })).not.toThrow();
    const envoy = { name: "envoy", envoyFileAccessLog: { logFormat: { text: "%RESPONSE_CODE%" } } };
    expect(() =>
      providers({ extensionProviders: [envoy], defaultProviders: { accessLogging: ["envoy"] } }),
    ).not.toThrow();
  });

  it("takes a logging provider next to tracing.openTelemetry, whose provider keeps the name otel", () => {
    const m = providers({
      tracing: { openTelemetry: { service: "otel.observability", port: 4318 } },
      extensionProviders: [{ name: "short", envoyFileAccessLog: {} }],
    });
    expect(m.extensionProviders?.map((p) => p.name)).toEqual(["short"]);
  });

  it("refuses a provider kind Weft doesn't implement, naming the field (the API server prunes it; ajv keeps it)", () => {
    const als = { name: "als", envoyOtelAls: { service: "otel.observability", port: 4317 } };
    expect(() => providers({ extensionProviders: [als] })).toThrow(SpecError);
    expect(() => providers({ extensionProviders: [als] })).toThrow(
      /^spec\.meshConfig\.extensionProviders\[0\]\.envoyOtelAls: unsupported provider kind \(Weft implements envoyFileAccessLog, zipkin, opentelemetry\); spec\.meshConfig\.extensionProviders\[0\]: Invalid value: "object": must set exactly one of/,
    );
  });
});
