import { summarise, summaryChange } from "./summary.js";
import { SyncTracker } from "./tracker.js";
import { TYPE } from "../../../proxy/xds/types.js";

describe("summarise", () => {
  const now = new Date("2026-11-22T01:02:03.456Z");

  it("counts connected, synced and nacked proxies, their config versions and the NACK errors", () => {
    const t = new SyncTracker();
    t.connect(1, "sidecar~10.0.0.1~a.default~default.svc.cluster.local", now);
    t.connect(2, "sidecar~10.0.0.2~b.default~default.svc.cluster.local", now);
    t.connect(3, "router~10.0.0.3~gw.default~default.svc.cluster.local", now);
    for (const c of [1, 2, 3]) {
      t.sent(c, TYPE.cluster, "7");
      t.acked(c, TYPE.cluster, "7");
      t.atVersion(c, "7");
    }
    // 2 NACKs a route; it keeps the last good version.
    t.sent(2, TYPE.route, "8");
    t.nacked(2, TYPE.route, "7", "route: invalid regex", now);
    // 3 hasn't answered yet.
    t.sent(3, TYPE.listener, "8");

    expect(summarise(t.state(), now)).toEqual({
      connected: 3,
      synced: 1,
      nacked: 1,
      versions: {},
      configVersions: { "7": 3 },
      engines: {},
      nacks: [
        { node: "sidecar~10.0.0.2~b.default~default.svc.cluster.local", type: "RDS", error: "route: invalid regex" },
      ],
      updated: "2026-11-22T01:02:03Z",
    });
  });

  it("clears a NACK with the next ACK", () => {
    const t = new SyncTracker();
    t.connect(1, "n", now);
    t.sent(1, TYPE.route, "2");
    t.nacked(1, TYPE.route, "1", "bad", now);
    t.sent(1, TYPE.route, "3");
    t.acked(1, TYPE.route, "3");
    expect(summarise(t.state(), now)).toMatchObject({ synced: 1, nacked: 0, nacks: [] });
  });

  it("doesn't count a proxy whose snapshot failed as synced, and says why, until a snapshot is built again", () => {
    const t = new SyncTracker();
    t.connect(1, "n", now);
    t.sent(1, TYPE.cluster, "4");
    t.acked(1, TYPE.cluster, "4");
    t.snapshot(1, "snapshot for sidecar proxies in default: boom");
    expect(summarise(t.state(), now)).toMatchObject({
      synced: 0,
      nacks: [{ node: "n", type: "snapshot", error: "snapshot for sidecar proxies in default: boom" }],
    });
    expect(t.state()[0]?.snapshotError).toBe("snapshot for sidecar proxies in default: boom");
    t.snapshot(1, undefined);
    expect(summarise(t.state(), now)).toMatchObject({ synced: 1, nacks: [] });
  });

  it("is empty with no proxies, and tells changes apart from a new timestamp, and config generations from the rest", () => {
    const empty = summarise([], now);
    expect(empty).toEqual({
      connected: 0,
      synced: 0,
      nacked: 0,
      versions: {},
      configVersions: {},
      engines: {},
      nacks: [],
      updated: "2026-11-22T01:02:03Z",
    });
    expect(summaryChange(empty, { ...empty, updated: "later" })).toBe("none");
    expect(summaryChange(empty, { ...empty, connected: 1 })).toBe("more");
    expect(summaryChange(empty, { ...empty, configVersions: { "3": 1 } })).toBe("configVersions");
    expect(summaryChange(empty, { ...empty, configVersions: { "3": 1 }, synced: 1 })).toBe("more");
    expect(summaryChange(undefined, empty)).toBe("more");
  });
});
