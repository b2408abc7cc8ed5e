import { parse } from "yaml";
import type { KubeObject } from "../../discovery/model/kube.js";
import { planApply, planDelete, type FolderFile } from "./apply-plan.js";

const vs = (name: string, http: unknown): KubeObject =>
  ({
    apiVersion: "networking.istio.io/v1",
    kind: "VirtualService",
    metadata: { name },
    spec: { hosts: [name], http },
  }) as KubeObject;
const dr: KubeObject = {
  apiVersion: "networking.istio.io/v1",
  kind: "DestinationRule",
  metadata: { name: "reviews" },
  spec: { host: "reviews", subsets: [{ name: "v1", labels: { version: "v1" } }] },
} as KubeObject;

describe("weft apply / delete, planned", () => {
  const folder: FolderFile[] = [
    {
      name: "bookinfo.yaml",
      objects: [dr, vs("reviews", [{ route: [{ destination: { host: "reviews", subset: "v1" } }] }])],
    },
  ];

  it("an invalid object: one line per failure naming the object and the field; nothing written", () => {
    const plan = planApply(
      folder,
      [vs("reviews", [{ route: [{ destination: { host: "reviews", subset: "v9" } }], retries: { attempts: -1 } }])],
      "bad.yaml",
    );
    expect(plan.writes.size).toBe(0);
    expect(plan.errors.length).toBeGreaterThan(0);
    for (const e of plan.errors) expect(e).toMatch(/^VirtualService default\/reviews: spec\.http\[0\]\.\S+/);
    expect(plan.errors.join("\n")).toContain("v9");
  });

  it("a valid object replaces its namesake in another file, as kubectl apply does: configured", () => {
    const next = vs("reviews", [{ route: [{ destination: { host: "reviews", subset: "v1" } }], timeout: "2s" }]);
    const plan = planApply(folder, [next], "reviews.yaml");
    expect(plan.errors).toEqual([]);
    expect(plan.results).toEqual(["virtualservice.networking.istio.io/reviews configured"]);
    expect(parse(plan.writes.get("virtualservice-default-reviews.yaml")!)).toEqual(next);
    expect(parse(plan.writes.get("bookinfo.yaml")!)).toEqual(dr); // the old definition is gone from its file
    expect(
      planApply(folder, [vs("ratings", [{ route: [{ destination: { host: "ratings" } }] }])], "r.yaml").results,
    ).toEqual(["virtualservice.networking.istio.io/ratings created"]);
  });

  it("delete removes the object from the file that holds it; a missing one is named", () => {
    const plan = planDelete(folder, [vs("reviews", []), vs("nope", [])]);
    expect(plan.results).toEqual(["virtualservice.networking.istio.io/reviews deleted"]);
    expect(plan.errors).toEqual(["virtualservice.networking.istio.io/nope not found in the config folder"]);
    expect(parse(plan.writes.get("bookinfo.yaml")!)).toEqual(dr);
  });
});
