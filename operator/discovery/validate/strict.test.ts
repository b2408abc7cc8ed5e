// The validation corpus against the one validator (webhook and config folder use it), and Istio's own YAML.
import { readFileSync } from "node:fs";
import { INVALID, invalidObject } from "../../../test/fixtures/invalid-istio.js";
import { parseYaml, sample } from "../../../test/support/discovery/bookinfo.js";
import { validateObject } from "./index.js";
import { suggest } from "./shape.js";

describe("strict validation of Istio objects", () => {
  it("has at least 40 invalid objects, of every kind Weft serves", () => {
    expect(INVALID.length).toBeGreaterThanOrEqual(40);
    expect(new Set(INVALID.map((c) => c.kind))).toEqual(
      new Set(["VirtualService", "DestinationRule", "Gateway", "ServiceEntry", "WorkloadEntry", "Sidecar"]),
    );
  });

  it.each(INVALID.map((c, i) => [`${c.kind}: ${c.what}`, c, i] as const))(
    "rejects %s, naming the field",
    (_what, c, i) => {
      // With DestinationRules to check subsets against, as the config folder and the webhook do.
      const errors = validateObject(invalidObject(c, i), { destinationRules: [] });
      expect(errors.length).toBeGreaterThan(0);
      const named = errors.filter((e) => e.startsWith(`${c.field}: `));
      expect(named).not.toEqual([]);
      if (c.says) expect(named.join("\n")).toContain(c.says);
    },
  );

  it.each([
    "bookinfo-gateway.yaml",
    "destination-rule-all.yaml",
    "virtual-service-all-v1.yaml",
    "virtual-service-reviews-test-v2.yaml",
  ])("accepts Istio's %s", (file) => {
    for (const obj of sample(file)) expect(validateObject(obj)).toEqual([]);
  });

  it("accepts local mode's Bookinfo services", () => {
    const text = readFileSync(new URL("../../../samples/bookinfo/local/services.yaml", import.meta.url), "utf8");
    for (const obj of parseYaml(text)) expect(validateObject(obj)).toEqual([]);
  });

  it("rejects unknown top-level fields, a missing name, and kinds Weft doesn't serve", () => {
    expect(
      validateObject({ apiVersion: "networking.istio.io/v1", kind: "VirtualService", metadata: {}, spce: {} } as never),
    ).toEqual([
      'spce: unknown field (did you mean "spec"?)',
      "metadata.name: is required",
      "spec.hosts: at least one host is required (or, for a delegate, http routes)",
    ]);
    expect(
      validateObject({ apiVersion: "networking.istio.io/v1", kind: "EnvoyFilter", metadata: { name: "s" } })[0],
    ).toMatch(/^kind: EnvoyFilter \(networking.istio.io\) is not supported by Weft/);
    expect(
      validateObject({ apiVersion: "v1", kind: "Service", metadata: { name: "s" }, spec: { anything: 1 } }),
    ).toEqual([]);
  });

  it("suggests only close names", () => {
    expect(suggest("attemps", ["attempts", "perTryTimeout", "retryOn"])).toBe("attempts");
    expect(suggest("zzz", ["attempts", "retryOn"])).toBeUndefined();
  });
});
