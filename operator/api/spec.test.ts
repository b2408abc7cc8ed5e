import { normalizeSpec, SpecError } from "./spec.js";
import { BAD_SPECS } from "../../test/fixtures/bad-specs.js";
import { WEFT_VERSION } from "./version.js";

describe("normalizeSpec", () => {
  it("fills every default of an empty spec, nested ones included", () => {
    const spec = normalizeSpec({});
    expect(spec.version).toBe(WEFT_VERSION);
    expect(spec.namespace).toBe("weft-system");
    expect(spec.proxy.restartPolicy).toBe("HotRestart");
    expect(spec.proxy.resources.requests).toEqual({ cpu: "100m", memory: "128Mi" });
    expect(spec.meshConfig.defaultRetryPolicy).toEqual({
      attempts: 2,
      retryOn: "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes",
    });
    expect(spec.meshConfig.mtls.mode).toBe("PERMISSIVE");
    expect(spec.updateStrategy.type).toBe("InPlace");
  });

  it("keeps what the user set", () => {
    const spec = normalizeSpec({
      version: "0.1.0",
      proxy: { restartPolicy: "Never", resources: { requests: { cpu: "1" } } },
    });
    expect(spec.version).toBe("0.1.0");
    expect(spec.proxy.restartPolicy).toBe("Never");
    expect(spec.proxy.resources.requests).toEqual({ cpu: "1" });
  });

  it("does not modify its argument", () => {
    const raw = { proxy: {} };
    normalizeSpec(raw);
    expect(raw).toEqual({ proxy: {} });
  });

  it("names the value a proxyHeaders field can't take, and what it can", () => {
    const refused = (proxyHeaders: object) => () => normalizeSpec({ meshConfig: { defaultConfig: { proxyHeaders } } });
    expect(refused({ preserveHttp1HeaderCase: true })).toThrow(
      "spec.meshConfig.defaultConfig.proxyHeaders.preserveHttp1HeaderCase: Unsupported value true: supported values: false",
    );
    expect(refused({ forwardedClientCert: "SANITISE" })).toThrow(
      /forwardedClientCert: Unsupported value "SANITISE": supported values: "UNDEFINED", "SANITIZE"/,
    );
    const ok = normalizeSpec({
      meshConfig: {
        defaultConfig: {
          proxyHeaders: {
            server: { value: "x" },
            envoyDebugHeaders: { disabled: true },
            xForwardedHost: { enabled: true },
            xForwardedPort: { enabled: true },
          },
        },
      },
    });
    expect(ok.meshConfig.defaultConfig.proxyHeaders).toEqual({
      server: { value: "x" },
      envoyDebugHeaders: { disabled: true },
      xForwardedHost: { enabled: true },
      xForwardedPort: { enabled: true },
    });
  });

  it.each(BAD_SPECS)("rejects $why, naming $field", ({ spec, field }) => {
    expect(() => normalizeSpec(spec)).toThrow(SpecError);
    expect(() => normalizeSpec(spec)).toThrow(new RegExp(`^${field.replace(/[.[\]]/g, "\\$&")}: `));
  });
});

test("meshConfig.mtls.mode STRICT is accepted: discovery renders STRICT inbound chains", () => {
  expect(normalizeSpec({ meshConfig: { mtls: { mode: "STRICT" } } }).meshConfig.mtls.mode).toBe("STRICT");
});
