import type { V1Pod } from "@kubernetes/client-node";
import { PROXY_CONTAINER, STATUS } from "../injector/patch.js";
import { injectedPod, proxiedBy } from "./upgrades.js";

const pod = (discovery: string, deleting = false): V1Pod => ({
  metadata: {
    name: "app-0",
    namespace: "apps",
    annotations: { [STATUS]: "{}" },
    ...(deleting ? { deletionTimestamp: new Date() } : {}),
  },
  spec: {
    containers: [
      { name: "app", image: "app" },
      { name: PROXY_CONTAINER, image: "weft", args: ["proxy", "--discovery-address", `${discovery}:15010`] },
    ],
  },
});

describe("which mesh an injected pod belongs to", () => {
  it("is the mesh whose control plane its proxy talks to, and no other", () => {
    const p = pod("weftd.weft-upgrades.svc");
    expect(proxiedBy(p, "weft-upgrades")).toBe(true);
    expect(proxiedBy(p, "weft-system")).toBe(false);
    expect(injectedPod(p, "weft-system")).toBeUndefined();
    expect(injectedPod(p, "weft-upgrades")).toMatchObject({ namespace: "apps", name: "app-0" });
  });

  it("stays that mesh's while the pod is deleted, though it is no longer one to upgrade", () => {
    const p = pod("weftd.weft-system.svc", true);
    expect(proxiedBy(p, "weft-system")).toBe(true);
    expect(injectedPod(p, "weft-system")).toBeUndefined();
  });

  it("is none for a pod without the proxy container", () => {
    const p: V1Pod = { metadata: { name: "plain" }, spec: { containers: [{ name: "app", image: "app" }] } };
    expect(proxiedBy(p, "weft-system")).toBe(false);
  });
});
