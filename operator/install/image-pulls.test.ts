import type { V1Pod } from "@kubernetes/client-node";
import { describeImagePulls, imagePullFailures } from "./image-pulls.js";

const pod = (name: string, waiting: Record<string, string>, init: Record<string, string> = {}): V1Pod => ({
  metadata: { name, namespace: "shop" },
  spec: {
    initContainers: Object.keys(init).map((c) => ({ name: c, image: `hub/${c}:1` })),
    containers: Object.keys(waiting).map((c) => ({ name: c, image: `hub/${c}:1` })),
  },
  status: {
    initContainerStatuses: Object.entries(init).map(([c, reason]) => status(c, reason)),
    containerStatuses: Object.entries(waiting).map(([c, reason]) => status(c, reason)),
  },
});
const status = (name: string, reason: string) => ({
  name,
  image: "",
  imageID: "",
  ready: false,
  restartCount: 0,
  state: reason ? { waiting: { reason, message: `kubelet says ${reason} at 12:00:01` } } : { running: {} },
});

describe("imagePullFailures", () => {
  it("names the pod, the container and the image asked for, of every container that can't get its image", () => {
    const failures = imagePullFailures([
      pod("b", { app: "", "weft-proxy": "ErrImageNeverPull" }),
      pod("a", { app: "ImagePullBackOff" }, { "weft-init": "ErrImagePull" }),
      pod("c", { app: "CrashLoopBackOff" }),
    ]);
    expect(failures).toEqual([
      { pod: "shop/a", container: "app", image: "hub/app:1", reason: "ErrImagePull" },
      { pod: "shop/a", container: "weft-init", image: "hub/weft-init:1", reason: "ErrImagePull" },
      { pod: "shop/b", container: "weft-proxy", image: "hub/weft-proxy:1", reason: "ErrImageNeverPull" },
    ]);
  });

  it("reports a pull's retries as one reason, and no kubelet message, so status doesn't change on every back-off", () => {
    const pulling = imagePullFailures([pod("a", { app: "ErrImagePull" })]);
    const backingOff = imagePullFailures([pod("a", { app: "ImagePullBackOff" })]);
    expect(describeImagePulls(backingOff)).toBe(describeImagePulls(pulling));
    expect(describeImagePulls(pulling)).toContain('pod shop/a container app: ErrImagePull for image "hub/app:1"');
    expect(describeImagePulls(pulling)).toContain("npm run image");
  });

  it("leaves out pods being deleted", () => {
    const gone = { ...pod("a", { app: "ErrImagePull" }), metadata: { name: "a", deletionTimestamp: new Date() } };
    expect(imagePullFailures([gone])).toEqual([]);
  });
});
