// Telemetry through the webhook's validation: Istio's fields accepted, what Weft's proxy doesn't do refused by name,
// and Istio's extension kinds (WasmPlugin) refused rather than stored and ignored.
import { validateObject } from "./index.js";

const telemetry = (spec: Record<string, unknown>) => ({
  apiVersion: "telemetry.istio.io/v1",
  kind: "Telemetry",
  metadata: { name: "t", namespace: "default" },
  spec,
});

describe("Telemetry validation", () => {
  it("accepts Istio's access logging, tracing and Prometheus metrics fields", () => {
    expect(
      validateObject(
        telemetry({
          selector: { matchLabels: { app: "reviews" } },
          accessLogging: [{ providers: [{ name: "envoy" }], match: { mode: "SERVER" } }, { disabled: true }],
          tracing: [{ providers: [{ name: "zipkin" }], randomSamplingPercentage: 12.5, disableSpanReporting: false }],
          metrics: [{ providers: [{ name: "prometheus" }] }],
        }),
      ),
    ).toEqual([]);
  });

  it.each([
    [
      { accessLogging: [{ filter: { expression: "response.code >= 400" } }] },
      "spec.accessLogging[0].filter: is not supported by Weft yet",
    ],
    [
      { tracing: [{ customTags: { team: { literal: { value: "a" } } } }] },
      "spec.tracing[0].customTags: is not supported by Weft yet",
    ],
    [{ metrics: [{ overrides: [{ disabled: true }] }] }, "spec.metrics[0].overrides: is not supported by Weft yet"],
    [
      { metrics: [{ providers: [{ name: "stackdriver" }] }] },
      'spec.metrics[0].providers[0].name: "stackdriver": only "prometheus"',
    ],
    [
      { tracing: [{ providers: [{ name: "a" }, { name: "b" }] }] },
      "spec.tracing[0].providers: multiple providers is not currently supported",
    ],
    [{ accessLogging: [{ providers: [{ name: "" }] }] }, "spec.accessLogging[0].providers[0].name: may not be empty"],
    [{ tracing: [{ randomSamplingPercentage: 101 }] }, "spec.tracing[0].randomSamplingPercentage"],
    [{ targetRef: { kind: "Gateway", name: "gw" } }, "spec.targetRef: is not supported by Weft yet"],
    [{ accessLogging: [{ match: { mode: "BOTH" } }] }, "spec.accessLogging[0].match.mode"],
  ])("refuses %j, naming the field", (spec, message) => {
    expect(validateObject(telemetry(spec))).toContainEqual(expect.stringContaining(message));
  });

  it("refuses Istio's extension kinds and unknown telemetry kinds rather than ignore them", () => {
    const wasm = { apiVersion: "extensions.istio.io/v1alpha1", kind: "WasmPlugin", metadata: { name: "w" }, spec: {} };
    expect(validateObject(wasm)).toEqual([
      "kind: WasmPlugin (extensions.istio.io) is not supported by Weft; it would have no effect",
    ]);
    expect(validateObject({ ...telemetry({}), kind: "Other" })).toEqual([
      "kind: Other (telemetry.istio.io) is not supported by Weft; supported: Telemetry",
    ]);
  });
});
