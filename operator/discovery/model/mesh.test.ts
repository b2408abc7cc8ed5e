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
  it("reads the operator's rendering of the defaults as Istio's defaults, saying mTLS is not applied", () => {
    const m = parseMeshConfig(rendered({}));
    expect(m).toMatchObject({ defaultRetry: DEFAULT_MESH.defaultRetry, accessLog: undefined, tracingSampling: 1 });
    expect(m.warnings).toEqual([
      "mtls.mode PERMISSIVE: mutual TLS between proxies is not implemented yet; traffic is plaintext",
    ]);
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
      tracingSampling: 25,
      outboundTrafficPolicy: "ALLOW_ANY",
      trustDomain: "cluster.local",
      rootNamespace: "istio-system",
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
    ["enableTracing: true", "enableTracing: unknown field"],
  ])("refuses %s, naming the field", (text, message) => {
    expect(() => parseMeshConfig(text)).toThrow(message);
  });

  it("an empty mesh key is the defaults", () => {
    expect(parseMeshConfig("")).toEqual(DEFAULT_MESH);
    expect(parse(rendered({}))).toHaveProperty("defaultHttpRetryPolicy.attempts", 2);
  });
});
