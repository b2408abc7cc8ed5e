import { stringify } from "yaml";
import { normalizeSpec } from "../api/spec.js";
import { injectorConfigMap } from "../install/render-injector.js";
import { injectAdmission } from "./admit.js";
import { parseInjectorConfigMap, selectorMatches } from "./config.js";

const data = injectorConfigMap(
  normalizeSpec({ version: "0.3.0", hub: "registry.example.com/weft", namespace: "mesh-a" }),
).data;
const inputs = {
  namespaceLabels: { "istio-injection": "enabled" },
  configMapData: data,
  configMapName: "weft-sidecar-injector",
  discoveryNamespace: "mesh-a",
};
const review = (object: unknown) => ({
  apiVersion: "admission.k8s.io/v1",
  kind: "AdmissionReview",
  request: { uid: "u1", namespace: "shop", object },
});
const pod = { metadata: { generateName: "web-" }, spec: { containers: [{ name: "app" }] } };
const decode = (patch?: string) =>
  JSON.parse(Buffer.from(patch ?? "", "base64").toString("utf8")) as { op: string; path: string }[];

describe("the injection webhook's answer", () => {
  it("allows the pod with a base64 JSON Patch, echoing the uid", () => {
    const { review: r, problem } = injectAdmission(review(pod), inputs);
    expect(problem).toBeUndefined();
    expect(r).toMatchObject({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: { uid: "u1", allowed: true, patchType: "JSONPatch" },
    });
    expect(decode(r.response.patch).map((o) => o.path)).toEqual([
      "/spec/initContainers",
      "/spec/containers/-",
      "/spec/containers/-",
      "/spec/volumes",
      "/metadata/annotations",
      "/metadata/labels",
    ]);
  });

  it("allows without a patch a pod that isn't injected, and input that isn't a pod", () => {
    expect(injectAdmission(review(pod), { ...inputs, namespaceLabels: {} }).review.response).toEqual({
      uid: "u1",
      allowed: true,
    });
    expect(injectAdmission(review(null), inputs).review.response).toEqual({ uid: "u1", allowed: true });
    expect(injectAdmission({}, inputs).review.response).toEqual({ uid: "", allowed: true });
  });

  it.each([
    [
      "a template that isn't YAML",
      { ...data, config: stringify({ policy: "enabled", templates: { sidecar: "containers: [" } }) },
      "config",
    ],
    [
      "a template without containers",
      { ...data, config: stringify({ policy: "enabled", templates: { sidecar: "foo: 1" } }) },
      "config",
    ],
    [
      "a missing default template",
      { ...data, config: stringify({ policy: "enabled", defaultTemplates: ["gone"], templates: {} }) },
      "config",
    ],
    ["config that isn't YAML", { ...data, config: "policy: [" }, "config"],
    ["values that aren't JSON", { ...data, values: "{" }, "values"],
    ["no config key", { values: data.values }, "config"],
  ])("lets the pod through unpatched, with a warning naming the key, on %s", (_what, bad, key) => {
    const { review: r, problem } = injectAdmission(review(pod), { ...inputs, configMapData: bad });
    expect(r.response.allowed).toBe(true);
    expect(r.response.patch).toBeUndefined();
    expect(r.response.warnings?.[0]).toContain(`mesh-a/weft-sidecar-injector key "${key}"`);
    expect(r.response.warnings?.[0]).toMatch(/^[\x20-\x7e]{1,250}$/); // one printable line, or the API server drops it
    expect(problem?.configMapKey).toBe(key);
  });

  it("refuses a pod whose proxy.istio.io/config Weft can't honour, naming the annotation and the field", () => {
    const asks = { ...pod, metadata: { ...pod.metadata, annotations: { "proxy.istio.io/config": "tracing: {}" } } };
    const { review: r, problem } = injectAdmission(review(asks), inputs);
    expect(r.response).toEqual({
      uid: "u1",
      allowed: false,
      status: {
        code: 400,
        reason: "BadRequest",
        message: expect.stringMatching(
          /^metadata\.annotations\["proxy\.istio\.io\/config"\]: tracing: not implemented by Weft/,
        ) as unknown,
      },
    });
    expect(problem).toBeUndefined(); // the pod's owner is told; nothing for the mesh's admin to fix
  });

  it("warns when the ConfigMap is missing", () => {
    expect(
      injectAdmission(review(pod), { ...inputs, configMapData: undefined }).review.response.warnings?.[0],
    ).toContain("missing");
  });
});

describe("the injection ConfigMap", () => {
  it("parses what the operator renders", () => {
    const parsed = parseInjectorConfigMap(data);
    expect(parsed.ok && parsed.config.templates.sidecar?.containers[0]?.name).toBe("weft-proxy");
    expect(parsed.ok && parsed.values.global?.proxy?.image).toBe("registry.example.com/weft/weft:0.3.0");
  });

  it("matches label selectors as Kubernetes does", () => {
    const labels = { app: "a", tier: "web" };
    expect(selectorMatches({}, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { app: "a" } }, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { app: "b" } }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: "tier", operator: "NotIn", values: ["db"] }] }, labels)).toBe(
      true,
    );
    expect(selectorMatches({ matchExpressions: [{ key: "x", operator: "DoesNotExist" }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: "x", operator: "Exists" }] }, labels)).toBe(false);
  });
});
