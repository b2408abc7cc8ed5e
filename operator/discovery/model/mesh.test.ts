import { parse } from "yaml";
import { normalizeSpec } from "../../api/spec.js";
import { render } from "../../install/render.js";
import { DEFAULT_MESH, parseMeshConfig } from "./mesh.js";

/** The `mesh` key of the weft-mesh ConfigMap the operator renders for this spec. */
function rendered(meshConfig: object): string {
  const spec = normalizeSpec({ meshConfig });
  const cm = render(spec, { name: "default", uid: "u", ca: { certPem: "C", keyPem: "K" } }).objects.find(
    (o) => o.metadata?.name === "weft-mesh",
  ) as { data: { mesh: string } };
  return cm.data.mesh;
}

describe("the mesh config discovery reads (what the operator renders into weft-mesh)", () => {
  it("reads the operator's rendering of the defaults as Istio's defaults (PERMISSIVE mTLS)", () => {
    const m = parseMeshConfig(rendered({}));
    expect(m).toMatchObject({ defaultRetry: DEFAULT_MESH.defaultRetry, accessLog: undefined, tracingSampling: 1 });
    expect(m.mtlsMode).toBe("PERMISSIVE");
    expect(m.warnings).toEqual([]);
  });

  it("reads retries, the access log and sampling from spec.meshConfig", () => {
    const m = parseMeshConfig(
      rendered({
        defaultRetryPolicy: { attempts: 5, retryOn: "5xx,gateway-error", perTryTimeout: "2s" },
        accessLog: { enabled: true, encoding: "TEXT" },
        tracing: { sampling: 25 },
        mtls: { mode: "DISABLE" },
      }),
    );
    expect(m).toEqual({
      defaultRetry: { attempts: 5, retryOn: "5xx,gateway-error", perTryTimeout: "2s" },
      accessLog: { file: "/dev/stdout", encoding: "TEXT" },
      accessLogEncoding: "TEXT",
      logging: DEFAULT_MESH.logging,
      tracingSampling: 25,
      outboundTrafficPolicy: "ALLOW_ANY",
      trustDomain: "cluster.local",
      rootNamespace: "istio-system",
      mtlsMode: "DISABLE",
      localityLbSetting: { enabled: true },
      numTrustedProxies: 0,
      gatewayForwardClientCert: "SANITIZE_SET",
      proxyHeaders: DEFAULT_MESH.proxyHeaders,
      warnings: [],
    });
  });

  it("reads the trust domain, and refuses one that isn't a DNS-like name", () => {
    expect(parseMeshConfig("trustDomain: corp.example").trustDomain).toBe("corp.example");
    expect(() => parseMeshConfig("trustDomain: 'a/b'")).toThrow('trustDomain: "a/b" is not a trust domain');
  });

  it.each([
    ["defaultHttpRetryPolicy: {attempts: -1}", "defaultHttpRetryPolicy.attempts: -1 is not an integer ≥ 0"],
    ["defaultHttpRetryPolicy: {perTryTimeout: soon}", 'defaultHttpRetryPolicy.perTryTimeout: "soon" is not a duration'],
    ["accessLogEncoding: XML", 'accessLogEncoding: "XML" is not JSON or TEXT'],
    ["accessLogFile: /var/log/x", 'accessLogFile: "/var/log/x": only /dev/stdout'],
    ["defaultConfig: {tracing: {sampling: 101}}", "defaultConfig.tracing.sampling: 101 is not a percentage"],
    ["trustDomainAliases: []", "trustDomainAliases: unknown field"],
    ["enableTracing: maybe", "enableTracing: not a boolean"],
    [
      "defaultProviders: {tracing: [otel]}\nextensionProviders: [{name: otel, opentelemetry: {service: c, port: 4317}}]",
      "extensionProviders[0].opentelemetry.http: required (OTLP over gRPC is not supported",
    ],
    ["defaultProviders: {tracing: [nope]}", 'defaultProviders.tracing: "nope" names no extensionProviders entry'],
    [
      "defaultProviders: {accessLogging: [nope]}",
      'defaultProviders.accessLogging: "nope" names no access log provider',
    ],
    [
      "defaultProviders: {accessLogging: [als]}\nextensionProviders: [{name: als, envoyOtelAls: {service: c, port: 4317}}]",
      'defaultProviders.accessLogging: "als" is an envoyOtelAls provider, which Weft doesn\'t implement',
    ],
    ["defaultProviders: {metrics: [stackdriver]}", 'defaultProviders.metrics: "stackdriver": only "prometheus"'],
    [
      "extensionProviders: [{name: f, envoyFileAccessLog: {path: /var/log/a}}]",
      'extensionProviders[0].envoyFileAccessLog.path: "/var/log/a": only /dev/stdout',
    ],
    [
      'extensionProviders: [{name: f, envoyFileAccessLog: {logFormat: {text: "%UPSTREAM_LOCAL_ADDRESS%"}}}]',
      "extensionProviders[0].envoyFileAccessLog.logFormat.text: command operator %UPSTREAM_LOCAL_ADDRESS% is not supported",
    ],
    [
      "defaultConfig: {tracing: {zipkin: {address: zipkin}}}",
      'defaultConfig.tracing.zipkin.address: "zipkin" is not host:port',
    ],
  ])("refuses %s, naming the field", (text, message) => {
    expect(() => parseMeshConfig(text)).toThrow(message);
  });

  it("reads the tracer spec.meshConfig.tracing names (zipkin, or openTelemetry over OTLP/HTTP)", () => {
    expect(parseMeshConfig(rendered({ tracing: { zipkin: { address: "zipkin.istio-system:9411" } } })).tracer).toEqual({
      kind: "zipkin",
      host: "zipkin.istio-system",
      port: 9411,
      path: "/api/v2/spans",
      timeoutSeconds: 5,
    });
    const otel = { service: "otel.observability.svc.cluster.local", port: 4318 };
    expect(parseMeshConfig(rendered({ tracing: { sampling: 100, openTelemetry: otel } })).tracer).toEqual({
      name: "otel",
      kind: "opentelemetry",
      host: otel.service,
      port: 4318,
      path: "/v1/traces",
      timeoutSeconds: 5,
    });
    expect(() => normalizeSpec({ meshConfig: { tracing: { zipkin: { address: "no-port" } } } })).toThrow(/address/);
  });

  it("reads the tracer: an extension provider named by defaultProviders, else defaultConfig.tracing.zipkin", () => {
    const otel = parseMeshConfig(`
extensionProviders:
- { name: otel, opentelemetry: { service: otel-collector.observability.svc.cluster.local, port: 4318, http: { path: /v1/traces, timeout: 2s } } }
- { name: zipkin, zipkin: { service: zipkin.istio-system.svc.cluster.local, port: 9411 } }
defaultProviders: { tracing: [otel] }
defaultConfig: { tracing: { sampling: 10, zipkin: { address: "zipkin.istio-system:9411" } } }
`);
    expect(otel.tracer).toEqual({
      name: "otel",
      kind: "opentelemetry",
      host: "otel-collector.observability.svc.cluster.local",
      port: 4318,
      path: "/v1/traces",
      timeoutSeconds: 2,
    });
    expect(parseMeshConfig('defaultConfig: {tracing: {zipkin: {address: "zipkin.istio-system:9411"}}}').tracer).toEqual(
      { kind: "zipkin", host: "zipkin.istio-system", port: 9411, path: "/api/v2/spans", timeoutSeconds: 5 },
    );
    expect(
      parseMeshConfig('enableTracing: false\ndefaultConfig: {tracing: {zipkin: {address: "z:9411"}}}').tracer,
    ).toBeUndefined();
  });

  it("reads access log providers: the built-in envoy, envoyFileAccessLog entries, defaultProviders", () => {
    const m = parseMeshConfig(`
extensionProviders:
- { name: Short, envoyFileAccessLog: { logFormat: { text: "%RESPONSE_CODE%" } } }
- { name: json, envoyFileAccessLog: { path: /dev/stdout, logFormat: { labels: { code: "%RESPONSE_CODE%" } } } }
defaultProviders: { accessLogging: [envoy, short], metrics: [prometheus] }
`);
    expect(m.logging.defaults).toEqual(["envoy", "short"]);
    expect(Object.fromEntries(m.logging.providers)).toEqual({
      envoy: { name: "envoy", format: { kind: "mesh" } },
      short: { name: "Short", format: { kind: "text", text: "%RESPONSE_CODE%" } },
      json: { name: "json", format: { kind: "labels", labels: { code: "%RESPONSE_CODE%" } } },
    });
  });

  it("an empty mesh key is the defaults", () => {
    expect(parseMeshConfig("")).toEqual(DEFAULT_MESH);
    expect(parse(rendered({}))).toHaveProperty("defaultHttpRetryPolicy.attempts", 2);
  });
});

test("mtls.mode is the mesh-wide PeerAuthentication default: PERMISSIVE when unset, a bad value named", () => {
  expect(parseMeshConfig("").mtlsMode).toBe("PERMISSIVE");
  expect(parseMeshConfig("mtls:\n  mode: STRICT\n").mtlsMode).toBe("STRICT");
  expect(parseMeshConfig("mtls:\n  mode: DISABLE\n").mtlsMode).toBe("DISABLE");
  expect(() => parseMeshConfig("mtls:\n  mode: MAYBE\n")).toThrow(/^mtls\.mode: /);
  expect(() => parseMeshConfig("mtls:\n  mode: STRICT\n  extra: 1\n")).toThrow(/^mtls\.extra: unknown field/);
});
