// PeerAuthentication through the validator the webhook and the config folder share: Istio's YAML passes, an unknown
// or unsupported field is refused naming it (never accepted and ignored), and istiod's rules about ports hold.
import { parseYaml } from "../../../test/support/discovery/bookinfo.js";
import { validateObject } from "./index.js";

const errors = (spec: string, ns = "foo") =>
  validateObject(
    parseYaml(
      `apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: { name: p, namespace: ${ns} }\nspec: ${spec}`,
    )[0] ?? {},
  );

describe("PeerAuthentication validation", () => {
  it.each([
    "{ mtls: { mode: STRICT } }",
    "{ mtls: { mode: PERMISSIVE } }",
    "{}",
    "{ selector: { matchLabels: { app: finance } }, mtls: { mode: UNSET }, portLevelMtls: { 8080: { mode: DISABLE } } }",
  ])("accepts Istio's %s", (spec) => {
    expect(errors(spec)).toEqual([]);
  });

  it("refuses unknown fields and bad modes, naming them", () => {
    expect(errors("{ mtls: { mode: STRICT, strict: true } }")).toEqual(["spec.mtls.strict: unknown field"]);
    expect(errors("{ mtls: { mode: MUTUAL } }")[0]).toMatch(
      /^spec\.mtls\.mode: "MUTUAL" is not one of UNSET, DISABLE, PERMISSIVE, STRICT/,
    );
    expect(errors("{ mtl: { mode: STRICT } }")[0]).toMatch(/^spec\.mtl: unknown field \(did you mean "mtls"\?\)/);
  });

  it("refuses what istiod refuses, and what Weft would not enforce", () => {
    expect(errors("{ portLevelMtls: { 8080: { mode: DISABLE } } }")).toEqual([
      "spec.portLevelMtls: a mesh-wide or namespace-wide policy (no selector) cannot have portLevelMtls",
    ]);
    expect(errors("{ selector: { matchLabels: { app: a } }, portLevelMtls: { 0: { mode: DISABLE } } }")).toEqual([
      'spec.portLevelMtls["0"]: is not a port number (1-65535)',
    ]);
    expect(errors("{ targetRef: { kind: Service, name: a } }")).toEqual([
      "spec.targetRef: not supported by Weft (use spec.selector)",
    ]);
  });
});
