import type { KubernetesObject } from "@kubernetes/client-node";
import { SyncTracker } from "./ads/tracker.js";
import { ProxyReporter, reportConfigMap } from "./report.js";

const silent = { info: () => undefined, warn: () => undefined };
const status = (cm: KubernetesObject | undefined) =>
  JSON.parse((cm as { data: Record<string, string> }).data["status.weftd-0.json"] ?? "{}") as Record<string, unknown>;

function reporter(apply: (obj: KubernetesObject) => Promise<unknown>) {
  const tracker = new SyncTracker();
  return {
    tracker,
    r: new ProxyReporter({
      tracker,
      namespace: "weft-system",
      mesh: "default",
      replica: "weftd-0",
      apply,
      log: silent,
    }),
  };
}

describe("the proxy report", () => {
  it("is ConfigMap weft-proxy-status, key status.<replica>.json, labelled with its mesh", () => {
    const where = { namespace: "ns", mesh: "m", replica: "weftd-0" };
    const cm = reportConfigMap(
      {
        connected: 1,
        synced: 1,
        nacked: 0,
        versions: { "3": 1 },
        configVersions: {},
        engines: {},
        nacks: [],
        updated: "2026-01-01T00:00:00Z",
      },
      where,
    );
    expect(cm.metadata).toMatchObject({ name: "weft-proxy-status", namespace: "ns", labels: { "weft.dev/mesh": "m" } });
    expect(JSON.parse(cm.data?.["status.weftd-0.json"] ?? "")).toMatchObject({
      connected: 1,
      synced: 1,
      versions: { "3": 1 },
    });
    expect(reportConfigMap(undefined, where).data).toBeUndefined(); // withdrawing: the replica's key is no longer applied
  });

  it("is withdrawn on stop, once written", async () => {
    const writes: KubernetesObject[] = [];
    const { r } = reporter(async (obj) => writes.push(obj));
    await r.tick(10_000);
    await r.stop();
    expect(writes.map((w) => Object.keys((w as { data?: object }).data ?? {}))).toEqual([["status.weftd-0.json"], []]);
  });

  it("is written once at start, then only when the summary changes, and at most every 2 s", async () => {
    const writes: KubernetesObject[] = [];
    const { tracker, r } = reporter(async (obj) => writes.push(obj));
    await r.tick(10_000);
    await r.tick(20_000);
    expect(writes).toHaveLength(1); // unchanged: nothing written, however long it has been
    tracker.connect(1, "sidecar~a");
    await r.tick(20_500);
    expect(writes).toHaveLength(2);
    tracker.connect(2, "sidecar~b");
    await r.tick(21_000);
    expect(writes).toHaveLength(2); // changed, but too soon after the last write
    await r.tick(22_500);
    expect(writes).toHaveLength(3);
    expect(status(writes[2])).toMatchObject({ connected: 2 });
  });

  it("writes a change of config generations alone at most every 10 s", async () => {
    const writes: KubernetesObject[] = [];
    const { tracker, r } = reporter(async (obj) => writes.push(obj));
    tracker.connect(1, "sidecar~a");
    tracker.atVersion(1, "1");
    await r.tick(10_000);
    tracker.atVersion(1, "2"); // a push: the proxy moved to the next generation
    await r.tick(12_500);
    await r.tick(19_000);
    expect(writes).toHaveLength(1);
    await r.tick(20_000);
    expect(writes).toHaveLength(2);
    expect(status(writes[1])).toMatchObject({ configVersions: { "2": 1 } });
    tracker.atVersion(1, "3");
    tracker.connect(2, "sidecar~b"); // with anything else, the usual 2 s
    await r.tick(22_000);
    expect(writes).toHaveLength(3);
  });

  it("tries again after a failed write", async () => {
    let fail = true;
    const writes: KubernetesObject[] = [];
    const { r } = reporter(async (obj) => {
      if (fail) throw new Error("forbidden");
      writes.push(obj);
    });
    await r.tick(10_000);
    fail = false;
    await r.tick(12_000);
    expect(writes).toHaveLength(1);
  });
});
