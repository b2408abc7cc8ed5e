import type { V1Deployment } from "@kubernetes/client-node";
import type { MeshStatus } from "../api/types.js";
import { determineStatus, sameStatus, type Observed } from "./status.js";

const t0 = new Date("2026-11-22T00:00:00.750Z");
const later = new Date("2026-11-22T00:05:00Z");

function deployment(
  version: string,
  s: {
    generation?: number;
    observed?: number;
    replicas?: number;
    updated?: number;
    available?: number;
    total?: number;
  } = {},
): V1Deployment {
  const replicas = s.replicas ?? 2;
  return {
    metadata: { generation: s.generation ?? 1 },
    spec: { replicas, selector: {}, template: { metadata: { labels: { "app.kubernetes.io/version": version } } } },
    status: {
      observedGeneration: s.observed ?? s.generation ?? 1,
      replicas: s.total ?? replicas,
      updatedReplicas: s.updated ?? replicas,
      availableReplicas: s.available ?? replicas,
    },
  };
}

const observe = (o: Partial<Observed>): Observed => ({ generation: 1, previous: {}, now: t0, ...o });
const cond = (s: MeshStatus, type: string) => s.conditions?.find((c) => c.type === type);

describe("determineStatus", () => {
  it("names the pod and the image when weftd can't start its image, instead of a silent Deploying", () => {
    const s = determineStatus(
      observe({
        deployment: deployment("0.9.0", { updated: 2, available: 0 }),
        controlPlaneImages: [
          { pod: "weft-system/weftd-1", container: "discovery", image: "hub/weft:0.9.0", reason: "ErrImageNeverPull" },
        ],
      }),
    );
    expect(cond(s, "ControlPlaneReady")).toMatchObject({ status: "False", reason: "ImagePullFailed" });
    expect(cond(s, "ControlPlaneReady")?.message).toContain(
      'pod weft-system/weftd-1 container discovery: ErrImageNeverPull for image "hub/weft:0.9.0"',
    );
    expect(s.state).toBe("ImagePullFailed");
  });

  it("turns ProxiesSynced False naming an injected pod that can't start its image, though every connected proxy is synced", () => {
    const s = determineStatus(
      observe({
        deployment: deployment("0.2.0"),
        proxyReport: { connected: 3, synced: 3, nacked: 0 },
        proxyImages: [{ pod: "shop/web-1", container: "weft-proxy", image: "hub/weft:nope", reason: "ErrImagePull" }],
      }),
    );
    expect(cond(s, "ProxiesSynced")).toMatchObject({ status: "False", reason: "ImagePullFailed" });
    expect(cond(s, "ProxiesSynced")?.message).toContain(
      'pod shop/web-1 container weft-proxy: ErrImagePull for image "hub/weft:nope"',
    );
    expect(cond(s, "Ready")?.status).toBe("True");
  });

  it("is Ready and Healthy when reconciled and every replica is available, reporting the rolled-out version", () => {
    const s = determineStatus(observe({ deployment: deployment("0.2.0") }));
    expect(cond(s, "Ready")).toMatchObject({ status: "True", reason: "Ready", observedGeneration: 1 });
    expect(s.state).toBe("Healthy");
    expect(s.version).toBe("0.2.0");
    expect(s.observedGeneration).toBe(1);
  });

  it("truncates transition times to the second", () => {
    const s = determineStatus(observe({ deployment: deployment("0.2.0") }));
    expect(cond(s, "Ready")?.lastTransitionTime).toBe("2026-11-22T00:00:00Z");
  });

  it("reports Upgrading, and keeps the old version, while a new version rolls", () => {
    const previous = determineStatus(observe({ deployment: deployment("0.1.0") }));
    const s = determineStatus(
      observe({
        generation: 2,
        previous,
        now: later,
        deployment: deployment("0.2.0", { generation: 2, observed: 2, updated: 1, available: 2, total: 3 }),
      }),
    );
    expect(cond(s, "Ready")).toMatchObject({ status: "False", reason: "Upgrading" });
    expect(cond(s, "ControlPlaneReady")?.message).toBe("rolling weftd from 0.1.0 to 0.2.0: 1/2 updated, 2/2 available");
    expect(s.state).toBe("Upgrading");
    expect(s.version).toBe("0.1.0");
  });

  it("treats a Deployment the controller has not yet seen as not rolled out", () => {
    const previous = determineStatus(observe({ deployment: deployment("0.1.0") }));
    const s = determineStatus(observe({ previous, deployment: deployment("0.2.0", { generation: 3, observed: 2 }) }));
    expect(cond(s, "ControlPlaneReady")?.reason).toBe("Upgrading");
  });

  it("says Deploying on a first install that is not yet available", () => {
    const s = determineStatus(observe({ deployment: deployment("0.2.0", { available: 0 }) }));
    expect(cond(s, "Ready")).toMatchObject({ status: "False", reason: "Deploying" });
    expect(s.version).toBeUndefined();
  });

  it("puts a reconcile failure first, with its reason and message", () => {
    const s = determineStatus(
      observe({
        reconcileError: { reason: "UnknownVersion", message: "spec.version: 9.9.9 is not a version" },
        deployment: deployment("0.2.0"),
      }),
    );
    expect(cond(s, "Reconciled")).toMatchObject({
      status: "False",
      reason: "UnknownVersion",
      message: "spec.version: 9.9.9 is not a version",
    });
    expect(cond(s, "Ready")).toMatchObject({ status: "False", reason: "UnknownVersion" });
    expect(s.state).toBe("UnknownVersion");
    expect(s.version).toBe("0.2.0"); // what is actually running
  });

  it("leaves ProxiesSynced Unknown until weftd reports, without holding Ready back", () => {
    const s = determineStatus(observe({ deployment: deployment("0.2.0") }));
    expect(cond(s, "ProxiesSynced")).toMatchObject({ status: "Unknown", reason: "NoReport" });
    expect(s.proxies).toBeUndefined();
  });

  it("reports a NACK as ProxiesSynced=False with the proxy's error, and counts proxies", () => {
    const s = determineStatus(
      observe({
        deployment: deployment("0.2.0"),
        proxyReport: {
          connected: 3,
          synced: 2,
          nacked: 1,
          versions: { "0.2.0": 3 },
          nacks: [{ node: "sidecar~a", type: "RouteConfiguration", error: "bad regex" }],
        },
      }),
    );
    expect(cond(s, "ProxiesSynced")).toMatchObject({
      status: "False",
      reason: "ConfigRejected",
      message: "1 of 3 proxies rejected the latest config: sidecar~a rejected RouteConfiguration: bad regex",
    });
    expect(s.proxies).toEqual({ connected: 3, synced: 2, nacked: 1, versions: { "0.2.0": 3 } });
    expect(s.state).toBe("ConfigRejected");
    expect(cond(s, "Ready")?.status).toBe("True");
  });

  it("keeps each transition time while its status holds, so an unchanged world gives an identical status", () => {
    const first = determineStatus(observe({ deployment: deployment("0.2.0") }));
    const again = determineStatus(observe({ previous: first, now: later, deployment: deployment("0.2.0") }));
    expect(sameStatus(first, again)).toBe(true);
    const changed = determineStatus(
      observe({ previous: first, now: later, deployment: deployment("0.2.0", { available: 1 }) }),
    );
    expect(sameStatus(first, changed)).toBe(false);
    expect(cond(changed, "Reconciled")?.lastTransitionTime).toBe("2026-11-22T00:00:00Z");
    expect(cond(changed, "ControlPlaneReady")?.lastTransitionTime).toBe("2026-11-22T00:05:00Z");
  });
});
