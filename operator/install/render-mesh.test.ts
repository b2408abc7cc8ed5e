// The mesh config the operator renders is what discovery starts with: these tests run the rendered ConfigMap through
// discovery's own parser (and translation), not a copy of its rules.
import type { KubernetesObject } from "@kubernetes/client-node";
import type { JsonObject } from "../../proxy/xds/types.js";
import { normalizeSpec } from "../api/spec.js";
import { parseMeshConfig, type MeshSettings } from "../discovery/model/mesh.js";
import { parseNodeId, translate } from "../discovery/translate/index.js";
import { meshModel } from "../../test/support/discovery/mesh.js";
import { listener } from "../../test/support/discovery/find.js";
import { checkSpec } from "./reconciler.js";
import { render } from "./render.js";
import { meshConfigProblem } from "./render-mesh.js";

const ctx = { name: "default", uid: "uid-1", ca: { certPem: "CERT", keyPem: "KEY" } };
const LABELS = { code: "%RESPONSE_CODE%", path: "%REQ(:PATH)%" };
const MESH = {
  extensionProviders: [
    { name: "json-lines", envoyFileAccessLog: { path: "/dev/stdout", logFormat: { labels: LABELS } } },
    { name: "zipkin", zipkin: { service: "zipkin.istio-system.svc.cluster.local", port: 9411 } },
  ],
  defaultProviders: { tracing: ["zipkin"], metrics: ["prometheus"] },
};

/** The `mesh` key of the weft-mesh ConfigMap that render writes for a spec. */
function renderedMesh(meshConfig: object): string {
  const cm = render(normalizeSpec({ meshConfig }), ctx).objects.find(
    (o: KubernetesObject) => o.kind === "ConfigMap" && o.metadata?.name === "weft-mesh",
  ) as unknown as { data: { mesh: string } };
  return cm.data.mesh;
}

/** The outbound HTTP connection manager echo-v2's sidecar gets, with a Telemetry in its namespace. */
function outboundHcm(mesh: MeshSettings, telemetry: string): JsonObject {
  const yaml = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: logs, namespace: default }
spec: ${telemetry}`;
  const proxy = parseNodeId("sidecar~127.0.0.2~echo-v2.default~default.svc.cluster.local");
  const out = translate({ ...meshModel(yaml), mesh }, proxy);
  expect(out.warnings).toEqual([]);
  const chains = listener(out, "0.0.0.0_80")["filter_chains"] as { filters: JsonObject[] }[];
  return chains[0]?.filters[0]?.["typed_config"] as JsonObject;
}

describe("spec.meshConfig's providers in the rendered mesh config", () => {
  it("discovery's parser gets the providers and defaults back from the ConfigMap", () => {
    const settings = parseMeshConfig(renderedMesh(MESH));
    expect(settings.logging.providers.get("json-lines")).toEqual({
      name: "json-lines",
      format: { kind: "labels", labels: LABELS },
    });
    expect(settings.tracer).toMatchObject({
      name: "zipkin",
      kind: "zipkin",
      host: "zipkin.istio-system.svc.cluster.local",
    });
    expect(settings.logging.defaults).toEqual([]);
    expect(parseMeshConfig(renderedMesh({ defaultProviders: { accessLogging: ["envoy"] } })).logging.defaults).toEqual([
      "envoy",
    ]);
  });

  it("a Telemetry on the cluster names the provider, and the proxy gets its format and the mesh's tracer", () => {
    const hcm = outboundHcm(
      parseMeshConfig(renderedMesh(MESH)),
      "{ accessLogging: [{ providers: [{ name: json-lines }] }] }",
    );
    expect(hcm["access_log"]).toEqual([
      expect.objectContaining({ typed_config: expect.objectContaining({ log_format: { json_format: LABELS } }) }),
    ]);
    expect(hcm["tracing"]).toMatchObject({ provider: { name: "envoy.tracers.zipkin" } });
  });

  it("renders tracing.openTelemetry's provider (otel) after the user's, so each keeps its index", () => {
    const text = renderedMesh({
      tracing: { openTelemetry: { service: "otel.observability", port: 4318 } },
      extensionProviders: [{ name: "short", envoyFileAccessLog: { logFormat: { text: "%RESPONSE_CODE%" } } }],
      defaultProviders: { accessLogging: ["short"] },
    });
    const settings = parseMeshConfig(text);
    expect(settings.tracer).toMatchObject({ name: "otel", kind: "opentelemetry", port: 4318, path: "/v1/traces" });
    expect(settings.logging.defaults).toEqual(["short"]);
    expect(settings.logging.providers.get("short")).toMatchObject({
      format: { kind: "text", text: "%RESPONSE_CODE%" },
    });
  });

  it("renders no providers for a spec that sets none", () => {
    expect(renderedMesh({})).not.toMatch(/extensionProviders|defaultProviders/);
  });
});

describe("a provider discovery would refuse, though the schema can't tell", () => {
  const spec = {
    meshConfig: {
      extensionProviders: [{ name: "odd", envoyFileAccessLog: { logFormat: { text: "%DOWNSTREAM_TLS_CIPHER%" } } }],
    },
  };

  it("is named by the spec's field, as discovery words it", () => {
    expect(meshConfigProblem(normalizeSpec(spec))).toBe(
      "spec.meshConfig.extensionProviders[0].envoyFileAccessLog.logFormat.text: command operator %DOWNSTREAM_TLS_CIPHER% is not supported by Weft's proxy",
    );
  });

  it("fails the reconcile as InvalidSpec (Reconciled=False), so nothing discovery would ignore is installed", () => {
    expect(() => checkSpec(spec)).toThrow(
      expect.objectContaining({
        reason: "InvalidSpec",
        message: expect.stringMatching(
          /^spec\.meshConfig\.extensionProviders\[0\]\.envoyFileAccessLog\.logFormat\.text: /,
        ),
      }),
    );
    expect(() => checkSpec({ meshConfig: MESH })).not.toThrow();
  });
});
