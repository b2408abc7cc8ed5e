// A DestinationRule's workloadSelector as istiod's webhook checks it (validateWorkloadSelector, validateExportTo).
import { validateObject } from "./index.js";

const rule = (spec: Record<string, unknown>) => ({
  apiVersion: "networking.istio.io/v1",
  kind: "DestinationRule",
  metadata: { name: "pay-a", namespace: "shop" },
  spec: { host: "pay.example", ...spec },
});

describe("DestinationRule workloadSelector validation", () => {
  it.each([[undefined], [["."]], [["shop"]]])("accepts matchLabels with exportTo %j", (exportTo) => {
    expect(validateObject(rule({ workloadSelector: { matchLabels: { app: "a" } }, exportTo }))).toEqual([]);
  });

  it("refuses exportTo beyond the rule's namespace, or more than it, in istiod's words", () => {
    const selector = { matchLabels: { app: "a" } };
    expect(validateObject(rule({ workloadSelector: selector, exportTo: ["*"] }))).toEqual([
      "spec.exportTo: destination rule with workload selector cannot have exportTo beyond current namespace",
    ]);
    expect(validateObject(rule({ workloadSelector: selector, exportTo: [".", "other"] }))).toEqual([
      "spec.exportTo: destination rule with workload selector cannot have multiple entries in exportTo",
    ]);
  });

  it("refuses an empty key, a wildcard, and a selector without labels", () => {
    expect(validateObject(rule({ workloadSelector: { matchLabels: { "": "a", app: "b*" } } }))).toEqual([
      'spec.workloadSelector.matchLabels: empty key is not supported in selector: "=a"',
      'spec.workloadSelector.matchLabels: wildcard is not supported in selector: "app=b*"',
    ]);
    expect(validateObject(rule({ workloadSelector: {} }))).toEqual([
      "spec.workloadSelector.matchLabels: workload selector specified without labels (leave out workloadSelector for every workload)",
    ]);
  });

  it("names a Sidecar-style `labels` as the unknown field it is (a DestinationRule's selector says matchLabels)", () => {
    expect(validateObject(rule({ workloadSelector: { labels: { app: "a" } } }))).toEqual([
      "spec.workloadSelector.matchLabels: workload selector specified without labels (leave out workloadSelector for every workload)",
      "spec.workloadSelector.labels: unknown field",
    ]);
  });
});
